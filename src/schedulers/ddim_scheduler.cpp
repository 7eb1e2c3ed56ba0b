#include "schedulers/ddim_scheduler.h"

#include <cmath>

#include "core/error.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {

using namespace scheduling;

DDIMSchedulerConfig DDIMSchedulerConfig::parse(const Config& c) {
  DDIMSchedulerConfig s;
  s.betas = parse_beta_schedule(c, {}, {"linear", "scaled_linear", "squaredcos_cap_v2"}, true);
  s.clip_sample = c.get<bool>("clip_sample", s.clip_sample);
  s.set_alpha_to_one = c.get<bool>("set_alpha_to_one", s.set_alpha_to_one);
  s.steps_offset = config_int(c, "steps_offset", s.steps_offset, 0, 1000000);
  s.prediction_type =
      config_choice(c, "prediction_type", s.prediction_type, {"epsilon", "sample", "v_prediction"});
  s.thresholding = c.get<bool>("thresholding", s.thresholding);
  s.dynamic_thresholding_ratio =
      config_number(c, "dynamic_thresholding_ratio", s.dynamic_thresholding_ratio, 0, 1);
  s.clip_sample_range = config_number(c, "clip_sample_range", s.clip_sample_range, 0, 1e30);
  s.sample_max_value = config_number(c, "sample_max_value", s.sample_max_value, 0, 1e30);
  s.timestep_spacing = config_choice(c, "timestep_spacing", s.timestep_spacing, kTimestepSpacings);
  return s;
}

nlohmann::json DDIMSchedulerConfig::to_json() const {
  nlohmann::json j = beta_schedule_json(betas, true);
  j["clip_sample"] = clip_sample;
  j["set_alpha_to_one"] = set_alpha_to_one;
  j["steps_offset"] = steps_offset;
  j["prediction_type"] = prediction_type;
  j["thresholding"] = thresholding;
  j["dynamic_thresholding_ratio"] = dynamic_thresholding_ratio;
  j["clip_sample_range"] = clip_sample_range;
  j["sample_max_value"] = sample_max_value;
  j["timestep_spacing"] = timestep_spacing;
  return j;
}

DDIMScheduler::DDIMScheduler(DDIMSchedulerConfig config) : config_(std::move(config)) {
  alphas_cumprod_ = cumprod_alphas(make_betas(config_.betas, class_name()));
  final_alpha_cumprod_ = config_.set_alpha_to_one ? 1.0f : alphas_cumprod_[0];
  num_train_timesteps_ = config_.betas.num_train_timesteps;
  prediction_type_ = config_.prediction_type;
}

void DDIMScheduler::set_timesteps(int n) {
  const int T = check_steps(n);
  timesteps_ = checked_spaced_timesteps(class_name(), config_.timestep_spacing, T, n, config_.steps_offset);
  num_inference_steps_ = n;
}

void DDIMScheduler::set_eta(double eta) {
  if (!std::isfinite(eta) || eta < 0) fail_argument("DDIMScheduler: eta must be >= 0, got ", eta);
  eta_ = eta;
}

Tensor DDIMScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample,
                           const NoiseFn& noise) {
  check_step_inputs(class_name(), model_output, sample);
  if (num_inference_steps_ == 0) fail("DDIMScheduler.step: call set_timesteps first");
  const int64_t t = train_index(class_name(), timestep, num_train_timesteps_);
  const int64_t prev_t = t - num_train_timesteps_ / num_inference_steps_;

  const float alpha_t = alpha_prod(t), alpha_prev = alpha_prod(prev_t);
  const float beta_t = 1.0f - alpha_t;
  const float sqrt_a = std::sqrt(alpha_t), sqrt_b = std::sqrt(beta_t);

  // Predicted x_0 and epsilon, formula (12).
  Tensor x0, eps;
  if (config_.prediction_type == "epsilon") {
    x0 = elementwise([&](float s, float m) { return (s - sqrt_b * m) / sqrt_a; }, sample,
                     model_output);
    eps = model_output;
  } else if (config_.prediction_type == "sample") {
    x0 = model_output;
    eps = elementwise([&](float s, float x) { return (s - sqrt_a * x) / sqrt_b; }, sample, x0);
  } else {  // v_prediction
    x0 = elementwise([&](float s, float m) { return sqrt_a * s - sqrt_b * m; }, sample,
                     model_output);
    eps = elementwise([&](float s, float m) { return sqrt_a * m + sqrt_b * s; }, sample,
                      model_output);
  }
  if (config_.thresholding)
    x0 = threshold_sample(x0, config_.dynamic_thresholding_ratio, config_.sample_max_value);
  else if (config_.clip_sample)
    x0 = clamp(x0, -float(config_.clip_sample_range), float(config_.clip_sample_range));

  // sigma_t(eta), formula (16).
  const float beta_prev = 1.0f - alpha_prev;
  const float variance = (beta_prev / beta_t) * (1.0f - alpha_t / alpha_prev);
  const float std_dev_t = float(eta_) * std::sqrt(variance);
  const float dir_coeff = std::sqrt(1.0f - alpha_prev - std_dev_t * std_dev_t);
  const float sqrt_a_prev = std::sqrt(alpha_prev);
  Tensor prev =
      elementwise([&](float x, float e) { return sqrt_a_prev * x + dir_coeff * e; }, x0, eps);
  if (eta_ > 0) {
    const Tensor z = draw_noise(class_name(), noise, sample.shape());
    prev = elementwise([&](float p, float n) { return p + std_dev_t * n; }, prev, z);
  }
  return prev;
}

Tensor DDIMScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  return scheduling::add_noise_alphas_cumprod(class_name(), alphas_cumprod_, original, noise, timestep);
}

}  // namespace sdfast
