// DDIMScheduler: denoising diffusion implicit models (arXiv:2010.02502), with `eta` noise.
//
// Reference: huggingface/diffusers v0.26.3, src/diffusers/schedulers/scheduling_ddim.py
#pragma once

#include <string>
#include <vector>

#include "schedulers/scheduler.h"
#include "schedulers/scheduler_config.h"

namespace sdfast {

struct DDIMSchedulerConfig {
  scheduling::BetaSchedule betas;
  bool clip_sample = true;
  bool set_alpha_to_one = true;
  int steps_offset = 0;
  std::string prediction_type = "epsilon";
  bool thresholding = false;
  double dynamic_thresholding_ratio = 0.995;
  double clip_sample_range = 1.0;
  double sample_max_value = 1.0;
  std::string timestep_spacing = "leading";

  static DDIMSchedulerConfig parse(const Config& c);
  // The full config, defaults included (Diffusers' `scheduler.config`).
  nlohmann::json to_json() const;
};

class DDIMScheduler final : public Scheduler {
 public:
  explicit DDIMScheduler(const Config& config)
      : DDIMScheduler(DDIMSchedulerConfig::parse(config)) {}
  explicit DDIMScheduler(DDIMSchedulerConfig config);

  const char* class_name() const override { return "DDIMScheduler"; }
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;
  const DDIMSchedulerConfig& config() const { return config_; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  void set_timesteps(int num_inference_steps) override;
  // Draws noise only when eta > 0.
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample,
              const NoiseFn& noise) override;
  // eta >= 0 (0: deterministic DDIM, 1: DDPM-like variance).
  void set_eta(double eta) override;

 private:
  float alpha_prod(int64_t t) const {
    return t >= 0 ? alphas_cumprod_[size_t(t)] : final_alpha_cumprod_;
  }

  DDIMSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
  float final_alpha_cumprod_ = 1.0f;
  int num_inference_steps_ = 0;
  double eta_ = 0.0;
};

}  // namespace sdfast
