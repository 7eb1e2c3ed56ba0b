// Schedulers: factory and config validation, and schedules checked against Diffusers' formulas
// worked out by hand (timesteps, sigmas, betas). The numerical paths are covered by the golden
// cases and by scheduler_oracle_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "io/json.h"
#include "schedulers/scheduler.h"
#include "schedulers/scheduler_config.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {
namespace {

using scheduling::cumprod_alphas;
using scheduling::make_betas;
using scheduling::parse_beta_schedule;
using scheduling::train_sigmas;

// The Stable Diffusion 1.x scheduler_config.json (PNDMScheduler).
nlohmann::json sd_config() {
  return nlohmann::json::parse(R"({
    "_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0",
    "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
    "num_train_timesteps": 1000, "set_alpha_to_one": false, "skip_prk_steps": true,
    "steps_offset": 1, "trained_betas": null, "clip_sample": false})");
}

std::unique_ptr<Scheduler> make(const std::string& name, nlohmann::json overrides = {}) {
  nlohmann::json j = sd_config();
  if (overrides.is_object())
    for (auto& [k, v] : overrides.items()) j[k] = v;
  return make_scheduler(name, Config(j, "test config"));
}

std::vector<double> timesteps(const std::string& name, int n, nlohmann::json overrides = {}) {
  auto s = make(name, std::move(overrides));
  s->set_timesteps(n);
  return s->timesteps();
}

// SD's training sigmas (scaled_linear 0.00085 .. 0.012).
std::vector<float> sd_sigmas() {
  scheduling::BetaSchedule b{1000, 0.00085, 0.012, "scaled_linear", {}, false};
  return train_sigmas(cumprod_alphas(make_betas(b, "test")));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(SchedulerFactory, BuildsEveryNameAndAlias) {
  const std::vector<std::string> names = scheduler_names();
  EXPECT_EQ(names.size(), 21u);
  for (const std::string& n : names) {
    auto s = make(n);
    ASSERT_NE(s, nullptr) << n;
    if (n.find("Scheduler") != std::string::npos) {
      EXPECT_EQ(s->class_name(), n);
    }
  }
  EXPECT_STREQ(make("euler_a")->class_name(), "EulerAncestralDiscreteScheduler");
  EXPECT_STREQ(make("dpmpp_2m_karras")->class_name(), "DPMSolverMultistepScheduler");
  EXPECT_STREQ(make("unipc")->class_name(), "UniPCMultistepScheduler");
}

TEST(SchedulerFactory, UnknownNameListsTheValidOnes) {
  EXPECT_THROW(make("euler-a"), InvalidArgument);
  const std::string msg = error_of([] { make("k_euler"); });
  EXPECT_NE(msg.find("'k_euler'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("DPMSolverMultistepScheduler"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dpmpp_2m_karras"), std::string::npos) << msg;
}

TEST(SchedulerFactory, KarrasAliasUsesKarrasSigmas) {
  auto plain = make("dpmpp_2m");
  auto karras = make("dpmpp_2m_karras");
  plain->set_timesteps(10);
  karras->set_timesteps(10);
  const std::vector<float> train = sd_sigmas();
  // Karras: from the largest to the smallest training sigma, then 0.
  EXPECT_NEAR(karras->sigmas()[0], train.back(), 1e-5 * train.back());
  EXPECT_NEAR(karras->sigmas()[9], train.front(), 1e-6);
  EXPECT_EQ(karras->sigmas()[10], 0.0);
  EXPECT_EQ(karras->timesteps().front(), 999);
  EXPECT_EQ(karras->timesteps().back(), 0);
  // The plain schedule interpolates at the leading timesteps 901, 811, ... (sigma at 901 < max).
  EXPECT_EQ(plain->timesteps().front(), 901);
  EXPECT_NEAR(plain->sigmas()[0], train[901], 1e-6 * train[901]);
}

TEST(SchedulerConfig, ErrorsNameKeyValueAndValidValues) {
  struct Bad {
    const char* scheduler;
    nlohmann::json override_;
    std::vector<std::string> expect;
  };
  const std::vector<Bad> cases = {
      {"DDIMScheduler",
       {{"beta_schedule", "cosine"}},
       {"beta_schedule", "'cosine'", "'scaled_linear'"}},
      {"euler", {{"prediction_type", "x0"}}, {"prediction_type", "'x0'", "'v_prediction'"}},
      {"ddpm", {{"timestep_spacing", "uniform"}}, {"timestep_spacing", "'uniform'", "'trailing'"}},
      {"dpmpp_2m", {{"algorithm_type", "dpm2"}}, {"algorithm_type", "'dpm2'", "'sde-dpmsolver++'"}},
      {"dpmpp_2m", {{"solver_order", 4}}, {"solver_order", "4", "between 1 and 3"}},
      {"unipc", {{"solver_order", 0}}, {"solver_order", "0"}},
      {"lms", {{"num_train_timesteps", 0}}, {"num_train_timesteps", "0"}},
      {"heun", {{"num_train_timesteps", 1.5}}, {"num_train_timesteps"}},
      {"ddim", {{"trained_betas", {0.1, 0.2}}}, {"trained_betas", "2", "1000"}},
      {"ddim", {{"steps_offset", -1}}, {"steps_offset", "-1"}},
      {"ddim", {{"beta_end", 1.5}}, {"beta_end", "1.5"}},
      {"euler",
       {{"interpolation_type", "cubic"}},
       {"interpolation_type", "'cubic'", "'log_linear'"}},
      {"euler_a", {{"prediction_type", "sample"}}, {"prediction_type", "'sample'", "'epsilon'"}},
      {"pndm", {{"prediction_type", "sample"}}, {"prediction_type", "'sample'"}},
      {"ddpm", {{"variance_type", "learned"}}, {"variance_type", "'learned'", "'fixed_small'"}},
      {"dpmpp_2m",
       {{"algorithm_type", "dpmsolver"}},
       {"final_sigmas_type", "'zero'", "'sigma_min'"}},
      {"dpmpp_2m", {{"algorithm_type", "sde-dpmsolver++"}, {"solver_order", 3}}, {"solver_order"}},
      {"dpmpp_2m", {{"variance_type", "learned_range"}}, {"variance_type"}},
      {"lcm", {{"original_inference_steps", 0}}, {"original_inference_steps", "0"}},
      {"unipc", {{"solver_type", "bh3"}}, {"solver_type", "'bh3'", "'bh2'"}},
      {"ddim", {{"dynamic_thresholding_ratio", 1.5}}, {"dynamic_thresholding_ratio"}},
      {"ddim", {{"clip_sample", "yes"}}, {"clip_sample"}},
  };
  for (const Bad& b : cases) {
    const std::string msg = error_of([&] { make(b.scheduler, b.override_); });
    ASSERT_FALSE(msg.empty()) << b.scheduler << " " << b.override_.dump();
    EXPECT_NE(msg.find("test config"), std::string::npos) << msg;
    for (const std::string& e : b.expect) EXPECT_NE(msg.find(e), std::string::npos) << msg;
  }
  // Config errors are Error, not InvalidArgument (they are the model's fault, not the request's).
  try {
    make("ddim", {{"beta_schedule", "cosine"}});
    FAIL();
  } catch (const InvalidArgument&) {
    FAIL() << "expected Error";
  } catch (const Error&) {
  }
}

TEST(SchedulerConfig, TheModelsClassDefaultsFillMissingKeys) {
  // SD's PNDM config has no timestep_spacing: PNDM's default "leading" carries over to Euler and
  // DPM-Solver, whose own defaults are "linspace" (as with from_config(pipe.scheduler.config)).
  EXPECT_EQ(make("euler")->config_json()["timestep_spacing"], "leading");
  EXPECT_EQ(make("dpmpp_2m")->config_json()["timestep_spacing"], "leading");
  nlohmann::json bare = sd_config();
  bare.erase("_class_name");
  EXPECT_EQ(make_scheduler("euler", Config(bare, "t"))->config_json()["timestep_spacing"],
            "linspace");
  // Keys in the file win; the target's own defaults fill what neither has.
  auto ddim = make("ddim");
  EXPECT_EQ(ddim->config_json()["set_alpha_to_one"], false);
  EXPECT_EQ(ddim->config_json()["steps_offset"], 1);
  EXPECT_EQ(ddim->config_json()["clip_sample"], false);
  EXPECT_EQ(ddim->config_json()["thresholding"], false);
  EXPECT_EQ(make("dpmpp_2m_karras")->config_json()["use_karras_sigmas"], true);
  EXPECT_EQ(make("dpmpp_2m")->config_json()["use_karras_sigmas"], false);
}

TEST(SchedulerConfig, UnknownKeysAreIgnoredAndDeprecatedValuesMapped) {
  auto s = make("dpmpp_2m", {{"some_future_key", 3},
                             {"algorithm_type", "deis"},
                             {"solver_type", "bh2"},
                             {"lambda_min_clipped", -INFINITY}});
  s->set_timesteps(5);
  EXPECT_EQ(s->timesteps().size(), 5u);
  auto u = make("unipc", {{"solver_type", "midpoint"}, {"disable_corrector", {0, 2}}});
  u->set_timesteps(5);
  EXPECT_EQ(u->timesteps().size(), 5u);
}

TEST(SchedulerSetTimesteps, RejectsBadCounts) {
  for (const std::string& n : scheduler_names()) {
    auto s = make(n);
    EXPECT_THROW(s->set_timesteps(0), InvalidArgument) << n;
    EXPECT_THROW(s->set_timesteps(-3), InvalidArgument) << n;
    EXPECT_THROW(s->set_timesteps(1001), InvalidArgument) << n;
  }
  // leading + steps_offset 1 with 1000 steps reaches timestep 1000 (Diffusers: index error).
  EXPECT_THROW(make("ddim")->set_timesteps(1000), InvalidArgument);
  EXPECT_NO_THROW(make("ddim", {{"steps_offset", 0}})->set_timesteps(1000));
  // PRK warm-up needs 4 steps; LCM at most original_inference_steps.
  EXPECT_THROW(make("pndm", {{"skip_prk_steps", false}})->set_timesteps(3), InvalidArgument);
  EXPECT_THROW(make("lcm")->set_timesteps(51), InvalidArgument);
  EXPECT_NO_THROW(make("lcm")->set_timesteps(50));
}

TEST(SchedulerTimesteps, DiscreteSpacingsMatchDiffusersFormulas) {
  // leading: arange(n) * (1000 // n) + steps_offset, descending.
  EXPECT_EQ(timesteps("ddim", 10),
            (std::vector<double>{901, 801, 701, 601, 501, 401, 301, 201, 101, 1}));
  EXPECT_EQ(timesteps("ddim", 3), (std::vector<double>{667, 334, 1}));
  // trailing: round(arange(1000, 0, -1000/n)) - 1.
  EXPECT_EQ(timesteps("ddim", 3, {{"timestep_spacing", "trailing"}}),
            (std::vector<double>{999, 666, 332}));
  EXPECT_EQ(timesteps("ddpm", 4, {{"timestep_spacing", "trailing"}}),
            (std::vector<double>{999, 749, 499, 249}));
  // linspace: round(linspace(0, 999, n)), descending.
  EXPECT_EQ(timesteps("ddim", 4, {{"timestep_spacing", "linspace"}}),
            (std::vector<double>{999, 666, 333, 0}));
  EXPECT_EQ(timesteps("ddim", 1), (std::vector<double>{1}));
  EXPECT_EQ(timesteps("ddim", 1, {{"timestep_spacing", "trailing"}}), (std::vector<double>{999}));
}

TEST(SchedulerTimesteps, SigmaSchedulersKeepFloat32Timesteps) {
  EXPECT_EQ(timesteps("euler", 3, {{"timestep_spacing", "linspace"}}),
            (std::vector<double>{999, 499.5, 0}));
  EXPECT_EQ(timesteps("lms", 2, {{"timestep_spacing", "trailing"}}),
            (std::vector<double>{999, 499}));
  EXPECT_EQ(timesteps("euler_a", 4), (std::vector<double>{751, 501, 251, 1}));
  // 7 steps of linspace: 999 * i / 6 rounded to float32.
  const std::vector<double> t = timesteps("euler", 7, {{"timestep_spacing", "linspace"}});
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[1], double(float(999.0 * 5 / 6)));
}

TEST(SchedulerTimesteps, MultistepSolversUseNPlusOnePoints) {
  // leading: arange(n + 1) * (1000 // (n + 1)), last dropped, + steps_offset.
  std::vector<double> want;
  for (int i = 10; i >= 1; --i) want.push_back(i * 90 + 1);
  EXPECT_EQ(timesteps("dpmpp_2m", 10), want);
  EXPECT_EQ(timesteps("unipc", 10), want);
  // linspace: round(linspace(0, 999, n + 1)), last dropped (499.5 rounds to even: 500).
  EXPECT_EQ(timesteps("dpmpp_2m", 10, {{"timestep_spacing", "linspace"}}),
            (std::vector<double>{999, 899, 799, 699, 599, 500, 400, 300, 200, 100}));
  EXPECT_EQ(timesteps("unipc", 4, {{"timestep_spacing", "trailing"}}),
            (std::vector<double>{999, 749, 499, 249}));
}

TEST(SchedulerTimesteps, PndmPrkWarmupAndPlms) {
  // skip_prk_steps: the first timestep is evaluated twice.
  EXPECT_EQ(timesteps("pndm", 5), (std::vector<double>{801, 601, 601, 401, 201, 1}));
  // PRK: the 4 largest timesteps with their midpoints (1000 // 10 // 2 = 50), then PLMS.
  EXPECT_EQ(timesteps("pndm", 10, {{"skip_prk_steps", false}}),
            (std::vector<double>{901, 851, 851, 801, 801, 751, 751, 701, 701, 651, 651, 601, 601,
                                 501, 401, 301, 201, 101, 1}));
  EXPECT_EQ(timesteps("pndm", 4, {{"skip_prk_steps", false}}),
            (std::vector<double>{751, 626, 626, 501, 501, 376, 376, 251, 251, 126, 126, 1, 1}));
}

TEST(SchedulerTimesteps, HeunRepeatsEachTimestepAfterTheFirst) {
  auto s = make("heun", {{"timestep_spacing", "linspace"}});
  s->set_timesteps(3);
  EXPECT_EQ(s->timesteps(), (std::vector<double>{999, 499.5, 499.5, 0, 0}));
  ASSERT_EQ(s->sigmas().size(), 6u);
  EXPECT_EQ(s->sigmas()[1], s->sigmas()[2]);
  EXPECT_EQ(s->sigmas()[3], s->sigmas()[4]);
  EXPECT_EQ(s->sigmas()[5], 0.0);
  EXPECT_EQ(s->order(), 2);
}

TEST(SchedulerTimesteps, LcmTakesEvenlySpacedDistillationSteps) {
  // Distillation schedule 20 * (1..50) - 1; indices floor(linspace(0, 50, n, endpoint=False)).
  EXPECT_EQ(timesteps("lcm", 4), (std::vector<double>{999, 759, 499, 259}));
  EXPECT_EQ(timesteps("lcm", 2), (std::vector<double>{999, 499}));
  EXPECT_EQ(timesteps("lcm", 1), (std::vector<double>{999}));
  EXPECT_EQ(timesteps("lcm", 3, {{"original_inference_steps", 4}}),
            (std::vector<double>{999, 749, 499}));
}

TEST(SchedulerSigmas, EulerFamilyInterpolatesTrainingSigmas) {
  const std::vector<float> train = sd_sigmas();
  auto s = make("euler", {{"timestep_spacing", "linspace"}});
  s->set_timesteps(3);
  ASSERT_EQ(s->sigmas().size(), 4u);
  EXPECT_EQ(s->sigmas()[0], train[999]);
  EXPECT_EQ(s->sigmas()[1], double(float((double(train[499]) + train[500]) / 2)));
  EXPECT_EQ(s->sigmas()[2], train[0]);
  EXPECT_EQ(s->sigmas()[3], 0.0);
  // linspace/trailing start at sigma_max; leading at (sigma_max^2 + 1)^0.5.
  EXPECT_FLOAT_EQ(float(s->init_noise_sigma()), train[999]);
  EXPECT_NEAR(train[999], 14.6146, 1e-4);
  auto lead = make("euler");
  lead->set_timesteps(10);
  EXPECT_FLOAT_EQ(float(lead->init_noise_sigma()), std::sqrt(train[901] * train[901] + 1.0f));
  EXPECT_EQ(make("ddim")->init_noise_sigma(), 1.0);
}

TEST(SchedulerSigmas, KarrasEndpointsAndMonotone) {
  const std::vector<float> train = sd_sigmas();
  for (const char* name : {"euler", "heun", "lms", "dpmpp_2m", "unipc"}) {
    // (One linspace step is timestep 0 for the Euler family, so its Karras range is empty.)
    for (int n : {2, 7, 25}) {
      auto s = make(name, {{"use_karras_sigmas", true}, {"timestep_spacing", "linspace"}});
      s->set_timesteps(n);
      const std::vector<double>& sig = s->sigmas();
      EXPECT_NEAR(sig[0], train[999], 1e-5 * train[999]) << name << " " << n;
      for (size_t i = 1; i < sig.size(); ++i) EXPECT_LE(sig[i], sig[i - 1]) << name << " " << i;
      const size_t last = std::string(name) == "heun" ? size_t(2 * n - 2) : size_t(n - 1);
      EXPECT_NEAR(sig[last], train[0], 1e-6) << name;
    }
  }
  auto one = make("dpmpp_2m_karras");
  one->set_timesteps(1);
  EXPECT_NEAR(one->sigmas()[0], train[999], 1e-5 * train[999]);
  // Karras timesteps are the fractional training timesteps of the sigmas (rounded for DPM).
  auto e = make("euler", {{"use_karras_sigmas", true}});
  e->set_timesteps(5);
  EXPECT_NEAR(e->timesteps().front(), 801, 1e-3);  // sigma_max of the leading schedule
  EXPECT_NEAR(e->timesteps().back(), 1, 1e-3);
  EXPECT_NE(e->timesteps()[2], std::round(e->timesteps()[2]));
}

TEST(SchedulerSigmas, SigmasNeverIncrease) {
  for (const char* spacing : {"linspace", "leading", "trailing"})
    for (const char* name : {"euler", "euler_a", "lms", "heun", "dpmpp_2m", "unipc"})
      for (int n : {1, 2, 3, 4, 7, 25, 50, 100, 1000}) {
        auto s = make(name, {{"timestep_spacing", spacing}, {"steps_offset", 0}});
        s->set_timesteps(n);
        const std::vector<double>& sig = s->sigmas();
        for (size_t i = 1; i < sig.size(); ++i)
          ASSERT_LE(sig[i], sig[i - 1]) << name << " " << spacing << " " << n << " " << i;
      }
}

TEST(SchedulerSigmas, DpmFinalSigmaAndLogLinearEuler) {
  const std::vector<float> train = sd_sigmas();
  auto s = make("dpmpp_2m", {{"final_sigmas_type", "sigma_min"}});
  s->set_timesteps(4);
  EXPECT_EQ(s->sigmas().back(), train[0]);
  auto u = make("unipc");
  u->set_timesteps(4);
  EXPECT_EQ(u->sigmas().back(), train[0]);
  // log_linear: n + 1 log-spaced sigmas from the largest to the smallest, then 0.
  auto e = make("euler", {{"interpolation_type", "log_linear"}});
  e->set_timesteps(4);
  ASSERT_EQ(e->sigmas().size(), 6u);
  EXPECT_NEAR(e->sigmas()[0], train[999], 1e-5);
  EXPECT_NEAR(e->sigmas()[4], train[0], 1e-6);
  EXPECT_NEAR(std::log(e->sigmas()[1] / e->sigmas()[0]), std::log(e->sigmas()[2] / e->sigmas()[1]),
              1e-5);
}

TEST(SchedulerBetas, SchedulesMatchTheirDefinitions) {
  scheduling::BetaSchedule lin{1000, 0.0001, 0.02, "linear", {}, false};
  std::vector<float> b = make_betas(lin, "t");
  EXPECT_EQ(b.front(), 0.0001f);
  EXPECT_EQ(b.back(), 0.02f);
  EXPECT_NEAR(b[500], 0.0001 + 500 * (0.02 - 0.0001) / 999, 1e-9);
  scheduling::BetaSchedule sl{1000, 0.00085, 0.012, "scaled_linear", {}, false};
  b = make_betas(sl, "t");
  EXPECT_EQ(b.front(), float(std::sqrt(0.00085)) * float(std::sqrt(0.00085)));
  EXPECT_EQ(b.back(), float(std::sqrt(0.012)) * float(std::sqrt(0.012)));
  scheduling::BetaSchedule cos{1000, 0.0001, 0.02, "squaredcos_cap_v2", {}, false};
  b = make_betas(cos, "t");
  auto abar = [](double t) {
    const double c = std::cos((t + 0.008) / 1.008 * std::numbers::pi / 2);
    return c * c;
  };
  EXPECT_EQ(b[0], float(1 - abar(0.001) / abar(0)));
  EXPECT_EQ(b[999], 0.999f);  // capped
  // Zero terminal SNR: the last alphas_cumprod is 0, the first is kept.
  sl.rescale_betas_zero_snr = true;
  const std::vector<float> ac = cumprod_alphas(make_betas(sl, "t"));
  EXPECT_EQ(ac.back(), 0.0f);
  EXPECT_NEAR(ac.front(), 1 - 0.00085, 1e-6);
  // trained_betas are used as given.
  const nlohmann::json j = {{"num_train_timesteps", 3}, {"trained_betas", {0.1, 0.2, 0.3}}};
  const auto s = parse_beta_schedule(Config(j, "t"), {}, {"linear"}, false);
  EXPECT_EQ(make_betas(s, "t"), (std::vector<float>{0.1f, 0.2f, 0.3f}));
  EXPECT_EQ(cumprod_alphas({0.5f, 0.5f}), (std::vector<float>{0.5f, 0.25f}));
}

TEST(SchedulerMath, NumpyEmulation) {
  using namespace scheduling;
  EXPECT_EQ(np_linspace(0, 1, 5), (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(np_linspace(0, 50, 4, false), (std::vector<double>{0, 12.5, 25, 37.5}));
  EXPECT_EQ(np_linspace(3, 7, 1), (std::vector<double>{3}));
  EXPECT_EQ(np_arange(1000, 0, -1000.0 / 3).size(), 3u);
  EXPECT_EQ(np_arange(10, 0, -2.5), (std::vector<double>{10, 7.5, 5, 2.5}));
  EXPECT_EQ(np_round(0.5), 0);
  EXPECT_EQ(np_round(1.5), 2);
  EXPECT_EQ(np_round(2.5), 2);
  EXPECT_EQ(np_round(-1.5), -2);
  EXPECT_EQ(np_interp({0, 0.25, 2, 5, -1}, {1, 2, 4}), (std::vector<double>{1, 1.25, 4, 4, 1}));
  const std::vector<double> k = karras_sigmas(0.1, 10, 3);
  EXPECT_NEAR(k[0], 10, 1e-12);
  EXPECT_NEAR(k[2], 0.1, 1e-12);
  EXPECT_NEAR(k[1], std::pow((std::pow(10, 1 / 7.0) + std::pow(0.1, 1 / 7.0)) / 2, 7), 1e-12);
}

TEST(SchedulerMath, SigmaToTInvertsTheTrainingSigmas) {
  const std::vector<float> train = sd_sigmas();
  const std::vector<float> log_sigmas = scheduling::log_f32(train);
  for (int t : {0, 1, 250, 500, 998, 999})
    EXPECT_NEAR(scheduling::sigma_to_t(train[size_t(t)], log_sigmas), t, 1e-3) << t;
  // Log-linear between neighbours.
  const double mid = std::exp((std::log(train[300]) + std::log(train[301])) / 2);
  EXPECT_NEAR(scheduling::sigma_to_t(mid, log_sigmas), 300.5, 1e-3);
  // Clipped at both ends.
  EXPECT_EQ(scheduling::sigma_to_t(1e-6, log_sigmas), 0);
  EXPECT_EQ(scheduling::sigma_to_t(1e6, log_sigmas), 999);
}

TEST(SchedulerMath, ThresholdSamplePerBatchItem) {
  // Item 0: |x| = 0..8, quantile(0.5) = 4 -> clamp to [-4, 4] / 4 (max value 5 allows 4).
  // Item 1: all |x| <= 1, so s = 1 and the item is unchanged.
  std::vector<float> v;
  for (int i = 0; i < 9; ++i) v.push_back(i % 2 ? float(i) : -float(i));
  for (int i = 0; i < 9; ++i) v.push_back(0.1f * float(i));
  const Tensor x = Tensor::from_vector({2, 1, 3, 3}, v);
  const Tensor y = scheduling::threshold_sample(x, 0.5, 5.0);
  const float* p = y.data<float>();
  for (int i = 0; i < 9; ++i) EXPECT_FLOAT_EQ(p[i], std::clamp(v[size_t(i)], -4.0f, 4.0f) / 4.0f);
  for (int i = 9; i < 18; ++i) EXPECT_FLOAT_EQ(p[i], v[size_t(i)]);
  // sample_max_value caps s: s = 2.
  const Tensor z = scheduling::threshold_sample(x, 0.5, 2.0);
  EXPECT_FLOAT_EQ(z.data<float>()[8], -1.0f);
  EXPECT_FLOAT_EQ(z.data<float>()[1], 0.5f);
  // Linear interpolation between order statistics: ratio 0.9 of 0..8 -> 7.2.
  const Tensor w = scheduling::threshold_sample(x, 0.9, 100.0);
  EXPECT_FLOAT_EQ(w.data<float>()[8], -1.0f);
  EXPECT_FLOAT_EQ(w.data<float>()[7], 7.0f / 7.2f);
}

}  // namespace
}  // namespace sdfast

namespace sdfast {
namespace {

// add_noise (img2img's start latents, inpainting's known region) on every scheduler, by the three
// forms Diffusers uses: sqrt(a) x + sqrt(1 - a) n (a from the schedule: the two coefficients are a
// unit vector that turns towards noise as t grows), x + sigma n with the scheduler's own sigma for
// that step, and alpha_t x + sigma_t n of that sigma (alpha_t^2 + sigma_t^2 = 1, sigma_t / alpha_t =
// sigma).
TEST(SchedulerAddNoise, EverySchedulerNoisesByItsOwnSchedule) {
  const Tensor zero = Tensor::zeros({1, 4, 2, 2}), one = Tensor::full({1, 4, 2, 2}, 1.0f);
  for (const char* name : {"DDIMScheduler", "DDPMScheduler", "PNDMScheduler", "LCMScheduler",
                           "EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler", "LMSDiscreteScheduler",
                           "HeunDiscreteScheduler", "DPMSolverMultistepScheduler", "UniPCMultistepScheduler"}) {
    auto s = make(name);
    s->set_timesteps(10);
    const std::vector<double> ts = s->timesteps();
    const std::string cls = name;
    double last_noise = 0;
    for (size_t i = 0; i < ts.size(); i += 2) {
      const int index = scheduling::index_for_timestep(ts, ts[i]);
      const float keep = s->add_noise(one, zero, ts[i]).data<float>()[5];
      const float noise = s->add_noise(zero, one, ts[i]).data<float>()[5];
      if (cls == "EulerDiscreteScheduler" || cls == "EulerAncestralDiscreteScheduler" ||
          cls == "LMSDiscreteScheduler" || cls == "HeunDiscreteScheduler") {
        EXPECT_EQ(keep, 1.0f) << name;
        EXPECT_EQ(noise, float(s->sigmas()[size_t(index)])) << name << " t=" << ts[i];
      } else {
        EXPECT_NEAR(double(keep) * keep + double(noise) * noise, 1.0, 1e-5) << name << " t=" << ts[i];
        if (cls == "DPMSolverMultistepScheduler" || cls == "UniPCMultistepScheduler")
          EXPECT_NEAR(noise / keep, s->sigmas()[size_t(index)], 1e-4 * s->sigmas()[size_t(index)]) << name;
      }
      if (i > 0) EXPECT_LE(noise, last_noise) << name << ": the noise level must fall along the schedule";
      last_noise = noise;
    }
    EXPECT_THROW(s->add_noise(one, Tensor::zeros({1, 4, 2, 3}), ts[0]), InvalidArgument) << name;
  }
  auto euler = make("EulerDiscreteScheduler");
  euler->set_timesteps(10);
  EXPECT_THROW(euler->add_noise(one, one, 12345.5), InvalidArgument);  // not in the schedule
}

}  // namespace
}  // namespace sdfast
