// DPMSolverMultistepScheduler: DPM-Solver (arXiv:2206.00927) and DPM-Solver++ (arXiv:2211.01095)
// multistep, orders 1-3, with the SDE variants. "DPM++ 2M" is algorithm_type dpmsolver++ with
// solver_order 2; "DPM++ 2M Karras" adds use_karras_sigmas.
//
// Reference: huggingface/diffusers v0.26.3,
// src/diffusers/schedulers/scheduling_dpmsolver_multistep.py
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "schedulers/scheduler.h"
#include "schedulers/scheduler_config.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {

struct DPMSolverMultistepSchedulerConfig {
  scheduling::BetaSchedule betas;
  int solver_order = 2;  // 1, 2 or 3 (3 only for the ODE algorithms)
  std::string prediction_type = "epsilon";
  bool thresholding = false;
  double dynamic_thresholding_ratio = 0.995;
  double sample_max_value = 1.0;
  // dpmsolver++, dpmsolver, sde-dpmsolver++, sde-dpmsolver ("deis" maps to dpmsolver++).
  std::string algorithm_type = "dpmsolver++";
  std::string solver_type = "midpoint";  // midpoint or heun (logrho/bh1/bh2 map to midpoint)
  bool lower_order_final = true;
  bool euler_at_final = false;
  bool use_karras_sigmas = false;
  bool use_lu_lambdas = false;
  std::string final_sigmas_type = "zero";  // zero or sigma_min
  double lambda_min_clipped = -INFINITY;
  std::string timestep_spacing = "linspace";
  int steps_offset = 0;
  // Read by _convert_to_karras when the config carries them.
  double sigma_min = NAN;
  double sigma_max = NAN;

  static DPMSolverMultistepSchedulerConfig parse(const Config& c);
  // The full config, defaults included (Diffusers' `scheduler.config`).
  nlohmann::json to_json() const;
};

class DPMSolverMultistepScheduler final : public Scheduler {
 public:
  explicit DPMSolverMultistepScheduler(const Config& config)
      : DPMSolverMultistepScheduler(DPMSolverMultistepSchedulerConfig::parse(config)) {}
  explicit DPMSolverMultistepScheduler(DPMSolverMultistepSchedulerConfig config);

  const char* class_name() const override { return "DPMSolverMultistepScheduler"; }
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;
  const DPMSolverMultistepSchedulerConfig& config() const { return config_; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  void set_timesteps(int num_inference_steps) override;
  // The SDE variants draw one noise tensor per step.
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample,
              const NoiseFn& noise) override;

 private:
  // alpha_t, sigma_t (VP) and lambda_t = log(alpha_t) - log(sigma_t) at sigmas_[i], in float32.
  scheduling::SigmaPoint point(size_t i) const;  // sigma_point(sigmas_[i])
  Tensor convert_model_output(const Tensor& model_output, const Tensor& sample) const;
  Tensor first_order_update(const Tensor& m0, const Tensor& sample, const Tensor& noise) const;
  Tensor second_order_update(const Tensor& sample, const Tensor& noise) const;
  Tensor third_order_update(const Tensor& sample) const;

  DPMSolverMultistepSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
  std::vector<float> lambda_t_;  // by training timestep
  int step_index_ = -1;
  int lower_order_nums_ = 0;
  std::vector<Tensor> model_outputs_;  // the last solver_order converted outputs, oldest first
};

}  // namespace sdfast
