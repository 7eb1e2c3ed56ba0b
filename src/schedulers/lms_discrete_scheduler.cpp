#include "schedulers/lms_discrete_scheduler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {

using namespace scheduling;

LMSDiscreteSchedulerConfig LMSDiscreteSchedulerConfig::parse(const Config& c) {
  LMSDiscreteSchedulerConfig s;
  s.betas = parse_beta_schedule(c, {}, {"linear", "scaled_linear", "squaredcos_cap_v2"}, false);
  s.use_karras_sigmas = c.get<bool>("use_karras_sigmas", s.use_karras_sigmas);
  s.prediction_type =
      config_choice(c, "prediction_type", s.prediction_type, {"epsilon", "v_prediction", "sample"});
  s.timestep_spacing = config_choice(c, "timestep_spacing", s.timestep_spacing, kTimestepSpacings);
  s.steps_offset = config_int(c, "steps_offset", s.steps_offset, 0, 1000000);
  return s;
}

nlohmann::json LMSDiscreteSchedulerConfig::to_json() const {
  nlohmann::json j = beta_schedule_json(betas, false);
  j["use_karras_sigmas"] = use_karras_sigmas;
  j["prediction_type"] = prediction_type;
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  return j;
}

LMSDiscreteScheduler::LMSDiscreteScheduler(LMSDiscreteSchedulerConfig config)
    : config_(std::move(config)) {
  alphas_cumprod_ = cumprod_alphas(make_betas(config_.betas, class_name()));
  num_train_timesteps_ = config_.betas.num_train_timesteps;
  prediction_type_ = config_.prediction_type;
}

void LMSDiscreteScheduler::set_timesteps(int n) {
  const int T = check_steps(n);
  std::vector<double> t =
      spaced_timesteps(config_.timestep_spacing, T, n, config_.steps_offset, false);
  for (double& v : t) v = float(v);
  const std::vector<float> train = train_sigmas(alphas_cumprod_);
  std::vector<double> sig = np_interp(t, train);
  if (config_.use_karras_sigmas) {
    // LMS's own _convert_to_karras: the ends of the interpolated schedule; float64 timesteps.
    const std::vector<float> log_sigmas = log_f32(train);
    sig = karras_sigmas(sig.back(), sig.front(), n);
    t.clear();
    for (double s : sig) t.push_back(sigma_to_t(s, log_sigmas));
  }
  sigmas_.clear();
  for (double s : sig) sigmas_.push_back(float(s));
  sigmas_.push_back(0.0);
  timesteps_ = std::move(t);
  step_index_ = -1;
  derivatives_.clear();
}

double LMSDiscreteScheduler::init_noise_sigma() const {
  return sigma_init_noise(sigmas_, config_.timestep_spacing);
}

Tensor LMSDiscreteScheduler::scale_model_input(const Tensor& sample, double timestep) {
  if (step_index_ < 0) step_index_ = first_step_index(class_name(), timesteps_, timestep);
  return scale_by_sigma(sample, float(sigmas_[size_t(step_index_)]));
}

double LMSDiscreteScheduler::lms_coefficient(int order, int t, int current_order) const {
  auto basis = [&](double tau) {
    double prod = 1.0;
    for (int k = 0; k < order; ++k) {
      if (k == current_order) continue;
      prod *= (tau - sigmas_[size_t(t - k)]) /
              (sigmas_[size_t(t - current_order)] - sigmas_[size_t(t - k)]);
    }
    return prod;
  };
  // 5-point Gauss-Legendre: exact for the polynomial of degree <= 3 (scipy's quad gives the same).
  static constexpr double kNodes[5] = {0.0, -0.5384693101056831, 0.5384693101056831,
                                       -0.9061798459386640, 0.9061798459386640};
  static constexpr double kWeights[5] = {0.5688888888888889, 0.4786286704993665, 0.4786286704993665,
                                         0.2369268850561891, 0.2369268850561891};
  const double a = sigmas_[size_t(t)], b = sigmas_[size_t(t + 1)];
  const double half = (b - a) / 2, mid = (a + b) / 2;
  double sum = 0;
  for (int i = 0; i < 5; ++i) sum += kWeights[i] * basis(mid + half * kNodes[i]);
  return sum * half;
}

Tensor LMSDiscreteScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample,
                                  const NoiseFn& noise) {
  check_step_inputs(class_name(), model_output, sample);
  if (step_index_ < 0) step_index_ = first_step_index(class_name(), timesteps_, timestep);
  if (step_index_ + 1 >= int(sigmas_.size()))
    fail("LMSDiscreteScheduler.step: called more often than the ", timesteps_.size(),
         " scheduled steps");
  const float sigma = float(sigmas_[size_t(step_index_)]);
  const Tensor x0 = sigma_denoised(config_.prediction_type, model_output, sample, sigma);
  derivatives_.push_back(
      elementwise([sigma](float s, float x) { return (s - x) / sigma; }, sample, x0));
  if (int(derivatives_.size()) > kOrder) derivatives_.pop_front();

  const int order = std::min(step_index_ + 1, kOrder);
  // sample + sum(coeff * derivative), newest derivative first (zip: stops at the shorter list);
  // the float64 coefficients are applied in float32.
  Tensor acc;
  for (int k = 0; k < order && k < int(derivatives_.size()); ++k) {
    const float c = float(lms_coefficient(order, step_index_, k));
    const Tensor& d = derivatives_[derivatives_.size() - 1 - size_t(k)];
    acc = acc.defined() ? elementwise([c](float a, float v) { return a + c * v; }, acc, d)
                        : elementwise([c](float v) { return c * v; }, d);
  }
  Tensor prev = elementwise([](float s, float a) { return s + a; }, sample, acc);
  ++step_index_;
  return prev;
}

Tensor LMSDiscreteScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  return scheduling::add_noise_sigma(class_name(), timesteps_, sigmas_, original, noise, timestep);
}

}  // namespace sdfast
