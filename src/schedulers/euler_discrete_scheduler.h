// EulerDiscreteScheduler: Euler steps on the probability-flow ODE in sigma space (Karras et al.
// 2022, Algorithm 2 with s_churn = 0), optionally on Karras sigmas.
//
// Reference: huggingface/diffusers v0.26.3, src/diffusers/schedulers/scheduling_euler_discrete.py
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "schedulers/scheduler.h"
#include "schedulers/scheduler_config.h"

namespace sdfast {

struct EulerDiscreteSchedulerConfig {
  scheduling::BetaSchedule betas;
  std::string prediction_type = "epsilon";    // epsilon, v_prediction, sample, original_sample
  std::string interpolation_type = "linear";  // linear or log_linear
  bool use_karras_sigmas = false;
  double sigma_min = NAN;  // NaN: from the schedule
  double sigma_max = NAN;
  std::string timestep_spacing = "linspace";
  std::string timestep_type = "discrete";  // discrete or continuous
  int steps_offset = 0;

  static EulerDiscreteSchedulerConfig parse(const Config& c);
  // The full config, defaults included (Diffusers' `scheduler.config`).
  nlohmann::json to_json() const;
};

class EulerDiscreteScheduler final : public Scheduler {
 public:
  explicit EulerDiscreteScheduler(const Config& config)
      : EulerDiscreteScheduler(EulerDiscreteSchedulerConfig::parse(config)) {}
  explicit EulerDiscreteScheduler(EulerDiscreteSchedulerConfig config);

  const char* class_name() const override { return "EulerDiscreteScheduler"; }
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;
  const EulerDiscreteSchedulerConfig& config() const { return config_; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  void set_timesteps(int num_inference_steps) override;
  double init_noise_sigma() const override;
  Tensor scale_model_input(const Tensor& sample, double timestep) override;
  // Deterministic; like Diffusers it draws (and discards) one noise tensor per step when a noise
  // source is given, so that the caller's generators advance the same way.
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample,
              const NoiseFn& noise) override;

 private:
  EulerDiscreteSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
  int step_index_ = -1;
};

}  // namespace sdfast
