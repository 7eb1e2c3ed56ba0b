// sdfast._sdfast: the pybind11 extension under the Python package `sdfast` (python/sdfast/).
//
// A thin layer over the public C++ API (include/sdfast/pipeline.h); the Diffusers-shaped classes
// (StableDiffusionPipeline, the schedulers, AutoencoderTiny, make_image_grid) are Python, in
// python/sdfast/. Here: the engine object, the request and result conversions, the GIL released
// while the engine runs, Ctrl-C and the step callback checked between model evaluations, and the
// engine's exceptions turned into Python ones (InvalidArgument -> ValueError, Error ->
// RuntimeError, a cancelled run -> sdfast.GenerationCancelled).
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "sdfast/error.h"
#include "sdfast/generator_state.h"
#include "sdfast/pipeline.h"

namespace py = pybind11;

namespace {

// (state_high, state_low, inc_high, inc_low, has_uint32, uinteger): the Python side splits and
// joins numpy's 128-bit integers.
using StateTuple = std::tuple<uint64_t, uint64_t, uint64_t, uint64_t, bool, uint32_t>;

sdfast::GeneratorState to_state(const StateTuple& t) {
  sdfast::GeneratorState s;
  std::tie(s.state_high, s.state_low, s.inc_high, s.inc_low, s.has_uint32, s.uinteger) = t;
  return s;
}

StateTuple to_tuple(const sdfast::GeneratorState& s) {
  return {s.state_high, s.state_low, s.inc_high, s.inc_low, s.has_uint32, s.uinteger};
}

py::dict info_dict(const sdfast::PipelineInfo& i) {
  py::dict d;
  d["path"] = i.path;
  d["name"] = i.name;
  d["unet_class"] = i.unet_class;
  d["vae_class"] = i.vae_class;
  d["text_encoder_class"] = i.text_encoder_class;
  d["scheduler_class"] = i.scheduler_class;
  d["weight_files"] = i.weight_files;
  d["notes"] = i.notes;
  d["unet_parameters"] = i.unet_parameters;
  d["vae_parameters"] = i.vae_parameters;
  d["text_encoder_parameters"] = i.text_encoder_parameters;
  d["default_height"] = i.default_height;
  d["default_width"] = i.default_width;
  d["load_s"] = i.load_s;
  d["dtype"] = i.dtype;
  return d;
}

// Everything generate() takes, as keyword arguments from python/sdfast/pipelines.py.
struct Call {
  std::vector<std::string> prompts, negative_prompts;
  int num_inference_steps = 50;
  double guidance_scale = 7.5;
  int height = 0, width = 0, num_images_per_prompt = 1;
  std::vector<uint64_t> seeds;
  std::vector<StateTuple> generator_states;
  std::string generator = "numpy";
  std::optional<py::array_t<float, py::array::c_style | py::array::forcecast>> latents;
  double eta = 0;
  int clip_skip = 0;
  bool float_images = false, return_latents = false;
  // Called with (step, total_steps, timestep) after every model evaluation; False cancels.
  py::object callback = py::none();
};

py::dict run(sdfast::Pipeline& pipe, const Call& c) {
  sdfast::GenerateRequest r;
  r.prompts = c.prompts;
  r.negative_prompts = c.negative_prompts;
  r.num_inference_steps = c.num_inference_steps;
  r.guidance_scale = c.guidance_scale;
  r.height = c.height;
  r.width = c.width;
  r.num_images_per_prompt = c.num_images_per_prompt;
  r.seeds = c.seeds;
  for (const StateTuple& t : c.generator_states) r.generator_states.push_back(to_state(t));
  r.generator = sdfast::parse_generator(c.generator, "generator_kind");
  if (c.latents) r.latents.assign(c.latents->data(), c.latents->data() + c.latents->size());
  r.eta = c.eta;
  r.clip_skip = c.clip_skip;
  r.return_float_images = c.float_images;
  r.return_latents = c.return_latents;

  // The callback runs on this thread with the GIL taken back: signals first (Ctrl-C raises
  // KeyboardInterrupt here), then the caller's callback. A Python exception is kept and re-raised
  // once the engine has unwound.
  std::exception_ptr python_error;
  r.callback = [&](const sdfast::StepInfo& s) {
    py::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      if (!c.callback.is_none()) {
        const py::object keep_going = c.callback(s.step, s.total_steps, s.timestep);
        if (!keep_going.is_none() && !keep_going.cast<bool>()) return false;
      }
      return true;
    } catch (py::error_already_set&) {
      python_error = std::current_exception();
      return false;
    }
  };

  sdfast::GenerateResult out;
  std::exception_ptr engine_error;
  {
    py::gil_scoped_release nogil;
    try {
      out = pipe.generate(r);
    } catch (...) {
      engine_error = std::current_exception();
    }
  }
  if (python_error) std::rethrow_exception(python_error);
  if (engine_error) std::rethrow_exception(engine_error);

  py::dict d;
  const size_t n = out.images.size();
  const size_t h = n ? size_t(out.images[0].height) : 0, w = n ? size_t(out.images[0].width) : 0;
  py::array_t<uint8_t> images({n, h, w, size_t(3)});
  for (size_t i = 0; i < n; ++i)
    std::memcpy(images.mutable_data(i), out.images[i].rgb.data(), h * w * 3);
  d["images"] = images;
  if (c.float_images) {
    py::array_t<float> f({n, h, w, size_t(3)});
    std::memcpy(f.mutable_data(), out.float_images.data(), out.float_images.size() * sizeof(float));
    d["float_images"] = f;
  }
  if (c.return_latents) {
    py::array_t<float> l(std::vector<py::ssize_t>(out.latents_shape.begin(), out.latents_shape.end()));
    std::memcpy(l.mutable_data(), out.latents.data(), out.latents.size() * sizeof(float));
    d["latents"] = l;
  }
  std::vector<StateTuple> states;
  for (const auto& s : out.generator_states) states.push_back(to_tuple(s));
  d["generator_states"] = states;
  d["seeds"] = out.seeds;
  d["scheduler"] = out.scheduler;
  d["warnings"] = out.warnings;
  py::dict t;
  t["text_encoder_s"] = out.timings.text_encoder_s;
  t["unet_steps_s"] = out.timings.unet_steps_s;
  t["vae_decode_s"] = out.timings.vae_decode_s;
  t["total_s"] = out.timings.total_s;
  d["timings"] = t;
  return d;
}

}  // namespace

PYBIND11_MODULE(_sdfast, m) {
  m.doc() = "sdfast's C++ engine; use the classes in the sdfast package";

  static py::exception<sdfast::Cancelled> cancelled(m, "GenerationCancelled", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const sdfast::Cancelled& e) {
      cancelled(e.what());
    } catch (const sdfast::InvalidArgument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const sdfast::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  py::class_<sdfast::Pipeline>(m, "Engine")
      .def(py::init([](const std::string& path, const std::string& dtype, const std::string& vae_dtype,
                       const std::string& variant, int threads, const std::string& attention) {
             sdfast::PipelineOptions o;
             o.dtype = sdfast::parse_precision(dtype, "dtype");
             if (!vae_dtype.empty()) o.vae_dtype = sdfast::parse_precision(vae_dtype, "vae_dtype");
             o.variant = variant;
             o.threads = threads;
             o.attention = sdfast::parse_attention(attention, "attention");
             py::gil_scoped_release nogil;  // loading reads and converts every weight
             return sdfast::Pipeline::from_pretrained(path, o);
           }),
           py::arg("path"), py::arg("dtype") = "auto", py::arg("vae_dtype") = "", py::arg("variant") = "",
           py::arg("threads") = 0, py::arg("attention") = "flash")
      .def("set_scheduler", py::overload_cast<const std::string&>(&sdfast::Pipeline::set_scheduler),
           py::arg("name"))
      .def("set_scheduler",
           py::overload_cast<const std::string&, const std::string&>(&sdfast::Pipeline::set_scheduler),
           py::arg("name"), py::arg("config_json"))
      .def("set_vae", &sdfast::Pipeline::set_vae, py::arg("path"), py::call_guard<py::gil_scoped_release>())
      .def("info", [](const sdfast::Pipeline& p) { return info_dict(p.info()); })
      .def_static("scheduler_names", &sdfast::Pipeline::scheduler_names)
      .def(
          "generate",
          [](sdfast::Pipeline& p, std::vector<std::string> prompts, std::vector<std::string> negative_prompts,
             int steps, double guidance, int height, int width, int per_prompt, std::vector<uint64_t> seeds,
             std::vector<StateTuple> states, std::string generator,
             std::optional<py::array_t<float, py::array::c_style | py::array::forcecast>> latents, double eta,
             int clip_skip, bool float_images, bool return_latents, py::object callback) {
            Call c{std::move(prompts), std::move(negative_prompts), steps, guidance, height, width, per_prompt,
                   std::move(seeds), std::move(states), std::move(generator), std::move(latents), eta, clip_skip,
                   float_images, return_latents, std::move(callback)};
            return run(p, c);
          },
          py::kw_only(), py::arg("prompts"), py::arg("negative_prompts"), py::arg("num_inference_steps"),
          py::arg("guidance_scale"), py::arg("height"), py::arg("width"), py::arg("num_images_per_prompt"),
          py::arg("seeds"), py::arg("generator_states"), py::arg("generator"), py::arg("latents").none(true),
          py::arg("eta"), py::arg("clip_skip"), py::arg("float_images"), py::arg("return_latents"),
          py::arg("callback").none(true));
}
