// EulerAncestralDiscreteScheduler: Euler steps with ancestral sampling (k-diffusion's
// sample_euler_ancestral, eta = 1): each step goes down to sigma_down and adds sigma_up noise.
//
// Reference: huggingface/diffusers v0.26.3,
// src/diffusers/schedulers/scheduling_euler_ancestral_discrete.py
#pragma once

#include <string>
#include <vector>

#include "schedulers/scheduler.h"
#include "schedulers/scheduler_config.h"

namespace sdfast {

struct EulerAncestralDiscreteSchedulerConfig {
  scheduling::BetaSchedule betas;
  // epsilon or v_prediction ("sample" raises NotImplementedError in Diffusers).
  std::string prediction_type = "epsilon";
  std::string timestep_spacing = "linspace";
  int steps_offset = 0;

  static EulerAncestralDiscreteSchedulerConfig parse(const Config& c);
  // The full config, defaults included (Diffusers' `scheduler.config`).
  nlohmann::json to_json() const;
};

class EulerAncestralDiscreteScheduler final : public Scheduler {
 public:
  explicit EulerAncestralDiscreteScheduler(const Config& config)
      : EulerAncestralDiscreteScheduler(EulerAncestralDiscreteSchedulerConfig::parse(config)) {}
  explicit EulerAncestralDiscreteScheduler(EulerAncestralDiscreteSchedulerConfig config);

  const char* class_name() const override { return "EulerAncestralDiscreteScheduler"; }
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;
  const EulerAncestralDiscreteSchedulerConfig& config() const { return config_; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  void set_timesteps(int num_inference_steps) override;
  double init_noise_sigma() const override;
  Tensor scale_model_input(const Tensor& sample, double timestep) override;
  // Draws one noise tensor per step.
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample,
              const NoiseFn& noise) override;

 private:
  EulerAncestralDiscreteSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
  int step_index_ = -1;
};

}  // namespace sdfast
