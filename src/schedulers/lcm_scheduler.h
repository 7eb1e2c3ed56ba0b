// LCMScheduler: multistep latent consistency model sampling (arXiv:2310.04378): each step maps
// the sample to the consistency-model prediction and re-noises it to the next timestep.
//
// Reference: huggingface/diffusers v0.26.3, src/diffusers/schedulers/scheduling_lcm.py
#pragma once

#include <string>
#include <vector>

#include "schedulers/scheduler.h"
#include "schedulers/scheduler_config.h"

namespace sdfast {

struct LCMSchedulerConfig {
  scheduling::BetaSchedule betas{1000, 0.00085, 0.012, "scaled_linear", {}, false};
  int original_inference_steps = 50;
  bool clip_sample = false;
  double clip_sample_range = 1.0;
  bool set_alpha_to_one = true;
  std::string prediction_type = "epsilon";
  bool thresholding = false;
  double dynamic_thresholding_ratio = 0.995;
  double sample_max_value = 1.0;
  double timestep_scaling = 10.0;
  // Config keys of LCMScheduler that its schedule does not use (kept for from_config).
  std::string timestep_spacing = "leading";
  int steps_offset = 0;

  static LCMSchedulerConfig parse(const Config& c);
  // The full config, defaults included (Diffusers' `scheduler.config`).
  nlohmann::json to_json() const;
};

class LCMScheduler final : public Scheduler {
 public:
  explicit LCMScheduler(const Config& config) : LCMScheduler(LCMSchedulerConfig::parse(config)) {}
  explicit LCMScheduler(LCMSchedulerConfig config);

  const char* class_name() const override { return "LCMScheduler"; }
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;
  const LCMSchedulerConfig& config() const { return config_; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  // At most original_inference_steps steps, taken evenly from the distillation schedule
  // k * (1..original_inference_steps) - 1 with k = num_train_timesteps // original_inference_steps.
  void set_timesteps(int num_inference_steps) override;
  // Draws noise on every step but the last; the last returns the denoised prediction.
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample,
              const NoiseFn& noise) override;

 private:
  LCMSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
  float final_alpha_cumprod_ = 1.0f;
  int step_index_ = -1;
};

}  // namespace sdfast
