// LMSDiscreteScheduler: linear multistep (up to 4th order) on the probability-flow ODE in sigma
// space, with the coefficients integrated from the Lagrange basis over the sigma history.
//
// Reference: huggingface/diffusers v0.26.3, src/diffusers/schedulers/scheduling_lms_discrete.py
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "schedulers/scheduler.h"
#include "schedulers/scheduler_config.h"

namespace sdfast {

struct LMSDiscreteSchedulerConfig {
  scheduling::BetaSchedule betas;
  bool use_karras_sigmas = false;
  std::string prediction_type = "epsilon";  // epsilon, v_prediction, sample
  std::string timestep_spacing = "linspace";
  int steps_offset = 0;

  static LMSDiscreteSchedulerConfig parse(const Config& c);
  // The full config, defaults included (Diffusers' `scheduler.config`).
  nlohmann::json to_json() const;
};

class LMSDiscreteScheduler final : public Scheduler {
 public:
  explicit LMSDiscreteScheduler(const Config& config)
      : LMSDiscreteScheduler(LMSDiscreteSchedulerConfig::parse(config)) {}
  explicit LMSDiscreteScheduler(LMSDiscreteSchedulerConfig config);

  const char* class_name() const override { return "LMSDiscreteScheduler"; }
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;
  const LMSDiscreteSchedulerConfig& config() const { return config_; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  void set_timesteps(int num_inference_steps) override;
  double init_noise_sigma() const override;
  Tensor scale_model_input(const Tensor& sample, double timestep) override;
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample,
              const NoiseFn& noise) override;

  // The integral over [sigmas[t], sigmas[t+1]] of the Lagrange basis polynomial `current_order`
  // on the nodes sigmas[t], sigmas[t-1], ..., sigmas[t-order+1] (get_lms_coefficient).
  double lms_coefficient(int order, int t, int current_order) const;

 private:
  static constexpr int kOrder = 4;

  LMSDiscreteSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
  int step_index_ = -1;
  std::deque<Tensor> derivatives_;
};

}  // namespace sdfast
