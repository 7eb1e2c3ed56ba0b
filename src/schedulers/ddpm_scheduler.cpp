#include "schedulers/ddpm_scheduler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {

using namespace scheduling;

DDPMSchedulerConfig DDPMSchedulerConfig::parse(const Config& c) {
  DDPMSchedulerConfig s;
  s.betas =
      parse_beta_schedule(c, {}, {"linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid"}, true);
  s.variance_type = config_choice(c, "variance_type", s.variance_type,
                                  {"fixed_small", "fixed_small_log", "fixed_large"});
  s.clip_sample = c.get<bool>("clip_sample", s.clip_sample);
  s.prediction_type =
      config_choice(c, "prediction_type", s.prediction_type, {"epsilon", "sample", "v_prediction"});
  s.thresholding = c.get<bool>("thresholding", s.thresholding);
  s.dynamic_thresholding_ratio =
      config_number(c, "dynamic_thresholding_ratio", s.dynamic_thresholding_ratio, 0, 1);
  s.clip_sample_range = config_number(c, "clip_sample_range", s.clip_sample_range, 0, 1e30);
  s.sample_max_value = config_number(c, "sample_max_value", s.sample_max_value, 0, 1e30);
  s.timestep_spacing = config_choice(c, "timestep_spacing", s.timestep_spacing, kTimestepSpacings);
  s.steps_offset = config_int(c, "steps_offset", s.steps_offset, 0, 1000000);
  return s;
}

nlohmann::json DDPMSchedulerConfig::to_json() const {
  nlohmann::json j = beta_schedule_json(betas, true);
  j["variance_type"] = variance_type;
  j["clip_sample"] = clip_sample;
  j["prediction_type"] = prediction_type;
  j["thresholding"] = thresholding;
  j["dynamic_thresholding_ratio"] = dynamic_thresholding_ratio;
  j["clip_sample_range"] = clip_sample_range;
  j["sample_max_value"] = sample_max_value;
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  return j;
}

DDPMScheduler::DDPMScheduler(DDPMSchedulerConfig config) : config_(std::move(config)) {
  alphas_cumprod_ = cumprod_alphas(make_betas(config_.betas, class_name()));
  num_train_timesteps_ = config_.betas.num_train_timesteps;
  prediction_type_ = config_.prediction_type;
}

void DDPMScheduler::set_timesteps(int n) {
  const int T = check_steps(n);
  timesteps_ = checked_spaced_timesteps(class_name(), config_.timestep_spacing, T, n, config_.steps_offset);
  num_inference_steps_ = n;
}

Tensor DDPMScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample,
                           const NoiseFn& noise) {
  check_step_inputs(class_name(), model_output, sample);
  if (num_inference_steps_ == 0) fail("DDPMScheduler.step: call set_timesteps first");
  const int64_t t = train_index(class_name(), timestep, num_train_timesteps_);
  const int64_t prev_t = t - num_train_timesteps_ / num_inference_steps_;

  const float alpha_t = alphas_cumprod_[size_t(t)];
  const float alpha_prev = prev_t >= 0 ? alphas_cumprod_[size_t(prev_t)] : 1.0f;
  const float beta_t = 1.0f - alpha_t, beta_prev = 1.0f - alpha_prev;
  const float current_alpha = alpha_t / alpha_prev;
  const float current_beta = 1.0f - current_alpha;
  const float sqrt_a = std::sqrt(alpha_t), sqrt_b = std::sqrt(beta_t);

  // Predicted x_0, formula (15).
  Tensor x0;
  if (config_.prediction_type == "epsilon")
    x0 = elementwise([&](float s, float m) { return (s - sqrt_b * m) / sqrt_a; }, sample,
                     model_output);
  else if (config_.prediction_type == "sample")
    x0 = model_output;
  else
    x0 = elementwise([&](float s, float m) { return sqrt_a * s - sqrt_b * m; }, sample,
                     model_output);
  if (config_.thresholding)
    x0 = threshold_sample(x0, config_.dynamic_thresholding_ratio, config_.sample_max_value);
  else if (config_.clip_sample)
    x0 = clamp(x0, -float(config_.clip_sample_range), float(config_.clip_sample_range));

  // Posterior mean, formula (7).
  const float x0_coeff = (std::sqrt(alpha_prev) * current_beta) / beta_t;
  const float sample_coeff = std::sqrt(current_alpha) * beta_prev / beta_t;
  Tensor prev =
      elementwise([&](float x, float s) { return x0_coeff * x + sample_coeff * s; }, x0, sample);
  if (t > 0) {
    const Tensor z = draw_noise(class_name(), noise, sample.shape());
    // _get_variance: the posterior variance, clamped away from 0.
    float variance = beta_prev / beta_t * current_beta;
    variance = std::max(variance, 1e-20f);
    float scale;
    if (config_.variance_type == "fixed_small")
      scale = std::sqrt(variance);
    else if (config_.variance_type == "fixed_small_log")
      scale = std::exp(0.5f * std::log(variance));
    else  // fixed_large
      scale = std::sqrt(current_beta);
    prev = elementwise([&](float p, float n) { return p + scale * n; }, prev, z);
  }
  return prev;
}

Tensor DDPMScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  return scheduling::add_noise_alphas_cumprod(class_name(), alphas_cumprod_, original, noise, timestep);
}

}  // namespace sdfast
