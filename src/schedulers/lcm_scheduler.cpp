#include "schedulers/lcm_scheduler.h"

#include <cmath>

#include "core/error.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {

using namespace scheduling;

LCMSchedulerConfig LCMSchedulerConfig::parse(const Config& c) {
  LCMSchedulerConfig s;
  s.betas = parse_beta_schedule(c, s.betas, {"linear", "scaled_linear", "squaredcos_cap_v2"}, true);
  s.original_inference_steps = config_int(c, "original_inference_steps", s.original_inference_steps,
                                          1, s.betas.num_train_timesteps);
  s.clip_sample = c.get<bool>("clip_sample", s.clip_sample);
  s.clip_sample_range = config_number(c, "clip_sample_range", s.clip_sample_range, 0, 1e30);
  s.set_alpha_to_one = c.get<bool>("set_alpha_to_one", s.set_alpha_to_one);
  s.prediction_type =
      config_choice(c, "prediction_type", s.prediction_type, {"epsilon", "sample", "v_prediction"});
  s.thresholding = c.get<bool>("thresholding", s.thresholding);
  s.dynamic_thresholding_ratio =
      config_number(c, "dynamic_thresholding_ratio", s.dynamic_thresholding_ratio, 0, 1);
  s.sample_max_value = config_number(c, "sample_max_value", s.sample_max_value, 0, 1e30);
  s.timestep_scaling = config_number(c, "timestep_scaling", s.timestep_scaling, 0, 1e30);
  s.timestep_spacing = c.get<std::string>("timestep_spacing", s.timestep_spacing);
  s.steps_offset = c.get<int>("steps_offset", s.steps_offset);
  return s;
}

nlohmann::json LCMSchedulerConfig::to_json() const {
  nlohmann::json j = beta_schedule_json(betas, true);
  j["original_inference_steps"] = original_inference_steps;
  j["clip_sample"] = clip_sample;
  j["clip_sample_range"] = clip_sample_range;
  j["set_alpha_to_one"] = set_alpha_to_one;
  j["steps_offset"] = steps_offset;
  j["prediction_type"] = prediction_type;
  j["thresholding"] = thresholding;
  j["dynamic_thresholding_ratio"] = dynamic_thresholding_ratio;
  j["sample_max_value"] = sample_max_value;
  j["timestep_spacing"] = timestep_spacing;
  j["timestep_scaling"] = timestep_scaling;
  return j;
}

LCMScheduler::LCMScheduler(LCMSchedulerConfig config) : config_(std::move(config)) {
  alphas_cumprod_ = cumprod_alphas(make_betas(config_.betas, class_name()));
  final_alpha_cumprod_ = config_.set_alpha_to_one ? 1.0f : alphas_cumprod_[0];
  num_train_timesteps_ = config_.betas.num_train_timesteps;
  prediction_type_ = config_.prediction_type;
}

void LCMScheduler::set_timesteps(int n) {
  const int T = num_train_timesteps_;
  const int original = config_.original_inference_steps;
  if (n < 1 || n > original)
    fail_argument("LCMScheduler: num_inference_steps must be in [1, ", original,
                  "] (original_inference_steps), got ", n);
  // The distillation schedule k * (1..original) - 1, descending; n indices evenly spaced on it.
  const int k = T / original;
  std::vector<int64_t> origin;
  for (int i = original; i >= 1; --i) origin.push_back(int64_t(i) * k - 1);
  timesteps_.clear();
  for (double idx : np_linspace(0, double(origin.size()), n, /*endpoint=*/false))
    timesteps_.push_back(double(origin[size_t(std::floor(idx))]));
  step_index_ = -1;
}

Tensor LCMScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample,
                          const NoiseFn& noise) {
  check_step_inputs(class_name(), model_output, sample);
  if (step_index_ < 0) step_index_ = first_step_index(class_name(), timesteps_, timestep);
  const int len = int(timesteps_.size());
  if (step_index_ >= len)
    fail("LCMScheduler.step: called more often than the ", len, " scheduled steps");
  const int64_t t = train_index(class_name(), timestep, num_train_timesteps_);
  const int64_t prev_t = step_index_ + 1 < len ? int64_t(timesteps_[size_t(step_index_ + 1)]) : t;

  const float alpha_t = alphas_cumprod_[size_t(t)];
  const float alpha_prev = prev_t >= 0 ? alphas_cumprod_[size_t(prev_t)] : final_alpha_cumprod_;
  const float beta_t = 1.0f - alpha_t, beta_prev = 1.0f - alpha_prev;

  // Boundary-condition scalings (sigma_data = 0.5) at the scaled timestep, in float32.
  const float scaled = float(t) * float(config_.timestep_scaling);
  const float c_skip = 0.25f / (scaled * scaled + 0.25f);
  const float c_out = scaled / std::sqrt(scaled * scaled + 0.25f);

  const float sqrt_a = std::sqrt(alpha_t), sqrt_b = std::sqrt(beta_t);
  Tensor x0;
  if (config_.prediction_type == "epsilon")
    x0 = elementwise([=](float s, float m) { return (s - sqrt_b * m) / sqrt_a; }, sample,
                     model_output);
  else if (config_.prediction_type == "sample")
    x0 = model_output;
  else
    x0 = elementwise([=](float s, float m) { return sqrt_a * s - sqrt_b * m; }, sample,
                     model_output);
  if (config_.thresholding)
    x0 = threshold_sample(x0, config_.dynamic_thresholding_ratio, config_.sample_max_value);
  else if (config_.clip_sample)
    x0 = clamp(x0, -float(config_.clip_sample_range), float(config_.clip_sample_range));

  Tensor denoised =
      elementwise([=](float x, float s) { return c_out * x + c_skip * s; }, x0, sample);
  Tensor prev;
  if (step_index_ != len - 1) {
    const Tensor z = draw_noise(class_name(), noise, sample.shape());
    const float sa = std::sqrt(alpha_prev), sb = std::sqrt(beta_prev);
    prev = elementwise([=](float d, float n) { return sa * d + sb * n; }, denoised, z);
  } else {
    prev = std::move(denoised);
  }
  ++step_index_;
  return prev;
}

Tensor LCMScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  return scheduling::add_noise_alphas_cumprod(class_name(), alphas_cumprod_, original, noise, timestep);
}

}  // namespace sdfast
