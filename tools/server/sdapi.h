// `sdfast serve`: AUTOMATIC1111's web UI API (/sdapi/v1/txt2img, img2img, samplers, sd-models, progress),
// parsed into an ImageSpec and answered in A1111's shapes. Unknown fields are ignored as A1111
// does; known ones sdfast cannot honour are listed in the response's info.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "image_spec.h"
#include "job_output.h"
#include "json_fields.h"

namespace sdfast::server {

// The body of POST /sdapi/v1/txt2img: prompt, negative_prompt, seed (-1: random), steps,
// cfg_scale, width, height, batch_size, n_iter, sampler_name (or sampler_index), scheduler
// ("Karras" with a DPM++ 2M sampler), eta. Throws ApiError.
ImageSpec parse_sdapi_txt2img(const Json& body, const ParseContext& context);

// The body of POST /sdapi/v1/img2img: the txt2img fields plus init_images (a list of one base64
// image or data URL: its size is the output size, not resized), mask (base64: white is repainted;
// inpainting_mask_invert = 1: black), denoising_strength (0, 1] (default 0.75). width / height
// other than the image's, mask_blur, inpainting_fill (but 1, "original"), inpaint_full_res,
// resize_mode and the other fields sdfast does not act on are listed in info. Throws ApiError.
ImageSpec parse_sdapi_img2img(const Json& body, const ParseContext& context);

// {"images": [base64 PNG...], "parameters": <the request>, "info": "<JSON text>"}, for txt2img and
// img2img (whose parameters leave out init_images and mask unless include_init_images, as A1111).
Json sdapi_images_response(const Json& request, const ImageSpec& spec, const JobOutput& out,
                            const std::string& model_name);

// GET /sdapi/v1/samplers: A1111's sampler names sdfast runs, with the sdfast scheduler each maps to.
Json sdapi_samplers();
// The sdfast scheduler name for an A1111 sampler name (or an sdfast name, passed through);
// "" when none fits.
std::string sdapi_sampler_to_scheduler(const std::string& sampler, const std::string& a1111_scheduler);

}  // namespace sdfast::server
