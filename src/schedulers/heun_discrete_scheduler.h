// HeunDiscreteScheduler: Heun's 2nd-order method on the probability-flow ODE in sigma space
// (Karras et al. 2022, Algorithm 1 with gamma = 0). Every step but the last takes two model
// evaluations, so timesteps() repeats each timestep after the first.
//
// Reference: huggingface/diffusers v0.26.3, src/diffusers/schedulers/scheduling_heun_discrete.py
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "schedulers/scheduler.h"
#include "schedulers/scheduler_config.h"

namespace sdfast {

struct HeunDiscreteSchedulerConfig {
  scheduling::BetaSchedule betas;           // beta_schedule also "exp"
  std::string prediction_type = "epsilon";  // epsilon, v_prediction, sample
  bool use_karras_sigmas = false;
  bool clip_sample = false;
  double clip_sample_range = 1.0;
  std::string timestep_spacing = "linspace";
  int steps_offset = 0;
  // Read by _convert_to_karras when the config carries them (e.g. kept from an Euler config).
  double sigma_min = NAN;
  double sigma_max = NAN;

  static HeunDiscreteSchedulerConfig parse(const Config& c);
  // The full config, defaults included (Diffusers' `scheduler.config`).
  nlohmann::json to_json() const;
};

class HeunDiscreteScheduler final : public Scheduler {
 public:
  explicit HeunDiscreteScheduler(const Config& config)
      : HeunDiscreteScheduler(HeunDiscreteSchedulerConfig::parse(config)) {}
  explicit HeunDiscreteScheduler(HeunDiscreteSchedulerConfig config);

  const char* class_name() const override { return "HeunDiscreteScheduler"; }
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;
  const HeunDiscreteSchedulerConfig& config() const { return config_; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  int order() const override { return 2; }
  // 2 * num_inference_steps - 1 timesteps.
  void set_timesteps(int num_inference_steps) override;
  double init_noise_sigma() const override;
  Tensor scale_model_input(const Tensor& sample, double timestep) override;
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample,
              const NoiseFn& noise) override;

 private:
  HeunDiscreteSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
  int step_index_ = -1;
  // The first-order half of a Heun step, kept for the second evaluation (undefined: first order).
  Tensor prev_derivative_;
  Tensor first_sample_;
  float dt_ = 0.0f;
};

}  // namespace sdfast
