#include "schedulers/euler_discrete_scheduler.h"

#include "core/error.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {

using namespace scheduling;

EulerDiscreteSchedulerConfig EulerDiscreteSchedulerConfig::parse(const Config& c) {
  EulerDiscreteSchedulerConfig s;
  s.betas = parse_beta_schedule(c, {}, {"linear", "scaled_linear", "squaredcos_cap_v2"}, true);
  s.prediction_type = config_choice(c, "prediction_type", s.prediction_type,
                                    {"epsilon", "v_prediction", "sample", "original_sample"});
  s.interpolation_type =
      config_choice(c, "interpolation_type", s.interpolation_type, {"linear", "log_linear"});
  s.use_karras_sigmas = c.get<bool>("use_karras_sigmas", s.use_karras_sigmas);
  s.sigma_min = config_optional_positive(c, "sigma_min");
  s.sigma_max = config_optional_positive(c, "sigma_max");
  s.timestep_spacing = config_choice(c, "timestep_spacing", s.timestep_spacing, kTimestepSpacings);
  s.timestep_type = config_choice(c, "timestep_type", s.timestep_type, {"discrete", "continuous"});
  s.steps_offset = config_int(c, "steps_offset", s.steps_offset, 0, 1000000);
  return s;
}

nlohmann::json EulerDiscreteSchedulerConfig::to_json() const {
  nlohmann::json j = beta_schedule_json(betas, true);
  j["prediction_type"] = prediction_type;
  j["interpolation_type"] = interpolation_type;
  j["use_karras_sigmas"] = use_karras_sigmas;
  j["timestep_spacing"] = timestep_spacing;
  j["timestep_type"] = timestep_type;
  j["steps_offset"] = steps_offset;
  j["sigma_min"] = std::isnan(sigma_min) ? nlohmann::json() : nlohmann::json(sigma_min);
  j["sigma_max"] = std::isnan(sigma_max) ? nlohmann::json() : nlohmann::json(sigma_max);
  return j;
}

EulerDiscreteScheduler::EulerDiscreteScheduler(EulerDiscreteSchedulerConfig config)
    : config_(std::move(config)) {
  alphas_cumprod_ = cumprod_alphas(make_betas(config_.betas, class_name()));
  // Close to 0 without being 0, so that the first sigma is finite (fp16's smallest subnormal).
  if (config_.betas.rescale_betas_zero_snr) alphas_cumprod_.back() = 0x1p-24f;
  num_train_timesteps_ = config_.betas.num_train_timesteps;
  prediction_type_ = config_.prediction_type;
}

void EulerDiscreteScheduler::set_timesteps(int n) {
  const int T = check_steps(n);
  std::vector<double> t =
      spaced_timesteps(config_.timestep_spacing, T, n, config_.steps_offset, false);
  for (double& v : t) v = float(v);  // float32 timesteps

  const std::vector<float> train = train_sigmas(alphas_cumprod_);
  const std::vector<float> log_sigmas = log_f32(train);
  std::vector<double> sig;
  if (config_.interpolation_type == "linear") {
    sig = np_interp(t, train);
  } else {  // log_linear: n + 1 float32 sigmas, log-spaced from the largest to the smallest
    for (float v : torch_linspace_f32(std::log(train.back()), std::log(train.front()), n + 1))
      sig.push_back(std::exp(v));
  }
  if (config_.use_karras_sigmas) {
    const double lo = std::isnan(config_.sigma_min) ? sig.back() : config_.sigma_min;
    const double hi = std::isnan(config_.sigma_max) ? sig.front() : config_.sigma_max;
    sig = karras_sigmas(lo, hi, n);
    t.clear();
    for (double s : sig) t.push_back(float(sigma_to_t(s, log_sigmas)));
  }
  sigmas_.clear();
  for (double s : sig) sigmas_.push_back(float(s));
  if (config_.timestep_type == "continuous" && config_.prediction_type == "v_prediction") {
    t.clear();
    for (double s : sigmas_) t.push_back(0.25f * std::log(float(s)));
  }
  sigmas_.push_back(0.0);
  timesteps_ = std::move(t);
  step_index_ = -1;
}

double EulerDiscreteScheduler::init_noise_sigma() const {
  return sigma_init_noise(sigmas_, config_.timestep_spacing);
}

Tensor EulerDiscreteScheduler::scale_model_input(const Tensor& sample, double timestep) {
  if (step_index_ < 0) step_index_ = first_step_index(class_name(), timesteps_, timestep);
  return scale_by_sigma(sample, float(sigmas_[size_t(step_index_)]));
}

Tensor EulerDiscreteScheduler::step(const Tensor& model_output, double timestep,
                                    const Tensor& sample, const NoiseFn& noise) {
  check_step_inputs(class_name(), model_output, sample);
  if (step_index_ < 0) step_index_ = first_step_index(class_name(), timesteps_, timestep);
  if (step_index_ + 1 >= int(sigmas_.size()))
    fail("EulerDiscreteScheduler.step: called more often than the ", timesteps_.size(),
         " scheduled steps");
  if (noise) draw_noise(class_name(), noise, sample.shape());  // s_churn = 0: unused

  const float sigma = float(sigmas_[size_t(step_index_)]);
  const float sigma_hat = sigma * (0.0f + 1.0f);  // gamma = 0
  Tensor x0;
  if (config_.prediction_type == "epsilon")
    x0 = sigma_denoised("epsilon", model_output, sample, sigma_hat);
  else
    x0 = sigma_denoised(config_.prediction_type, model_output, sample, sigma);
  const float dt = float(sigmas_[size_t(step_index_ + 1)]) - sigma_hat;
  Tensor prev = elementwise(
      [=](float s, float x) {
        const float derivative = (s - x) / sigma_hat;
        return s + derivative * dt;
      },
      sample, x0);
  ++step_index_;
  return prev;
}

Tensor EulerDiscreteScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  return scheduling::add_noise_sigma(class_name(), timesteps_, sigmas_, original, noise, timestep);
}

}  // namespace sdfast
