// PNDMScheduler: pseudo numerical methods for diffusion models (arXiv:2202.09778): Runge-Kutta
// warm-up (PRK, unless skip_prk_steps) followed by linear multistep (PLMS) steps.
//
// Reference: huggingface/diffusers v0.26.3, src/diffusers/schedulers/scheduling_pndm.py
#pragma once

#include <string>
#include <vector>

#include "schedulers/scheduler.h"
#include "schedulers/scheduler_config.h"

namespace sdfast {

struct PNDMSchedulerConfig {
  scheduling::BetaSchedule betas;
  bool skip_prk_steps = false;
  bool set_alpha_to_one = false;
  std::string prediction_type = "epsilon";  // epsilon or v_prediction
  std::string timestep_spacing = "leading";
  int steps_offset = 0;

  static PNDMSchedulerConfig parse(const Config& c);
  // The full config, defaults included (Diffusers' `scheduler.config`).
  nlohmann::json to_json() const;
};

class PNDMScheduler final : public Scheduler {
 public:
  explicit PNDMScheduler(const Config& config)
      : PNDMScheduler(PNDMSchedulerConfig::parse(config)) {}
  explicit PNDMScheduler(PNDMSchedulerConfig config);

  const char* class_name() const override { return "PNDMScheduler"; }
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;
  const PNDMSchedulerConfig& config() const { return config_; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  // With PRK warm-up (skip_prk_steps false) at least 4 steps are needed; timesteps() then has
  // 12 PRK entries followed by num_inference_steps - 3 PLMS entries. With skip_prk_steps it has
  // num_inference_steps + 1 entries (the first step is evaluated twice).
  void set_timesteps(int num_inference_steps) override;
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample,
              const NoiseFn& noise) override;

 private:
  Tensor step_prk(const Tensor& model_output, int64_t timestep, const Tensor& sample);
  Tensor step_plms(const Tensor& model_output, int64_t timestep, const Tensor& sample);
  // Formula (9): x_{t-delta} from x_t and the (combined) model output.
  Tensor prev_sample(const Tensor& sample, int64_t t, int64_t prev_t,
                     const Tensor& model_output) const;

  PNDMSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
  float final_alpha_cumprod_ = 1.0f;
  int num_inference_steps_ = 0;
  std::vector<int64_t> prk_timesteps_;
  // Running state.
  int counter_ = 0;
  std::vector<Tensor> ets_;
  Tensor cur_model_output_;  // undefined means 0
  Tensor cur_sample_;
};

}  // namespace sdfast
