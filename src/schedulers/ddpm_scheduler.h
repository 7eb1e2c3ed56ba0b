// DDPMScheduler: denoising diffusion probabilistic models (arXiv:2006.11239), ancestral sampling.
//
// Reference: huggingface/diffusers v0.26.3, src/diffusers/schedulers/scheduling_ddpm.py
#pragma once

#include <string>
#include <vector>

#include "schedulers/scheduler.h"
#include "schedulers/scheduler_config.h"

namespace sdfast {

struct DDPMSchedulerConfig {
  scheduling::BetaSchedule betas;
  // fixed_small, fixed_small_log, fixed_large. (learned / learned_range need a model that predicts
  // its variance; fixed_large_log gives NaN in Diffusers: both are rejected.)
  std::string variance_type = "fixed_small";
  bool clip_sample = true;
  std::string prediction_type = "epsilon";
  bool thresholding = false;
  double dynamic_thresholding_ratio = 0.995;
  double clip_sample_range = 1.0;
  double sample_max_value = 1.0;
  std::string timestep_spacing = "leading";
  int steps_offset = 0;

  static DDPMSchedulerConfig parse(const Config& c);
  // The full config, defaults included (Diffusers' `scheduler.config`).
  nlohmann::json to_json() const;
};

class DDPMScheduler final : public Scheduler {
 public:
  explicit DDPMScheduler(const Config& config)
      : DDPMScheduler(DDPMSchedulerConfig::parse(config)) {}
  explicit DDPMScheduler(DDPMSchedulerConfig config);

  const char* class_name() const override { return "DDPMScheduler"; }
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;
  const DDPMSchedulerConfig& config() const { return config_; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  void set_timesteps(int num_inference_steps) override;
  // Draws noise on every step with timestep > 0.
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample,
              const NoiseFn& noise) override;

 private:
  DDPMSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
  int num_inference_steps_ = 0;
};

}  // namespace sdfast
