#include "schedulers/heun_discrete_scheduler.h"

#include "core/error.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {

using namespace scheduling;

HeunDiscreteSchedulerConfig HeunDiscreteSchedulerConfig::parse(const Config& c) {
  HeunDiscreteSchedulerConfig s;
  s.betas =
      parse_beta_schedule(c, {}, {"linear", "scaled_linear", "squaredcos_cap_v2", "exp"}, false);
  s.prediction_type =
      config_choice(c, "prediction_type", s.prediction_type, {"epsilon", "v_prediction", "sample"});
  s.use_karras_sigmas = c.get<bool>("use_karras_sigmas", s.use_karras_sigmas);
  s.clip_sample = c.get<bool>("clip_sample", s.clip_sample);
  s.clip_sample_range = config_number(c, "clip_sample_range", s.clip_sample_range, 0, 1e30);
  s.timestep_spacing = config_choice(c, "timestep_spacing", s.timestep_spacing, kTimestepSpacings);
  s.steps_offset = config_int(c, "steps_offset", s.steps_offset, 0, 1000000);
  s.sigma_min = config_optional_positive(c, "sigma_min");
  s.sigma_max = config_optional_positive(c, "sigma_max");
  return s;
}

nlohmann::json HeunDiscreteSchedulerConfig::to_json() const {
  nlohmann::json j = beta_schedule_json(betas, false);
  j["prediction_type"] = prediction_type;
  j["use_karras_sigmas"] = use_karras_sigmas;
  j["clip_sample"] = clip_sample;
  j["clip_sample_range"] = clip_sample_range;
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  return j;
}

HeunDiscreteScheduler::HeunDiscreteScheduler(HeunDiscreteSchedulerConfig config)
    : config_(std::move(config)) {
  alphas_cumprod_ = cumprod_alphas(make_betas(config_.betas, class_name()));
  num_train_timesteps_ = config_.betas.num_train_timesteps;
  prediction_type_ = config_.prediction_type;
}

void HeunDiscreteScheduler::set_timesteps(int n) {
  const int T = check_steps(n);
  std::vector<double> t =
      spaced_timesteps(config_.timestep_spacing, T, n, config_.steps_offset, false);
  for (double& v : t) v = float(v);
  const std::vector<float> train = train_sigmas(alphas_cumprod_);
  std::vector<double> sig = np_interp(t, train);
  if (config_.use_karras_sigmas) {
    const std::vector<float> log_sigmas = log_f32(train);
    const double lo = std::isnan(config_.sigma_min) ? sig.back() : config_.sigma_min;
    const double hi = std::isnan(config_.sigma_max) ? sig.front() : config_.sigma_max;
    sig = karras_sigmas(lo, hi, n);
    t.clear();
    for (double s : sig) t.push_back(sigma_to_t(s, log_sigmas));  // float64 timesteps
  }
  // sigmas [s0, s1, s1, ..., s_{n-1}, s_{n-1}, 0]; timesteps [t0, t1, t1, ..., t_{n-1}, t_{n-1}].
  sigmas_ = {double(float(sig[0]))};
  timesteps_ = {t[0]};
  for (size_t i = 1; i < sig.size(); ++i) sigmas_.insert(sigmas_.end(), 2, double(float(sig[i])));
  for (size_t i = 1; i < t.size(); ++i) timesteps_.insert(timesteps_.end(), 2, t[i]);
  sigmas_.push_back(0.0);
  step_index_ = -1;
  prev_derivative_ = Tensor();
  first_sample_ = Tensor();
}

double HeunDiscreteScheduler::init_noise_sigma() const {
  return sigma_init_noise(sigmas_, config_.timestep_spacing);
}

Tensor HeunDiscreteScheduler::scale_model_input(const Tensor& sample, double timestep) {
  if (step_index_ < 0) step_index_ = first_step_index(class_name(), timesteps_, timestep);
  return scale_by_sigma(sample, float(sigmas_[size_t(step_index_)]));
}

Tensor HeunDiscreteScheduler::step(const Tensor& model_output, double timestep,
                                   const Tensor& sample, const NoiseFn& noise) {
  check_step_inputs(class_name(), model_output, sample);
  if (step_index_ < 0) step_index_ = first_step_index(class_name(), timesteps_, timestep);
  if (step_index_ + 1 >= int(sigmas_.size()))
    fail("HeunDiscreteScheduler.step: called more often than the ", timesteps_.size(),
         " scheduled evaluations");
  const bool first_order = !prev_derivative_.defined();
  const size_t i = size_t(step_index_);
  const float sigma = float(first_order ? sigmas_[i] : sigmas_[i - 1]);
  const float sigma_next = float(first_order ? sigmas_[i + 1] : sigmas_[i]);
  const float sigma_hat = sigma * float(0 + 1);  // gamma = 0

  const float sigma_input = first_order ? sigma_hat : sigma_next;
  Tensor x0 = sigma_denoised(config_.prediction_type, model_output, sample, sigma_input);
  if (config_.clip_sample)
    x0 = clamp(x0, -float(config_.clip_sample_range), float(config_.clip_sample_range));

  Tensor prev;
  if (first_order) {
    Tensor derivative =
        elementwise([sigma_hat](float s, float x) { return (s - x) / sigma_hat; }, sample, x0);
    const float dt = sigma_next - sigma_hat;
    prev = elementwise([dt](float s, float d) { return s + d * dt; }, sample, derivative);
    prev_derivative_ = std::move(derivative);
    first_sample_ = sample;
    dt_ = dt;
  } else {
    const Tensor derivative = elementwise(
        [sigma_next](float s, float x, float d_prev) {
          const float d = (s - x) / sigma_next;
          return (d_prev + d) / 2.0f;
        },
        sample, x0, prev_derivative_);
    const float dt = dt_;
    prev = elementwise([dt](float s, float d) { return s + d * dt; }, first_sample_, derivative);
    prev_derivative_ = Tensor();
    first_sample_ = Tensor();
  }
  ++step_index_;
  return prev;
}

Tensor HeunDiscreteScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  return scheduling::add_noise_sigma(class_name(), timesteps_, sigmas_, original, noise, timestep);
}

}  // namespace sdfast
