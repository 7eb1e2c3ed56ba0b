// Image-to-image and inpainting with sdfast's C++ API, as Diffusers' StableDiffusionImg2ImgPipeline
// and StableDiffusionInpaintPipeline: a picture made from a prompt, the same picture recoloured by
// img2img, and a shape painted into a masked region by inpainting, side by side in one PNG
// (picture | recoloured | mask | painted).
//
//   build/examples/image_editing [OUTPUT_PNG [MODEL_DIR]]   (default: the bundled demo model)
#include <cstdio>
#include <exception>

#include "sdfast/image.h"
#include "sdfast/pipeline.h"
#include "sdfast/system.h"
#include "common/demo_model.h"

int main(int argc, char** argv) {
  try {
    const std::string output = argc > 1 ? argv[1] : "image-editing.png";
    const std::string model = argc > 2 ? argv[2] : sdfast::bundled_demo_model();
    auto pipe = sdfast::Pipeline::from_pretrained(model);

    sdfast::GenerateRequest request;
    request.prompts = {"a red circle on a blue background"};
    request.num_inference_steps = 25;
    request.guidance_scale = 5.0;
    request.seeds = {1};
    const sdfast::Image picture = pipe->generate(request).images.at(0);

    // img2img: the same layout, another colour. strength 0.6 runs the last 15 of the 25 steps.
    request.prompts = {"a yellow circle on a blue background"};
    request.image = picture;
    request.strength = 0.6;
    const sdfast::Image recoloured = pipe->img2img(request).images.at(0);

    // Inpainting: white = repaint. The demo model has an ordinary 4-channel UNet, so the known
    // region is blended back after every step (Diffusers' legacy inpainting path).
    // The mask covers the middle (the circle), 12 pixels from each edge.
    sdfast::Image mask{picture.width, picture.height, std::vector<uint8_t>(picture.rgb.size(), 0)};
    for (int y = 12; y < picture.height - 12; ++y)
      for (int x = 12; x < picture.width - 12; ++x)
        for (int c = 0; c < 3; ++c) mask.rgb[(size_t(y) * size_t(picture.width) + size_t(x)) * 3 + c] = 255;
    request.prompts = {"a yellow triangle on a blue background"};
    request.mask_image = mask;
    request.strength = 1.0;
    request.seeds = {0};
    const sdfast::Image painted = pipe->inpaint(request).images.at(0);

    const sdfast::Image strip = sdfast::make_image_grid({picture, recoloured, mask, painted}, 1, 4);
    sdfast::save_png(sdfast::upscale(strip, 4, sdfast::UpscaleFilter::Nearest), output);
    std::printf("%s\n", output.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "image_editing: %s\n", e.what());
    return 1;
  }
}
