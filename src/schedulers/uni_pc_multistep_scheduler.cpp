#include "schedulers/uni_pc_multistep_scheduler.h"

#include <algorithm>

#include "core/error.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {

using namespace scheduling;

namespace {

// torch.linalg.solve for the small UniPC systems: Gaussian elimination with partial pivoting in
// float64 on the float32 entries, rounded back to float32.
std::vector<float> solve(std::vector<std::vector<float>> r, std::vector<float> b) {
  const size_t n = b.size();
  std::vector<std::vector<double>> a(n, std::vector<double>(n + 1));
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) a[i][j] = r[i][j];
    a[i][n] = b[i];
  }
  for (size_t c = 0; c < n; ++c) {
    size_t p = c;
    for (size_t i = c + 1; i < n; ++i)
      if (std::fabs(a[i][c]) > std::fabs(a[p][c])) p = i;
    std::swap(a[c], a[p]);
    for (size_t i = c + 1; i < n; ++i) {
      const double f = a[i][c] / a[c][c];
      for (size_t j = c; j <= n; ++j) a[i][j] -= f * a[c][j];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double s = a[i][n];
    for (size_t j = i + 1; j < n; ++j) s -= a[i][j] * x[j];
    x[i] = s / a[i][i];
  }
  return std::vector<float>(x.begin(), x.end());
}

// The B(h) coefficient system of UniP/UniC: R[i][k] = rks[k] ** i, b[i] = h_phi_{i+1} * i! / B(h).
struct BhSystem {
  std::vector<std::vector<float>> r;
  std::vector<float> b;
  float h_phi_1 = 0, b_h = 0;
};

BhSystem bh_system(const std::vector<float>& rks, float hh, bool bh1, int order) {
  BhSystem s;
  s.h_phi_1 = std::expm1(hh);
  float h_phi_k = s.h_phi_1 / hh - 1.0f;
  int64_t factorial_i = 1;
  s.b_h = bh1 ? hh : std::expm1(hh);
  for (int i = 1; i <= order; ++i) {
    std::vector<float> row;
    for (float rk : rks)
      row.push_back(i == 1   ? 1.0f
                    : i == 2 ? rk
                    : i == 3 ? rk * rk
                    : i == 4 ? rk * rk * rk
                             : std::pow(rk, float(i - 1)));
    s.r.push_back(std::move(row));
    s.b.push_back(h_phi_k * float(factorial_i) / s.b_h);
    factorial_i *= i + 1;
    h_phi_k = h_phi_k / hh - float(1.0 / double(factorial_i));
  }
  return s;
}

}  // namespace

UniPCMultistepSchedulerConfig UniPCMultistepSchedulerConfig::parse(const Config& c) {
  UniPCMultistepSchedulerConfig s;
  s.betas = parse_beta_schedule(c, {}, {"linear", "scaled_linear", "squaredcos_cap_v2"}, false);
  s.solver_order = config_int(c, "solver_order", s.solver_order, 1, 4);
  s.prediction_type =
      config_choice(c, "prediction_type", s.prediction_type, {"epsilon", "sample", "v_prediction"});
  s.thresholding = c.get<bool>("thresholding", s.thresholding);
  s.dynamic_thresholding_ratio =
      config_number(c, "dynamic_thresholding_ratio", s.dynamic_thresholding_ratio, 0, 1);
  s.sample_max_value = config_number(c, "sample_max_value", s.sample_max_value, 0, 1e30);
  s.predict_x0 = c.get<bool>("predict_x0", s.predict_x0);
  s.solver_type =
      config_choice(c, "solver_type", s.solver_type, {"bh1", "bh2", "midpoint", "heun", "logrho"});
  if (s.solver_type != "bh1") s.solver_type = "bh2";
  s.lower_order_final = c.get<bool>("lower_order_final", s.lower_order_final);
  s.disable_corrector = c.get<std::vector<int>>("disable_corrector", s.disable_corrector);
  if (c.has("solver_p"))
    c.fail_key("solver_p",
               "is set; an external predictor scheduler is not supported (valid: null)");
  s.use_karras_sigmas = c.get<bool>("use_karras_sigmas", s.use_karras_sigmas);
  s.timestep_spacing = config_choice(c, "timestep_spacing", s.timestep_spacing, kTimestepSpacings);
  s.steps_offset = config_int(c, "steps_offset", s.steps_offset, 0, 1000000);
  s.sigma_min = config_optional_positive(c, "sigma_min");
  s.sigma_max = config_optional_positive(c, "sigma_max");
  // Karras schedules end with a zero-length step (sigma_min to sigma_min); a UniP of order >= 3
  // there solves a singular system and Diffusers returns NaN, so the combination is refused.
  if (s.use_karras_sigmas && !s.lower_order_final && s.solver_order >= 3)
    c.fail_key("solver_order", str_cat("is ", s.solver_order,
                                       " with use_karras_sigmas and lower_order_final false: the "
                                       "final step would be NaN (Diffusers); use solver_order <= 2 "
                                       "or lower_order_final true"));
  return s;
}

nlohmann::json UniPCMultistepSchedulerConfig::to_json() const {
  nlohmann::json j = beta_schedule_json(betas, false);
  j["solver_order"] = solver_order;
  j["prediction_type"] = prediction_type;
  j["thresholding"] = thresholding;
  j["dynamic_thresholding_ratio"] = dynamic_thresholding_ratio;
  j["sample_max_value"] = sample_max_value;
  j["predict_x0"] = predict_x0;
  j["solver_type"] = solver_type;
  j["lower_order_final"] = lower_order_final;
  j["disable_corrector"] = disable_corrector;
  j["use_karras_sigmas"] = use_karras_sigmas;
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  j["solver_p"] = nullptr;
  return j;
}

UniPCMultistepScheduler::UniPCMultistepScheduler(UniPCMultistepSchedulerConfig config)
    : config_(std::move(config)) {
  alphas_cumprod_ = cumprod_alphas(make_betas(config_.betas, class_name()));
  num_train_timesteps_ = config_.betas.num_train_timesteps;
  prediction_type_ = config_.prediction_type;
}

void UniPCMultistepScheduler::set_timesteps(int n) {
  const int T = check_steps(n);
  std::vector<double> t =
      multistep_timesteps(config_.timestep_spacing, T, T, n, config_.steps_offset);
  const std::vector<float> train = train_sigmas(alphas_cumprod_);
  sigmas_.clear();
  if (config_.use_karras_sigmas) {
    const std::vector<float> log_sigmas = log_f32(train);
    const std::vector<double> sig = karras_sigmas_between(config_.sigma_min, config_.sigma_max, train, n);
    t.clear();
    for (double s : sig) t.push_back(np_round(sigma_to_t(s, log_sigmas)));
    for (double s : sig) sigmas_.push_back(float(s));
    sigmas_.push_back(sigmas_.back());  // the final step stays at sigma_min
  } else {
    for (double s : np_interp(t, train)) sigmas_.push_back(float(s));
    sigmas_.push_back(train.front());  // sigma at timestep 0
  }
  timesteps_ = std::move(t);
  model_outputs_.assign(size_t(config_.solver_order), Tensor());
  lower_order_nums_ = 0;
  this_order_ = 1;
  last_sample_ = Tensor();
  step_index_ = -1;
}

SigmaPoint UniPCMultistepScheduler::point(size_t i) const { return sigma_point(float(sigmas_[i])); }

Tensor UniPCMultistepScheduler::convert_model_output(const Tensor& model_output,
                                                     const Tensor& sample) const {
  const SigmaPoint p = point(size_t(step_index_));
  const float a = p.alpha, s = p.sigma;
  const std::string& pred = config_.prediction_type;
  if (config_.predict_x0) {
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
  if (pred == "epsilon") return model_output;
  if (pred == "sample")
    return elementwise([=](float x, float m) { return (x - a * m) / s; }, sample, model_output);
  return elementwise([=](float x, float m) { return a * m + s * x; }, sample, model_output);
}

Tensor UniPCMultistepScheduler::predictor(const Tensor& sample, int order) const {
  const size_t i = size_t(step_index_), n = model_outputs_.size();
  const Tensor& m0 = model_outputs_[n - 1];
  const SigmaPoint t = point(i + 1), s0 = point(i);
  const float h = t.lambda - s0.lambda;

  std::vector<float> rks;
  std::vector<Tensor> d1s;
  for (int k = 1; k < order; ++k) {
    const SigmaPoint sk = point(i - size_t(k));
    const float rk = (sk.lambda - s0.lambda) / h;
    rks.push_back(rk);
    d1s.push_back(elementwise([rk](float mi, float a) { return (mi - a) / rk; },
                              model_outputs_[n - 1 - size_t(k)], m0));
  }
  rks.push_back(1.0f);
  const float hh = config_.predict_x0 ? -h : h;
  const BhSystem sys = bh_system(rks, hh, config_.solver_type == "bh1", order);

  std::vector<float> rhos;
  if (order == 2) {
    rhos = {0.5f};
  } else if (order > 2) {
    std::vector<std::vector<float>> r(size_t(order - 1));
    for (int a = 0; a < order - 1; ++a)
      r[size_t(a)].assign(sys.r[size_t(a)].begin(), sys.r[size_t(a)].end() - 1);
    rhos = solve(r, std::vector<float>(sys.b.begin(), sys.b.end() - 1));
  }
  const float c1 = config_.predict_x0 ? t.sigma / s0.sigma : t.alpha / s0.alpha;
  const float c2 = (config_.predict_x0 ? t.alpha : t.sigma) * sys.h_phi_1;
  const float c3 = (config_.predict_x0 ? t.alpha : t.sigma) * sys.b_h;
  Tensor x_t = elementwise([=](float x, float m) { return c1 * x - c2 * m; }, sample, m0);
  if (!d1s.empty()) {
    Tensor res = elementwise([r = rhos[0]](float d) { return r * d; }, d1s[0]);
    for (size_t k = 1; k < d1s.size(); ++k)
      res = elementwise([r = rhos[k]](float acc, float d) { return acc + r * d; }, res, d1s[k]);
    x_t = elementwise([c3](float x, float p) { return x - c3 * p; }, x_t, res);
  }
  return x_t;
}

Tensor UniPCMultistepScheduler::corrector(const Tensor& this_model_output,
                                          const Tensor& last_sample, const Tensor& this_sample,
                                          int order) const {
  const size_t i = size_t(step_index_), n = model_outputs_.size();
  const Tensor& m0 = model_outputs_[n - 1];
  const SigmaPoint t = point(i), s0 = point(i - 1);
  const float h = t.lambda - s0.lambda;

  std::vector<float> rks;
  std::vector<Tensor> d1s;
  for (int k = 1; k < order; ++k) {
    const SigmaPoint sk = point(i - size_t(k + 1));
    const float rk = (sk.lambda - s0.lambda) / h;
    rks.push_back(rk);
    d1s.push_back(elementwise([rk](float mi, float a) { return (mi - a) / rk; },
                              model_outputs_[n - 1 - size_t(k)], m0));
  }
  rks.push_back(1.0f);
  const float hh = config_.predict_x0 ? -h : h;
  const BhSystem sys = bh_system(rks, hh, config_.solver_type == "bh1", order);
  const std::vector<float> rhos = order == 1 ? std::vector<float>{0.5f} : solve(sys.r, sys.b);

  const float c1 = config_.predict_x0 ? t.sigma / s0.sigma : t.alpha / s0.alpha;
  const float c2 = (config_.predict_x0 ? t.alpha : t.sigma) * sys.h_phi_1;
  const float c3 = (config_.predict_x0 ? t.alpha : t.sigma) * sys.b_h;
  const float r_last = rhos.back();
  (void)this_sample;  // UniC rebuilds x_t from last_sample; Diffusers ignores this_sample too.
  Tensor x_t = elementwise([=](float x, float m) { return c1 * x - c2 * m; }, last_sample, m0);
  Tensor corr;
  if (!d1s.empty()) {
    corr = elementwise([r = rhos[0]](float d) { return r * d; }, d1s[0]);
    for (size_t k = 1; k < d1s.size(); ++k)
      corr = elementwise([r = rhos[k]](float acc, float d) { return acc + r * d; }, corr, d1s[k]);
  }
  if (corr.defined())
    return elementwise(
        [=](float x, float c, float mt, float a) { return x - c3 * (c + r_last * (mt - a)); }, x_t,
        corr, this_model_output, m0);
  return elementwise([=](float x, float mt, float a) { return x - c3 * (r_last * (mt - a)); }, x_t,
                     this_model_output, m0);
}

Tensor UniPCMultistepScheduler::step(const Tensor& model_output, double timestep,
                                     const Tensor& sample, const NoiseFn& noise) {
  check_step_inputs(class_name(), model_output, sample);
  if (timesteps_.empty()) fail("UniPCMultistepScheduler.step: call set_timesteps first");
  const int len = int(timesteps_.size());
  if (step_index_ < 0) {
    step_index_ = index_for_timestep(timesteps_, timestep);
    if (step_index_ < 0) step_index_ = len - 1;
  }
  if (step_index_ >= len)
    fail("UniPCMultistepScheduler.step: called more often than the ", len, " scheduled steps");

  const auto& disabled = config_.disable_corrector;
  const bool use_corrector =
      step_index_ > 0 && last_sample_.defined() &&
      std::find(disabled.begin(), disabled.end(), step_index_ - 1) == disabled.end();
  const Tensor converted = convert_model_output(model_output, sample);
  Tensor x = sample;
  if (use_corrector) x = corrector(converted, last_sample_, sample, this_order_);

  model_outputs_.erase(model_outputs_.begin());
  model_outputs_.push_back(converted);

  const int order = config_.solver_order;
  int this_order = config_.lower_order_final ? std::min(order, len - step_index_) : order;
  this_order_ = std::min(this_order, lower_order_nums_ + 1);
  last_sample_ = x;
  Tensor prev = predictor(x, this_order_);
  if (lower_order_nums_ < order) ++lower_order_nums_;
  ++step_index_;
  return prev;
}

Tensor UniPCMultistepScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  return scheduling::add_noise_multistep(class_name(), timesteps_, sigmas_, original, noise, timestep);
}

}  // namespace sdfast
