// Schedulers against an oracle model: when the model output is the exact noise/x0/v of a fixed
// clean sample x0, every scheduler in Diffusers is an exact integrator (the updates are DDIM or
// exponential-integrator steps, their multistep/Runge-Kutta combinations weight the constant
// prediction with weights that sum to 1), so the last sample is x0 (or its known noisy version when
// the schedule ends above sigma 0). Run over schedulers x prediction types x spacings x step counts
// x solver options, this checks every update formula and coefficient, which the golden cases cover
// only for their defaults.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "io/json.h"
#include "schedulers/scheduler.h"
#include "schedulers/scheduler_config.h"

namespace sdfast {
namespace {

nlohmann::json sd_config() {
  return nlohmann::json::parse(R"({
    "_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "beta_start": 0.00085, "num_train_timesteps": 1000, "set_alpha_to_one": true,
    "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null, "clip_sample": false})");
}

Tensor pattern(Shape shape, uint32_t seed, float scale) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  uint32_t s = seed;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = (float(s >> 8) / float(1 << 24) * 2 - 1) * scale;
  }
  return Tensor::from_vector(shape, v);
}

enum class Param { kDiscreteVP, kSigmaVP, kSigmaVE };

Param param_of(const std::string& cls) {
  if (cls == "DPMSolverMultistepScheduler" || cls == "UniPCMultistepScheduler")
    return Param::kSigmaVP;
  if (cls == "DDIMScheduler" || cls == "DDPMScheduler" || cls == "PNDMScheduler" ||
      cls == "LCMScheduler")
    return Param::kDiscreteVP;
  return Param::kSigmaVE;
}

std::vector<float> alphas_cumprod_of(const Scheduler& s) {
  using namespace scheduling;
  const auto b =
      parse_beta_schedule(Config(s.config_json(), "t"), {},
                          {"linear", "scaled_linear", "squaredcos_cap_v2", "exp", "sigmoid"}, true);
  return cumprod_alphas(make_betas(b, "t"));
}

struct OracleResult {
  Tensor final_sample, last_input;
  std::vector<double> last_eps;  // the oracle's noise at the last evaluation
  double last_timestep = 0;
  int noise_calls = 0;
};

// Runs the scheduler loop with the oracle model for (x0, e0); stochastic schedulers get zero noise.
OracleResult run_oracle(Scheduler& s, const Tensor& x0, const Tensor& e0) {
  const Param param = param_of(s.class_name());
  const std::string pred = s.prediction_type();
  std::vector<float> ac;
  if (param == Param::kDiscreteVP) ac = alphas_cumprod_of(s);
  OracleResult r;
  const NoiseFn zeros = [&r](const Shape& shape) {
    ++r.noise_calls;
    return Tensor::zeros(shape);
  };
  const int64_t n = x0.numel();
  const float* px0 = x0.data<float>();
  Tensor x;
  for (size_t k = 0; k < s.timesteps().size(); ++k) {
    const double t = s.timesteps()[k];
    // The noise level of this evaluation: x = alpha * x0 + sigma * eps (VE: alpha = 1).
    double alpha = 1, sigma;
    if (param == Param::kDiscreteVP) {
      const double a = ac[size_t(t)];
      alpha = std::sqrt(a);
      sigma = std::sqrt(1 - a);
    } else {
      sigma = s.sigmas()[k];
      if (param == Param::kSigmaVP) {
        alpha = 1 / std::sqrt(1 + sigma * sigma);
        sigma *= alpha;
      }
    }
    if (k == 0) {
      std::vector<float> v(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i)
        v[size_t(i)] = float(alpha * px0[i] + sigma * e0.data<float>()[i]);
      x = Tensor::from_vector(x0.shape(), v);
    }
    s.scale_model_input(x, t);
    // v-prediction is defined on the VP form of the sample.
    const double vp_alpha = param == Param::kSigmaVE ? 1 / std::sqrt(1 + sigma * sigma) : alpha;
    const double vp_sigma = param == Param::kSigmaVE ? sigma * vp_alpha : sigma;
    std::vector<float> m(static_cast<size_t>(n));
    r.last_eps.assign(size_t(n), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      const double eps = (double(x.data<float>()[i]) - alpha * px0[i]) / sigma;
      r.last_eps[size_t(i)] = eps;
      m[size_t(i)] = pred == "epsilon"        ? float(eps)
                     : pred == "v_prediction" ? float(vp_alpha * eps - vp_sigma * px0[i])
                                              : px0[i];
    }
    r.last_input = x;
    r.last_timestep = t;
    x = s.step(Tensor::from_vector(x0.shape(), m), t, x, zeros);
  }
  r.final_sample = x;
  return r;
}

// Where the schedule ends: x0 at sigma 0 / alpha 1, else the noisy sample at the last sigma.
Tensor expected_final(const Scheduler& s, const OracleResult& r, const Tensor& x0,
                      const Tensor& e0) {
  std::vector<float> v(static_cast<size_t>(x0.numel()));
  const float* px0 = x0.data<float>();
  const std::string cls = s.class_name();
  if (cls == "DDIMScheduler" || cls == "DDPMScheduler" || cls == "PNDMScheduler") {
    // The last step goes to t - T // n: alpha 1 below 0 (set_alpha_to_one), else that timestep.
    const std::vector<float> ac = alphas_cumprod_of(s);
    // PNDM evaluates n + 1 times (skip_prk_steps) or 12 + n - 3 times (Runge-Kutta warm-up).
    const bool prk = cls == "PNDMScheduler" && !s.config_json()["skip_prk_steps"].get<bool>();
    const int n = int(cls != "PNDMScheduler" ? s.timesteps().size()
                      : prk                  ? s.timesteps().size() - 9
                                             : std::max<size_t>(s.timesteps().size() - 1, 1));
    const int64_t t = int64_t(r.last_timestep), prev_t = t - s.num_train_timesteps() / n;
    const double a_t = ac[size_t(t)], a_prev = prev_t >= 0 ? ac[size_t(prev_t)] : 1.0;
    for (size_t i = 0; i < v.size(); ++i) {
      if (cls == "DDPMScheduler") {  // posterior mean with zero noise
        const double cur_beta = 1 - a_t / a_prev;
        v[i] = float(std::sqrt(a_prev) * cur_beta / (1 - a_t) * px0[i] +
                     std::sqrt(a_t / a_prev) * (1 - a_prev) / (1 - a_t) *
                         r.last_input.data<float>()[i]);
      } else {
        v[i] = float(std::sqrt(a_prev) * px0[i] + std::sqrt(1 - a_prev) * r.last_eps[i]);
      }
    }
  } else if (cls == "LCMScheduler") {
    // The last step returns c_out * x0 + c_skip * sample at the scaled timestep.
    const double st = r.last_timestep * 10.0;
    const double c_skip = 0.25 / (st * st + 0.25), c_out = st / std::sqrt(st * st + 0.25);
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = float(c_out * px0[i] + c_skip * r.last_input.data<float>()[i]);
  } else {
    const double last = s.sigmas().empty() ? 0.0 : s.sigmas()[s.timesteps().size()];
    double alpha = 1, sigma = last;
    if (param_of(s.class_name()) == Param::kSigmaVP) {
      alpha = 1 / std::sqrt(1 + last * last);
      sigma = last * alpha;
    }
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = float(alpha * px0[i] + sigma * e0.data<float>()[i]);
  }
  return Tensor::from_vector(x0.shape(), v);
}

struct Case {
  std::string name;
  nlohmann::json overrides;
  std::vector<int> steps;
};

void check_cases(const std::vector<Case>& cases, double tol = 2e-4) {
  const Shape shape{2, 4, 3, 3};
  const Tensor x0 = pattern(shape, 1, 0.9f);
  const Tensor e0 = pattern(shape, 2, 1.7f);
  for (const Case& c : cases) {
    nlohmann::json j = sd_config();
    for (auto& [k, v] : c.overrides.items()) j[k] = v;
    for (int n : c.steps) {
      std::unique_ptr<Scheduler> s = make_scheduler(c.name, Config(j, "oracle"));
      s->set_timesteps(n);
      const OracleResult r = run_oracle(*s, x0, e0);
      const Tensor want = expected_final(*s, r, x0, e0);
      double worst = 0;
      for (int64_t i = 0; i < want.numel(); ++i) {
        const double w = want.data<float>()[i], g = r.final_sample.data<float>()[i];
        worst = std::max(worst, std::fabs(g - w) / (1 + std::fabs(w)));
        if (std::isnan(g)) worst = INFINITY;
      }
      EXPECT_LE(worst, tol) << c.name << " " << c.overrides.dump() << " steps=" << n;
    }
  }
}

const std::vector<int> kSteps = {1, 2, 3, 4, 7, 25};

std::vector<Case> expand(const std::string& name, const std::vector<nlohmann::json>& variants,
                         const std::vector<int>& steps = kSteps) {
  std::vector<Case> out;
  for (const nlohmann::json& v : variants) out.push_back({name, v, steps});
  return out;
}

// Every combination of the given option lists.
std::vector<nlohmann::json> grid(const std::vector<std::pair<std::string, nlohmann::json>>& axes) {
  std::vector<nlohmann::json> out = {nlohmann::json::object()};
  for (const auto& [key, values] : axes) {
    std::vector<nlohmann::json> next;
    for (const nlohmann::json& base : out)
      for (const nlohmann::json& v : values) {
        nlohmann::json j = base;
        j[key] = v;
        next.push_back(j);
      }
    out = next;
  }
  return out;
}

const nlohmann::json kSpacings = {"leading", "trailing", "linspace"};
const nlohmann::json kPredictions = {"epsilon", "v_prediction", "sample"};

TEST(SchedulerOracle, DDIM) {
  check_cases(expand("ddim", grid({{"timestep_spacing", kSpacings},
                                   {"prediction_type", kPredictions},
                                   {"thresholding", {false, true}},
                                   {"clip_sample", {false, true}},
                                   {"beta_schedule", {"scaled_linear", "linear"}}})));
  check_cases({{"ddim", {{"steps_offset", 0}}, {50, 100, 1000}},
               {"ddim", {{"beta_schedule", "squaredcos_cap_v2"}, {"steps_offset", 0}}, {4, 50}}});
}

TEST(SchedulerOracle, DDIMWithEta) {
  // eta > 0 with zero noise still lands on x0 (the last step has no variance).
  const Shape shape{1, 4, 2, 2};
  for (double eta : {0.5, 1.0}) {
    for (int n : {1, 3, 10}) {
      auto s = make_scheduler("ddim", Config(sd_config(), "t"));
      s->set_eta(eta);
      s->set_timesteps(n);
      const OracleResult r = run_oracle(*s, pattern(shape, 3, 0.5f), pattern(shape, 4, 1.0f));
      EXPECT_EQ(r.noise_calls, n);
      for (int64_t i = 0; i < r.final_sample.numel(); ++i)
        EXPECT_NEAR(r.final_sample.data<float>()[i], pattern(shape, 3, 0.5f).data<float>()[i],
                    2e-4);
    }
  }
  auto s = make_scheduler("ddim", Config(sd_config(), "t"));
  EXPECT_THROW(s->set_eta(-0.1), InvalidArgument);
  EXPECT_THROW(s->set_eta(NAN), InvalidArgument);
}

TEST(SchedulerOracle, DDPM) {
  check_cases(
      expand("ddpm", grid({{"timestep_spacing", kSpacings},
                           {"prediction_type", kPredictions},
                           {"variance_type", {"fixed_small", "fixed_small_log", "fixed_large"}},
                           {"thresholding", {false, true}}})));
  check_cases({{"ddpm",
                {{"beta_schedule", "sigmoid"}, {"beta_start", 0.0001}, {"beta_end", 0.02}},
                {4, 25}}});
}

TEST(SchedulerOracle, PNDM) {
  // PNDM steps to `t - T // n` whatever the spacing, and combines raw model outputs of several
  // timesteps (for v_prediction before converting them to noise): as in Diffusers it is exact only
  // with "leading" spacing and epsilon prediction (or a single step).
  check_cases(expand("pndm", {{{"skip_prk_steps", true}}, {{"steps_offset", 0}}}));
  check_cases(expand(
      "pndm", {{{"skip_prk_steps", false}}, {{"skip_prk_steps", false}, {"steps_offset", 0}}},
      {4, 5, 7, 25, 50}));
  check_cases(expand(
      "pndm",
      grid({{"timestep_spacing", kSpacings}, {"prediction_type", {"epsilon", "v_prediction"}}}),
      {1}));
}

TEST(SchedulerOracle, LCM) {
  check_cases(expand("lcm",
                     grid({{"prediction_type", kPredictions},
                           {"original_inference_steps", {50, 8}},
                           {"thresholding", {false, true}}}),
                     {1, 2, 3, 4, 7, 8}));
}

TEST(SchedulerOracle, Euler) {
  check_cases(expand("euler", grid({{"timestep_spacing", kSpacings},
                                    {"prediction_type", kPredictions},
                                    {"use_karras_sigmas", {false, true}},
                                    {"interpolation_type", {"linear", "log_linear"}}})));
  check_cases(
      {{"euler",
        {{"rescale_betas_zero_snr", true},
         {"prediction_type", "v_prediction"},
         {"timestep_spacing", "trailing"}},
        {1, 4, 25}},
       {"euler", {{"prediction_type", "v_prediction"}, {"timestep_type", "continuous"}}, {3, 25}},
       {"euler", {{"use_karras_sigmas", true}, {"sigma_min", 0.1}, {"sigma_max", 10.0}}, {5}},
       {"euler", {{"timestep_spacing", "linspace"}}, {1000}}});
}

TEST(SchedulerOracle, EulerAncestral) {
  check_cases(expand("euler_a", grid({{"timestep_spacing", kSpacings},
                                      {"prediction_type", {"epsilon", "v_prediction"}}})));
  check_cases({{"euler_a",
                {{"rescale_betas_zero_snr", true},
                 {"prediction_type", "v_prediction"},
                 {"timestep_spacing", "trailing"}},
                {1, 4, 25}}});
}

TEST(SchedulerOracle, LMS) {
  check_cases(expand("lms", grid({{"timestep_spacing", kSpacings},
                                  {"prediction_type", kPredictions},
                                  {"use_karras_sigmas", {false, true}}})));
}

TEST(SchedulerOracle, Heun) {
  check_cases(expand("heun", grid({{"timestep_spacing", kSpacings},
                                   {"prediction_type", kPredictions},
                                   {"use_karras_sigmas", {false, true}},
                                   {"clip_sample", {false, true}}})));
  check_cases({{"heun", {{"beta_schedule", "exp"}, {"timestep_spacing", "linspace"}}, {4, 25}}});
}

TEST(SchedulerOracle, DPMSolverMultistep) {
  check_cases(expand("dpmpp_2m", grid({{"timestep_spacing", kSpacings},
                                       {"prediction_type", kPredictions},
                                       {"solver_order", {1, 2, 3}},
                                       {"solver_type", {"midpoint", "heun"}},
                                       {"lower_order_final", {true, false}}})));
  check_cases(expand("dpmpp_2m", grid({{"algorithm_type", {"dpmsolver", "dpmsolver++"}},
                                       {"final_sigmas_type", {"sigma_min"}},
                                       {"solver_order", {1, 2, 3}},
                                       {"solver_type", {"midpoint", "heun"}},
                                       {"prediction_type", kPredictions},
                                       {"thresholding", {false, true}}})));
  check_cases(expand("dpmpp_2m", grid({{"algorithm_type", {"sde-dpmsolver++"}},
                                       {"solver_order", {1, 2}},
                                       {"solver_type", {"midpoint", "heun"}},
                                       {"prediction_type", kPredictions}})));
  check_cases(expand("dpmpp_2m", grid({{"use_karras_sigmas", {true}},
                                       {"solver_order", {2, 3}},
                                       {"euler_at_final", {false, true}}})));
  check_cases(expand("dpmpp_2m", grid({{"use_lu_lambdas", {true}}, {"solver_order", {2, 3}}})));
  check_cases({{"dpmpp_2m",
                {{"beta_schedule", "squaredcos_cap_v2"},
                 {"lambda_min_clipped", -5.1},
                 {"timestep_spacing", "linspace"}},
                {4, 25}}});
}

TEST(SchedulerOracle, UniPC) {
  check_cases(expand("unipc", grid({{"timestep_spacing", kSpacings},
                                    {"prediction_type", kPredictions},
                                    {"solver_order", {1, 2, 3}},
                                    {"predict_x0", {true, false}},
                                    {"solver_type", {"bh1", "bh2"}}})));
  check_cases(expand("unipc", grid({{"use_karras_sigmas", {true}},
                                    {"solver_order", {2, 3}},
                                    {"lower_order_final", {true}},
                                    {"disable_corrector", {nlohmann::json::array(), {0, 2}}}})));
  check_cases(expand("unipc", grid({{"use_karras_sigmas", {true}},
                                    {"solver_order", {1, 2}},
                                    {"lower_order_final", {false}}})));
  // Order >= 3 on Karras sigmas without lower_order_final is NaN in Diffusers: refused.
  nlohmann::json j = sd_config();
  j.update({{"use_karras_sigmas", true}, {"lower_order_final", false}, {"solver_order", 3}});
  EXPECT_THROW(make_scheduler("unipc", Config(j, "t")), Error);
  check_cases(expand("unipc", grid({{"solver_order", {4}}, {"thresholding", {true}}})));
}

TEST(SchedulerNoise, DrawsAsDiffusersDoes) {
  const Shape shape{1, 4, 2, 2};
  auto count = [&](const std::string& name, nlohmann::json overrides, int n) {
    nlohmann::json j = sd_config();
    for (auto& [k, v] : overrides.items()) j[k] = v;
    auto s = make_scheduler(name, Config(j, "t"));
    s->set_timesteps(n);
    return run_oracle(*s, pattern(shape, 5, 0.5f), pattern(shape, 6, 1.0f)).noise_calls;
  };
  EXPECT_EQ(count("euler_a", {}, 6), 6);
  EXPECT_EQ(count("euler", {}, 6), 6);  // drawn and discarded (s_churn = 0)
  EXPECT_EQ(count("ddpm", {}, 6), 6);   // leading: every timestep > 0
  EXPECT_EQ(count("ddpm", {{"timestep_spacing", "linspace"}}, 6), 5);  // none at t = 0
  EXPECT_EQ(count("lcm", {}, 4), 3);                                   // none on the last step
  EXPECT_EQ(count("lcm", {}, 1), 0);
  EXPECT_EQ(count("dpmpp_2m", {{"algorithm_type", "sde-dpmsolver++"}}, 5), 5);
  for (const char* name : {"ddim", "pndm", "dpmpp_2m", "unipc", "lms", "heun"})
    EXPECT_EQ(count(name, {}, 5), 0) << name;
}

TEST(SchedulerStep, LcmOneStepReturnsTheDenoisedPrediction) {
  auto s = make_scheduler("lcm", Config(sd_config(), "t"));
  s->set_timesteps(1);
  ASSERT_EQ(s->timesteps(), (std::vector<double>{999}));
  const Tensor x = Tensor::from_vector({1, 1, 1, 2}, {1.0f, -2.0f});
  const Tensor m = Tensor::from_vector({1, 1, 1, 2}, {0.5f, 0.25f});
  const NoiseFn no_noise = [](const Shape&) -> Tensor { throw std::runtime_error("drew noise"); };
  const Tensor y = s->step(m, 999, x, no_noise);
  const std::vector<float> ac = alphas_cumprod_of(*s);
  const double a = ac[999], st = 9990.0;
  const double c_skip = 0.25 / (st * st + 0.25), c_out = st / std::sqrt(st * st + 0.25);
  for (int i = 0; i < 2; ++i) {
    const double x0 = (x.data<float>()[i] - std::sqrt(1 - a) * m.data<float>()[i]) / std::sqrt(a);
    EXPECT_NEAR(y.data<float>()[i], c_out * x0 + c_skip * x.data<float>()[i], 1e-5 * std::fabs(x0));
  }
}

TEST(SchedulerStep, DdimIsDeterministicAndClipsX0) {
  // eta 0: two runs agree bit for bit; with clip_sample the final sample is clamp(x0).
  const Shape shape{1, 4, 2, 2};
  nlohmann::json j = sd_config();
  j["clip_sample"] = true;
  j["steps_offset"] = 0;
  const Tensor x0 = pattern(shape, 7, 3.0f), e0 = pattern(shape, 8, 1.0f);
  auto a = make_scheduler("ddim", Config(j, "t"));
  auto b = make_scheduler("ddim", Config(j, "t"));
  a->set_timesteps(1000);
  b->set_timesteps(1000);
  const Tensor ra = run_oracle(*a, x0, e0).final_sample, rb = run_oracle(*b, x0, e0).final_sample;
  for (int64_t i = 0; i < ra.numel(); ++i) {
    EXPECT_EQ(ra.data<float>()[i], rb.data<float>()[i]);
    EXPECT_NEAR(ra.data<float>()[i], std::clamp(x0.data<float>()[i], -1.0f, 1.0f), 1e-4);
  }
}

TEST(SchedulerStep, BatchItemsAreIndependent) {
  // Two identical batch items stay identical, also with per-item dynamic thresholding.
  for (const char* name : {"ddim", "dpmpp_2m", "unipc", "euler"}) {
    nlohmann::json j = sd_config();
    j["thresholding"] = true;
    auto s = make_scheduler(name, Config(j, "t"));
    s->set_timesteps(5);
    const Tensor one = pattern({1, 4, 3, 3}, 9, 2.0f);
    std::vector<float> v = one.to_vector();
    v.insert(v.end(), v.begin(), v.end());
    Tensor x = Tensor::from_vector({2, 4, 3, 3}, v);
    for (double t : s->timesteps()) {
      Tensor in = s->scale_model_input(x, t);
      x = s->step(in, t, x, [](const Shape& sh) { return Tensor::zeros(sh); });
    }
    for (int64_t i = 0; i < 36; ++i) EXPECT_EQ(x.data<float>()[i], x.data<float>()[36 + i]) << name;
  }
}

TEST(SchedulerStep, MisuseIsAnError) {
  auto e = make_scheduler("euler", Config(sd_config(), "t"));
  const Tensor x = Tensor::zeros({1, 4, 2, 2});
  EXPECT_THROW(e->step(x, 501, x, nullptr), Error);  // before set_timesteps
  e->set_timesteps(2);
  ASSERT_EQ(e->timesteps(), (std::vector<double>{501, 1}));
  EXPECT_THROW(e->scale_model_input(x, 900), InvalidArgument);  // not in the schedule
  EXPECT_THROW(e->step(Tensor::zeros({1, 4, 2, 3}), 501, x, nullptr), Error);  // shapes differ
  e->step(x, 501, x, nullptr);
  e->step(x, 1, x, nullptr);
  EXPECT_THROW(e->step(x, 1, x, nullptr), Error);  // past the end

  auto a = make_scheduler("euler_a", Config(sd_config(), "t"));
  a->set_timesteps(2);
  EXPECT_THROW(a->step(x, 501, x, nullptr), InvalidArgument);  // needs a noise source
  const NoiseFn wrong = [](const Shape&) { return Tensor::zeros({3}); };
  EXPECT_THROW(a->step(x, 501, x, wrong), Error);

  auto d = make_scheduler("ddim", Config(sd_config(), "t"));
  d->set_timesteps(10);
  EXPECT_THROW(d->step(x, 1000, x, nullptr), InvalidArgument);
  EXPECT_THROW(d->step(x, 12.5, x, nullptr), InvalidArgument);
  auto p = make_scheduler("pndm", Config(sd_config(), "t"));
  EXPECT_THROW(p->step(x, 1, x, nullptr), Error);
}

}  // namespace
}  // namespace sdfast
