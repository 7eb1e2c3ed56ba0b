// UniPCMultistepScheduler: the unified predictor-corrector solver UniPC (arXiv:2302.04867), B(h)
// variants bh1/bh2, data (predict_x0) or noise prediction, any small order.
//
// Reference: huggingface/diffusers v0.26.3,
// src/diffusers/schedulers/scheduling_unipc_multistep.py
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "schedulers/scheduler.h"
#include "schedulers/scheduler_config.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {

struct UniPCMultistepSchedulerConfig {
  scheduling::BetaSchedule betas;
  int solver_order = 2;  // 1 to 4
  std::string prediction_type = "epsilon";
  bool thresholding = false;
  double dynamic_thresholding_ratio = 0.995;
  double sample_max_value = 1.0;
  bool predict_x0 = true;
  std::string solver_type = "bh2";  // bh1 or bh2 (midpoint/heun/logrho map to bh2)
  bool lower_order_final = true;
  std::vector<int> disable_corrector;  // step indices whose corrector is skipped
  bool use_karras_sigmas = false;
  std::string timestep_spacing = "linspace";
  int steps_offset = 0;
  double sigma_min = NAN;  // read by _convert_to_karras when the config carries them
  double sigma_max = NAN;

  static UniPCMultistepSchedulerConfig parse(const Config& c);
  // The full config, defaults included (Diffusers' `scheduler.config`).
  nlohmann::json to_json() const;
};

class UniPCMultistepScheduler final : public Scheduler {
 public:
  explicit UniPCMultistepScheduler(const Config& config)
      : UniPCMultistepScheduler(UniPCMultistepSchedulerConfig::parse(config)) {}
  explicit UniPCMultistepScheduler(UniPCMultistepSchedulerConfig config);

  const char* class_name() const override { return "UniPCMultistepScheduler"; }
  Tensor add_noise(const Tensor& original, const Tensor& noise, double timestep) const override;
  const UniPCMultistepSchedulerConfig& config() const { return config_; }
  nlohmann::json config_json() const override { return config_.to_json(); }
  void set_timesteps(int num_inference_steps) override;
  Tensor step(const Tensor& model_output, double timestep, const Tensor& sample,
              const NoiseFn& noise) override;

 private:
  scheduling::SigmaPoint point(size_t i) const;  // sigma_point(sigmas_[i])
  Tensor convert_model_output(const Tensor& model_output, const Tensor& sample) const;
  // UniP: the predictor from sigmas[i] to sigmas[i+1].
  Tensor predictor(const Tensor& sample, int order) const;
  // UniC: corrects `this_sample` (at sigmas[i]) using the model output there.
  Tensor corrector(const Tensor& this_model_output, const Tensor& last_sample,
                   const Tensor& this_sample, int order) const;

  UniPCMultistepSchedulerConfig config_;
  std::vector<float> alphas_cumprod_;
  int step_index_ = -1;
  int lower_order_nums_ = 0;
  int this_order_ = 1;
  std::vector<Tensor> model_outputs_;  // the last solver_order converted outputs, oldest first
  Tensor last_sample_;
};

}  // namespace sdfast
