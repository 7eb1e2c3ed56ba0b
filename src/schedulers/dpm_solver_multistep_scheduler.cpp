#include "schedulers/dpm_solver_multistep_scheduler.h"

#include <algorithm>

#include "core/error.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {

using namespace scheduling;

namespace {

bool is_sde(const std::string& algorithm) { return algorithm.rfind("sde-", 0) == 0; }
bool is_data_prediction(const std::string& algorithm) {
  return algorithm == "dpmsolver++" || algorithm == "sde-dpmsolver++";
}

}  // namespace

DPMSolverMultistepSchedulerConfig DPMSolverMultistepSchedulerConfig::parse(const Config& c) {
  DPMSolverMultistepSchedulerConfig s;
  s.betas = parse_beta_schedule(c, {}, {"linear", "scaled_linear", "squaredcos_cap_v2"}, false);
  s.solver_order = config_int(c, "solver_order", s.solver_order, 1, 3);
  s.prediction_type =
      config_choice(c, "prediction_type", s.prediction_type, {"epsilon", "sample", "v_prediction"});
  s.thresholding = c.get<bool>("thresholding", s.thresholding);
  s.dynamic_thresholding_ratio =
      config_number(c, "dynamic_thresholding_ratio", s.dynamic_thresholding_ratio, 0, 1);
  s.sample_max_value = config_number(c, "sample_max_value", s.sample_max_value, 0, 1e30);
  s.algorithm_type =
      config_choice(c, "algorithm_type", s.algorithm_type,
                    {"dpmsolver++", "dpmsolver", "sde-dpmsolver++", "sde-dpmsolver", "deis"});
  if (s.algorithm_type == "deis") s.algorithm_type = "dpmsolver++";  // as Diffusers registers it
  s.solver_type =
      config_choice(c, "solver_type", s.solver_type, {"midpoint", "heun", "logrho", "bh1", "bh2"});
  if (s.solver_type != "heun") s.solver_type = "midpoint";
  s.lower_order_final = c.get<bool>("lower_order_final", s.lower_order_final);
  s.euler_at_final = c.get<bool>("euler_at_final", s.euler_at_final);
  s.use_karras_sigmas = c.get<bool>("use_karras_sigmas", s.use_karras_sigmas);
  s.use_lu_lambdas = c.get<bool>("use_lu_lambdas", s.use_lu_lambdas);
  s.final_sigmas_type =
      config_choice(c, "final_sigmas_type", s.final_sigmas_type, {"zero", "sigma_min"});
  s.lambda_min_clipped = c.get<double>("lambda_min_clipped", s.lambda_min_clipped);
  if (std::isnan(s.lambda_min_clipped)) c.fail_key("lambda_min_clipped", "is NaN");
  s.timestep_spacing = config_choice(c, "timestep_spacing", s.timestep_spacing, kTimestepSpacings);
  s.steps_offset = config_int(c, "steps_offset", s.steps_offset, 0, 1000000);
  s.sigma_min = config_optional_positive(c, "sigma_min");
  s.sigma_max = config_optional_positive(c, "sigma_max");
  if (c.has("variance_type")) {
    const std::string v = c.get<std::string>("variance_type");
    if (v == "learned" || v == "learned_range")
      c.fail_key("variance_type", "is '" + v +
                                      "'; models that predict their variance are not supported "
                                      "(valid: null)");
  }
  if (s.solver_order == 3 && is_sde(s.algorithm_type))
    c.fail_key("solver_order", "is 3; algorithm_type '" + s.algorithm_type +
                                   "' supports solver_order 1 or 2 (Diffusers has no third-order "
                                   "SDE update)");
  if (!is_data_prediction(s.algorithm_type) && s.final_sigmas_type == "zero")
    c.fail_key("final_sigmas_type",
               "is 'zero', which algorithm_type '" + s.algorithm_type +
                   "' cannot step to (its final update divides by sigma = 0); use 'sigma_min'");
  return s;
}

nlohmann::json DPMSolverMultistepSchedulerConfig::to_json() const {
  nlohmann::json j = beta_schedule_json(betas, false);
  j["solver_order"] = solver_order;
  j["prediction_type"] = prediction_type;
  j["thresholding"] = thresholding;
  j["dynamic_thresholding_ratio"] = dynamic_thresholding_ratio;
  j["sample_max_value"] = sample_max_value;
  j["algorithm_type"] = algorithm_type;
  j["solver_type"] = solver_type;
  j["lower_order_final"] = lower_order_final;
  j["euler_at_final"] = euler_at_final;
  j["use_karras_sigmas"] = use_karras_sigmas;
  j["use_lu_lambdas"] = use_lu_lambdas;
  j["final_sigmas_type"] = final_sigmas_type;
  j["lambda_min_clipped"] = lambda_min_clipped;
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  j["variance_type"] = nullptr;
  return j;
}

DPMSolverMultistepScheduler::DPMSolverMultistepScheduler(DPMSolverMultistepSchedulerConfig config)
    : config_(std::move(config)) {
  alphas_cumprod_ = cumprod_alphas(make_betas(config_.betas, class_name()));
  for (float a : alphas_cumprod_)
    lambda_t_.push_back(std::log(std::sqrt(a)) - std::log(std::sqrt(1.0f - a)));
  num_train_timesteps_ = config_.betas.num_train_timesteps;
  prediction_type_ = config_.prediction_type;
}

void DPMSolverMultistepScheduler::set_timesteps(int n) {
  const int T = check_steps(n);
  // Clip the smallest lambdas (critical for squaredcos_cap_v2): searchsorted on flip(lambda_t).
  int clipped_idx = 0;
  while (clipped_idx < T &&
         double(lambda_t_[size_t(T - 1 - clipped_idx)]) < config_.lambda_min_clipped)
    ++clipped_idx;
  const int last_timestep = T - clipped_idx;
  if (last_timestep < 1)
    fail("DPMSolverMultistepScheduler: lambda_min_clipped ", config_.lambda_min_clipped,
         " clips every training timestep");

  std::vector<double> t =
      multistep_timesteps(config_.timestep_spacing, last_timestep, T, n, config_.steps_offset);

  const std::vector<float> train = train_sigmas(alphas_cumprod_);
  const std::vector<float> log_sigmas = log_f32(train);
  std::vector<double> sig;
  if (config_.use_karras_sigmas) {
    sig = karras_sigmas_between(config_.sigma_min, config_.sigma_max, train, n);
    t.clear();
    for (double s : sig) t.push_back(np_round(sigma_to_t(s, log_sigmas)));
  } else if (config_.use_lu_lambdas) {
    // Uniform log-SNR steps (Lu et al.): lambdas linear from log_sigmas[-1] down to log_sigmas[0].
    const double lambda_max = log_sigmas.back(), lambda_min = log_sigmas.front();
    sig = np_linspace(0, 1, n);
    for (double& r : sig) r = std::exp(lambda_max + r * (lambda_min - lambda_max));
    t.clear();
    for (double s : sig) t.push_back(np_round(sigma_to_t(s, log_sigmas)));
  } else {
    sig = np_interp(t, train);
  }
  const double sigma_last = config_.final_sigmas_type == "sigma_min" ? double(train.front()) : 0.0;
  sigmas_.clear();
  for (double s : sig) sigmas_.push_back(float(s));
  sigmas_.push_back(float(sigma_last));
  timesteps_ = std::move(t);
  model_outputs_.assign(size_t(config_.solver_order), Tensor());
  lower_order_nums_ = 0;
  step_index_ = -1;
}

SigmaPoint DPMSolverMultistepScheduler::point(size_t i) const { return sigma_point(float(sigmas_[i])); }

Tensor DPMSolverMultistepScheduler::convert_model_output(const Tensor& model_output,
                                                         const Tensor& sample) const {
  const SigmaPoint p = point(size_t(step_index_));
  const float a = p.alpha, s = p.sigma;
  const std::string& pred = config_.prediction_type;
  if (is_data_prediction(config_.algorithm_type)) {
    Tensor x0;
    if (pred == "epsilon")
      x0 = elementwise([=](float x, float m) { return (x - s * m) / a; }, sample, model_output);
    else if (pred == "sample")
      x0 = model_output;
    else
      x0 = elementwise([=](float x, float m) { return a * x - s * m; }, sample, model_output);
    if (config_.thresholding)
      x0 = threshold_sample(x0, config_.dynamic_thresholding_ratio, config_.sample_max_value);
    return x0;
  }
  Tensor eps;
  if (pred == "epsilon")
    eps = model_output;
  else if (pred == "sample")
    eps = elementwise([=](float x, float m) { return (x - a * m) / s; }, sample, model_output);
  else
    eps = elementwise([=](float x, float m) { return a * m + s * x; }, sample, model_output);
  if (config_.thresholding) {
    Tensor x0 = elementwise([=](float x, float e) { return (x - s * e) / a; }, sample, eps);
    x0 = threshold_sample(x0, config_.dynamic_thresholding_ratio, config_.sample_max_value);
    eps = elementwise([=](float x, float x0v) { return (x - a * x0v) / s; }, sample, x0);
  }
  return eps;
}

Tensor DPMSolverMultistepScheduler::first_order_update(const Tensor& m0, const Tensor& sample,
                                                       const Tensor& noise) const {
  const SigmaPoint t = point(size_t(step_index_ + 1)), s = point(size_t(step_index_));
  const float h = t.lambda - s.lambda;
  const std::string& algo = config_.algorithm_type;
  if (algo == "dpmsolver++") {
    const float c1 = t.sigma / s.sigma, c2 = t.alpha * (std::exp(-h) - 1.0f);
    return elementwise([=](float x, float m) { return c1 * x - c2 * m; }, sample, m0);
  }
  if (algo == "dpmsolver") {
    const float c1 = t.alpha / s.alpha, c2 = t.sigma * (std::exp(h) - 1.0f);
    return elementwise([=](float x, float m) { return c1 * x - c2 * m; }, sample, m0);
  }
  if (algo == "sde-dpmsolver++") {
    const float c1 = t.sigma / s.sigma * std::exp(-h);
    const float c2 = t.alpha * (1.0f - std::exp(-2.0f * h));
    const float c3 = t.sigma * std::sqrt(1.0f - std::exp(-2.0f * h));
    return elementwise([=](float x, float m, float z) { return c1 * x + c2 * m + c3 * z; }, sample,
                       m0, noise);
  }
  // sde-dpmsolver
  const float c1 = t.alpha / s.alpha;
  const float c2 = 2.0f * (t.sigma * (std::exp(h) - 1.0f));
  const float c3 = t.sigma * std::sqrt(std::exp(2.0f * h) - 1.0f);
  return elementwise([=](float x, float m, float z) { return c1 * x - c2 * m + c3 * z; }, sample,
                     m0, noise);
}

Tensor DPMSolverMultistepScheduler::second_order_update(const Tensor& sample,
                                                        const Tensor& noise) const {
  const size_t i = size_t(step_index_);
  const SigmaPoint t = point(i + 1), s0 = point(i), s1 = point(i - 1);
  const Tensor& m0 = model_outputs_[model_outputs_.size() - 1];
  const Tensor& m1 = model_outputs_[model_outputs_.size() - 2];
  const float h = t.lambda - s0.lambda, h_0 = s0.lambda - s1.lambda;
  const float r0 = h_0 / h;
  const float inv_r0 = 1.0f / r0;
  const Tensor d1 = elementwise([=](float a, float b) { return inv_r0 * (a - b); }, m0, m1);
  const std::string& algo = config_.algorithm_type;
  const bool midpoint = config_.solver_type == "midpoint";

  // x_t = c1 * sample - c2 * D0 + c3 * D1 (+ c4 * noise), with the signs of Diffusers' formulas.
  if (algo == "dpmsolver++") {
    const float c1 = t.sigma / s0.sigma, c2 = t.alpha * (std::exp(-h) - 1.0f);
    const float c3 = midpoint ? -(0.5f * (t.alpha * (std::exp(-h) - 1.0f)))
                              : t.alpha * ((std::exp(-h) - 1.0f) / h + 1.0f);
    return elementwise([=](float x, float a, float b) { return c1 * x - c2 * a + c3 * b; }, sample,
                       m0, d1);
  }
  if (algo == "dpmsolver") {
    const float c1 = t.alpha / s0.alpha, c2 = t.sigma * (std::exp(h) - 1.0f);
    const float c3 = midpoint ? -(0.5f * (t.sigma * (std::exp(h) - 1.0f)))
                              : -(t.sigma * ((std::exp(h) - 1.0f) / h - 1.0f));
    return elementwise([=](float x, float a, float b) { return c1 * x - c2 * a + c3 * b; }, sample,
                       m0, d1);
  }
  if (algo == "sde-dpmsolver++") {
    const float c1 = t.sigma / s0.sigma * std::exp(-h);
    const float c2 = t.alpha * (1.0f - std::exp(-2.0f * h));
    const float c3 = midpoint ? 0.5f * (t.alpha * (1.0f - std::exp(-2.0f * h)))
                              : t.alpha * ((1.0f - std::exp(-2.0f * h)) / (-2.0f * h) + 1.0f);
    const float c4 = t.sigma * std::sqrt(1.0f - std::exp(-2.0f * h));
    return elementwise(
        [=](float x, float a, float b, float z) { return c1 * x + c2 * a + c3 * b + c4 * z; },
        sample, m0, d1, noise);
  }
  // sde-dpmsolver
  const float c1 = t.alpha / s0.alpha;
  const float c2 = 2.0f * (t.sigma * (std::exp(h) - 1.0f));
  const float c3 = midpoint ? t.sigma * (std::exp(h) - 1.0f)
                            : 2.0f * (t.sigma * ((std::exp(h) - 1.0f) / h - 1.0f));
  const float c4 = t.sigma * std::sqrt(std::exp(2.0f * h) - 1.0f);
  return elementwise(
      [=](float x, float a, float b, float z) { return c1 * x - c2 * a - c3 * b + c4 * z; }, sample,
      m0, d1, noise);
}

Tensor DPMSolverMultistepScheduler::third_order_update(const Tensor& sample) const {
  const size_t i = size_t(step_index_);
  const SigmaPoint t = point(i + 1), s0 = point(i), s1 = point(i - 1), s2 = point(i - 2);
  const size_t n = model_outputs_.size();
  const Tensor& m0 = model_outputs_[n - 1];
  const Tensor& m1 = model_outputs_[n - 2];
  const Tensor& m2 = model_outputs_[n - 3];
  const float h = t.lambda - s0.lambda, h_0 = s0.lambda - s1.lambda, h_1 = s1.lambda - s2.lambda;
  const float r0 = h_0 / h, r1 = h_1 / h;
  const float inv_r0 = 1.0f / r0, inv_r1 = 1.0f / r1;
  const float w1 = r0 / (r0 + r1), w2 = 1.0f / (r0 + r1);
  const Tensor d1_0 = elementwise([=](float a, float b) { return inv_r0 * (a - b); }, m0, m1);
  const Tensor d1_1 = elementwise([=](float a, float b) { return inv_r1 * (a - b); }, m1, m2);
  const Tensor d1 = elementwise([=](float a, float b) { return a + w1 * (a - b); }, d1_0, d1_1);
  const Tensor d2 = elementwise([=](float a, float b) { return w2 * (a - b); }, d1_0, d1_1);
  if (config_.algorithm_type == "dpmsolver++") {
    const float e = std::exp(-h) - 1.0f;
    const float c1 = t.sigma / s0.sigma, c2 = t.alpha * e;
    const float c3 = t.alpha * (e / h + 1.0f);
    const float c4 = t.alpha * ((std::exp(-h) - 1.0f + h) / (h * h) - 0.5f);
    return elementwise(
        [=](float x, float a, float b, float c) { return c1 * x - c2 * a + c3 * b - c4 * c; },
        sample, m0, d1, d2);
  }
  const float e = std::exp(h) - 1.0f;
  const float c1 = t.alpha / s0.alpha, c2 = t.sigma * e;
  const float c3 = t.sigma * (e / h - 1.0f);
  const float c4 = t.sigma * ((std::exp(h) - 1.0f - h) / (h * h) - 0.5f);
  return elementwise(
      [=](float x, float a, float b, float c) { return c1 * x - c2 * a - c3 * b - c4 * c; }, sample,
      m0, d1, d2);
}

Tensor DPMSolverMultistepScheduler::step(const Tensor& model_output, double timestep,
                                         const Tensor& sample, const NoiseFn& noise) {
  check_step_inputs(class_name(), model_output, sample);
  if (timesteps_.empty()) fail("DPMSolverMultistepScheduler.step: call set_timesteps first");
  const int len = int(timesteps_.size());
  if (step_index_ < 0) {
    step_index_ = index_for_timestep(timesteps_, timestep);
    if (step_index_ < 0) step_index_ = len - 1;
  }
  if (step_index_ >= len)
    fail("DPMSolverMultistepScheduler.step: called more often than the ", len, " scheduled steps");

  // Lower orders at the end improve stability for few steps.
  const bool lower_order_final =
      step_index_ == len - 1 &&
      (config_.euler_at_final || (config_.lower_order_final && len < 15) ||
       config_.final_sigmas_type == "zero");
  const bool lower_order_second = step_index_ == len - 2 && config_.lower_order_final && len < 15;

  Tensor converted = convert_model_output(model_output, sample);
  model_outputs_.erase(model_outputs_.begin());
  model_outputs_.push_back(converted);

  Tensor z;
  if (is_sde(config_.algorithm_type)) z = draw_noise(class_name(), noise, sample.shape());

  Tensor prev;
  const int order = config_.solver_order;
  if (order == 1 || lower_order_nums_ < 1 || lower_order_final)
    prev = first_order_update(converted, sample, z);
  else if (order == 2 || lower_order_nums_ < 2 || lower_order_second)
    prev = second_order_update(sample, z);
  else
    prev = third_order_update(sample);
  if (lower_order_nums_ < order) ++lower_order_nums_;
  ++step_index_;
  return prev;
}

Tensor DPMSolverMultistepScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  return scheduling::add_noise_multistep(class_name(), timesteps_, sigmas_, original, noise, timestep);
}

}  // namespace sdfast
