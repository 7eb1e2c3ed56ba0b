// The Diffusers "Speed up inference" guide, written against sdfast's C++ API:
// half precision, a swapped-in tiny autoencoder, four images with one generator each, a 2x2 grid.
//
//   build/examples/text_to_image [MODEL_DIR [TAESD_DIR]]   (default: the bundled demo model)
#include <cstdio>
#include <exception>

#include "sdfast/image.h"
#include "sdfast/pipeline.h"
#include "common/demo_model.h"

int main(int argc, char** argv) {
  try {
    const std::string model = argc > 1 ? argv[1] : sdfast::bundled_demo_model();

    sdfast::PipelineOptions options;
    options.dtype = sdfast::Precision::BF16;  // the guide's torch_dtype=torch.float16, on a CPU
    auto pipe = sdfast::Pipeline::from_pretrained(model, options);
    pipe->set_scheduler("DDIMScheduler");  // DDIMScheduler.from_config(pipe.scheduler.config)
    if (argc > 2) pipe->set_vae(argv[2]);  // pipe.vae = AutoencoderTiny.from_pretrained(...)

    sdfast::GenerateRequest request;
    request.prompts = {argc > 1 ? "a photo of an astronaut riding a horse on mars"
                                : "a red circle on a blue background"};
    request.num_inference_steps = 25;
    request.guidance_scale = argc > 1 ? 7.5 : 5.0;
    request.num_images_per_prompt = 4;
    request.seeds = {0, 1, 2, 3};  // [np.random.Generator(np.random.PCG64(i)) for i in range(4)]
    request.callback = [](const sdfast::StepInfo& s) {
      std::fprintf(stderr, "\rstep %d/%d", s.step, s.total_steps);
      return true;  // false cancels
    };
    const sdfast::GenerateResult result = pipe->generate(request);
    std::fprintf(stderr, "\n");

    sdfast::save_png(sdfast::make_image_grid(result.images, 2, 2), "text_to_image_grid.png",
                     {{"parameters", request.prompts[0]}}, /*overwrite=*/true);
    std::printf("wrote text_to_image_grid.png (%zu images, %s, %.2f s)\n", result.images.size(),
                result.scheduler.c_str(), result.timings.total_s);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
