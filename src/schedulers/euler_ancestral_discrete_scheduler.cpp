#include "schedulers/euler_ancestral_discrete_scheduler.h"

#include <cmath>

#include "core/error.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {

using namespace scheduling;

EulerAncestralDiscreteSchedulerConfig EulerAncestralDiscreteSchedulerConfig::parse(
    const Config& c) {
  EulerAncestralDiscreteSchedulerConfig s;
  s.betas = parse_beta_schedule(c, {}, {"linear", "scaled_linear", "squaredcos_cap_v2"}, true);
  s.prediction_type =
      config_choice(c, "prediction_type", s.prediction_type, {"epsilon", "v_prediction"});
  s.timestep_spacing = config_choice(c, "timestep_spacing", s.timestep_spacing, kTimestepSpacings);
  s.steps_offset = config_int(c, "steps_offset", s.steps_offset, 0, 1000000);
  return s;
}

nlohmann::json EulerAncestralDiscreteSchedulerConfig::to_json() const {
  nlohmann::json j = beta_schedule_json(betas, true);
  j["prediction_type"] = prediction_type;
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  return j;
}

EulerAncestralDiscreteScheduler::EulerAncestralDiscreteScheduler(
    EulerAncestralDiscreteSchedulerConfig config)
    : config_(std::move(config)) {
  alphas_cumprod_ = cumprod_alphas(make_betas(config_.betas, class_name()));
  if (config_.betas.rescale_betas_zero_snr) alphas_cumprod_.back() = 0x1p-24f;
  num_train_timesteps_ = config_.betas.num_train_timesteps;
  prediction_type_ = config_.prediction_type;
}

void EulerAncestralDiscreteScheduler::set_timesteps(int n) {
  const int T = check_steps(n);
  std::vector<double> t =
      spaced_timesteps(config_.timestep_spacing, T, n, config_.steps_offset, false);
  for (double& v : t) v = float(v);
  sigmas_.clear();
  for (double s : np_interp(t, train_sigmas(alphas_cumprod_))) sigmas_.push_back(float(s));
  sigmas_.push_back(0.0);
  timesteps_ = std::move(t);
  step_index_ = -1;
}

double EulerAncestralDiscreteScheduler::init_noise_sigma() const {
  return sigma_init_noise(sigmas_, config_.timestep_spacing);
}

Tensor EulerAncestralDiscreteScheduler::scale_model_input(const Tensor& sample, double timestep) {
  if (step_index_ < 0) step_index_ = first_step_index(class_name(), timesteps_, timestep);
  return scale_by_sigma(sample, float(sigmas_[size_t(step_index_)]));
}

Tensor EulerAncestralDiscreteScheduler::step(const Tensor& model_output, double timestep,
                                             const Tensor& sample, const NoiseFn& noise) {
  check_step_inputs(class_name(), model_output, sample);
  if (step_index_ < 0) step_index_ = first_step_index(class_name(), timesteps_, timestep);
  if (step_index_ + 1 >= int(sigmas_.size()))
    fail("EulerAncestralDiscreteScheduler.step: called more often than the ", timesteps_.size(),
         " scheduled steps");
  const float sigma = float(sigmas_[size_t(step_index_)]);
  const Tensor x0 = sigma_denoised(config_.prediction_type, model_output, sample, sigma);

  const float sigma_from = sigma, sigma_to = float(sigmas_[size_t(step_index_ + 1)]);
  const float sigma_up =
      std::sqrt(sigma_to * sigma_to * (sigma_from * sigma_from - sigma_to * sigma_to) /
                (sigma_from * sigma_from));
  const float sigma_down = std::sqrt(sigma_to * sigma_to - sigma_up * sigma_up);
  const float dt = sigma_down - sigma;
  const Tensor z = draw_noise(class_name(), noise, sample.shape());
  Tensor prev = elementwise(
      [=](float s, float x, float n) {
        const float derivative = (s - x) / sigma;
        const float p = s + derivative * dt;
        return p + n * sigma_up;
      },
      sample, x0, z);
  ++step_index_;
  return prev;
}

Tensor EulerAncestralDiscreteScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  return scheduling::add_noise_sigma(class_name(), timesteps_, sigmas_, original, noise, timestep);
}

}  // namespace sdfast
