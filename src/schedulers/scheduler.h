// The scheduler interface: one class per Diffusers scheduler (src/schedulers/<class>.h), each
// built from a Diffusers `scheduler_config.json` and reproducing Diffusers 0.26.3 (timesteps,
// sigmas, init_noise_sigma, scale_model_input and step) for float32 latents.
//
// Reference: huggingface/diffusers v0.26.3, src/diffusers/schedulers/scheduling_utils.py and the
// scheduling_*.py file named in each scheduler's header.
//
// Use, as in a Diffusers pipeline:
//   auto s = make_scheduler("EulerDiscreteScheduler", Config::load(".../scheduler_config.json"));
//   s->set_timesteps(25);
//   x = initial_noise * s->init_noise_sigma();
//   for (double t : s->timesteps()) {
//     Tensor model_input = s->scale_model_input(x, t);
//     Tensor model_output = unet(model_input, t);
//     x = s->step(model_output, t, x, noise);
//   }
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/json.h"

namespace sdfast {

// Draws float32 standard normal noise of `shape` (the full batch shape of the sample). Stochastic
// schedulers draw only through this, in the order Diffusers calls randn_tensor; the pipeline passes
// one that draws from its per-image generators, the golden tests one that replays stored noise.
using NoiseFn = std::function<Tensor(const Shape& shape)>;

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // The Diffusers class name, e.g. "DDIMScheduler".
  virtual const char* class_name() const = 0;

  // Computes the schedule for `num_inference_steps` and resets the stepping state. Throws
  // InvalidArgument when the count is < 1 or more than the scheduler supports for its config.
  virtual void set_timesteps(int num_inference_steps) = 0;

  // One entry per model evaluation, in calling order (Heun and PNDM with PRK warm-up repeat
  // timesteps). Integer-valued for the discrete schedulers, float32 values for Euler/LMS/Heun.
  const std::vector<double>& timesteps() const { return timesteps_; }
  // The noise levels, one more than timesteps (the last is the target of the final step); empty
  // for schedulers that have none (DDIM, DDPM, PNDM, LCM). float32 values, as Diffusers keeps them.
  const std::vector<double>& sigmas() const { return sigmas_; }
  // Standard deviation of the initial noise (depends on the schedule for the sigma schedulers).
  virtual double init_noise_sigma() const { return 1.0; }
  // How many model evaluations make one step of the underlying method (2 for Heun).
  virtual int order() const { return 1; }
  int num_train_timesteps() const { return num_train_timesteps_; }
  // The effective config, every key of the class with its value (Diffusers' `scheduler.config`).
  virtual nlohmann::json config_json() const = 0;
  const std::string& prediction_type() const { return prediction_type_; }

  // The model input for `timestep` (a copy or, where Diffusers returns the sample unchanged, the
  // sample itself). sample: float32, any shape (the engine uses [batch, 4, h, w]).
  virtual Tensor scale_model_input(const Tensor& sample, double timestep) { return sample; }

  // One step back in time: the sample for the next entry of timesteps(). model_output and sample:
  // float32 of one shape; returns the same shape. `noise` is called only by stochastic schedulers.
  virtual Tensor step(const Tensor& model_output, double timestep, const Tensor& sample,
                      const NoiseFn& noise) = 0;

  // Diffusers' `add_noise(original_samples, noise, timesteps)` with one timestep for the whole
  // batch: the sample at `timestep` of the forward process from `original` (img2img's start latents,
  // inpainting's known region). float32 tensors of one shape. The alphas_cumprod schedulers (DDIM,
  // DDPM, PNDM, LCM) give sqrt(a_t) x + sqrt(1 - a_t) n, the Euler family x + sigma_t n, the multistep
  // solvers alpha_t x + sigma_t n from their sigma at `timestep`'s step index.
  virtual Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const = 0;

  // DDIM's `eta` (a step argument in Diffusers). The Diffusers pipeline passes eta only to
  // schedulers whose step takes it, so the others ignore it.
  virtual void set_eta(double eta) {}

 protected:
  // The opening of every set_timesteps: num_inference_steps must be in [1, num_train_timesteps];
  // throws InvalidArgument naming the class. Returns num_train_timesteps.
  int check_steps(int num_inference_steps) const;
  std::vector<double> timesteps_;
  std::vector<double> sigmas_;
  int num_train_timesteps_ = 1000;
  std::string prediction_type_ = "epsilon";
};

// Builds a scheduler by Diffusers class name or alias from a scheduler config, the way
// `<Class>.from_config(pipe.scheduler.config)` does: keys the class does not know are ignored, keys
// it knows keep their values, the rest take the class defaults. As in a loaded pipeline, where
// `pipe.scheduler.config` holds the defaults of the model's own scheduler class, a config whose
// `_class_name` names a supported class first gets that class's defaults for the keys it lacks
// (so SD 1.x's PNDM config gives every scheduler timestep_spacing "leading"). Aliases: ddim, pndm,
// euler, euler_a, dpmpp_2m, dpmpp_2m_karras (DPMSolverMultistepScheduler with use_karras_sigmas
// true), lms, heun, unipc, lcm, ddpm. Unknown name: InvalidArgument listing the valid ones. Invalid
// config values: Error naming the key, the value and the valid ones.
std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const Config& config);

// Every name make_scheduler accepts: the class names, then the aliases.
std::vector<std::string> scheduler_names();

}  // namespace sdfast
