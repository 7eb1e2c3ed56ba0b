#include "schedulers/scheduler_config.h"

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "schedulers/scheduler_math.h"

namespace sdfast::scheduling {

namespace {

std::string join(std::span<const std::string_view> values) {
  std::string s;
  for (std::string_view v : values) s += (s.empty() ? "'" : ", '") + std::string(v) + "'";
  return s;
}

// betas_for_alpha_bar(num_diffusion_timesteps, max_beta=0.999, alpha_transform_type): float64
// arithmetic, then torch.tensor(..., dtype=float32).
std::vector<float> betas_for_alpha_bar(int n, bool cosine) {
  auto alpha_bar = [cosine](double t) {
    if (!cosine) return std::exp(t * -12.0);
    const double c = std::cos((t + 0.008) / 1.008 * std::numbers::pi / 2);
    return c * c;
  };
  std::vector<float> betas(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const double t1 = double(i) / n, t2 = double(i + 1) / n;
    betas[size_t(i)] = float(std::min(1 - alpha_bar(t2) / alpha_bar(t1), 0.999));
  }
  return betas;
}

// rescale_zero_terminal_snr (arXiv:2305.08891, Algorithm 1), float32 torch arithmetic.
std::vector<float> rescale_zero_terminal_snr(const std::vector<float>& betas) {
  std::vector<float> sqrt_bar = cumprod_alphas(betas);
  for (float& a : sqrt_bar) a = std::sqrt(a);
  const float a0 = sqrt_bar.front(), a_last = sqrt_bar.back();
  const float scale = a0 / (a0 - a_last);
  std::vector<float> bar(sqrt_bar.size());
  for (size_t i = 0; i < bar.size(); ++i) {
    const float s = (sqrt_bar[i] - a_last) * scale;
    bar[i] = s * s;
  }
  std::vector<float> out(bar.size());
  out[0] = 1.0f - bar[0];
  for (size_t i = 1; i < bar.size(); ++i) out[i] = 1.0f - bar[i] / bar[i - 1];
  return out;
}

}  // namespace

std::string config_choice(const Config& c, const std::string& key, const std::string& fallback,
                          std::span<const std::string_view> valid) {
  const std::string v = c.get<std::string>(key, fallback);
  for (std::string_view ok : valid)
    if (v == ok) return v;
  c.fail_key(key, "is '" + v + "'; valid values: " + join(valid));
}

double config_number(const Config& c, const std::string& key, double fallback, double lo,
                     double hi) {
  const double v = c.get<double>(key, fallback);
  if (!std::isfinite(v) || v < lo || v > hi)
    c.fail_key(key, str_cat("is ", v, "; it must be a finite number in [", lo, ", ", hi, "]"));
  return v;
}

double config_optional_positive(const Config& c, const std::string& key) {
  if (!c.has(key)) return NAN;
  const double v = c.get<double>(key);
  if (!std::isfinite(v) || v <= 0) c.fail_key(key, str_cat("is ", v, "; it must be > 0 or null"));
  return v;
}

BetaSchedule parse_beta_schedule(const Config& c, const BetaSchedule& defaults,
                                 std::initializer_list<std::string_view> schedules,
                                 bool has_rescale) {
  BetaSchedule s;
  s.num_train_timesteps =
      config_int(c, "num_train_timesteps", defaults.num_train_timesteps, 1, 100000);
  s.beta_start = config_number(c, "beta_start", defaults.beta_start, 0.0, 1.0);
  s.beta_end = config_number(c, "beta_end", defaults.beta_end, 0.0, 1.0);
  s.beta_schedule = config_choice(c, "beta_schedule", defaults.beta_schedule, schedules);
  s.trained_betas.clear();
  if (c.has("trained_betas")) {
    s.trained_betas = c.get<std::vector<double>>("trained_betas");
    if (int64_t(s.trained_betas.size()) != s.num_train_timesteps)
      c.fail_key("trained_betas",
                 str_cat("has ", s.trained_betas.size(), " values; num_train_timesteps is ",
                         s.num_train_timesteps));
  }
  if (has_rescale) s.rescale_betas_zero_snr = c.get<bool>("rescale_betas_zero_snr", false);
  // Validate the resulting betas once here, so that every error names the config.
  make_betas(s, c.label());
  return s;
}

nlohmann::json beta_schedule_json(const BetaSchedule& s, bool has_rescale) {
  nlohmann::json j;
  j["num_train_timesteps"] = s.num_train_timesteps;
  j["beta_start"] = s.beta_start;
  j["beta_end"] = s.beta_end;
  j["beta_schedule"] = s.beta_schedule;
  j["trained_betas"] = s.trained_betas.empty() ? nlohmann::json() : nlohmann::json(s.trained_betas);
  if (has_rescale) j["rescale_betas_zero_snr"] = s.rescale_betas_zero_snr;
  return j;
}

std::vector<float> make_betas(const BetaSchedule& s, const std::string& label) {
  const int n = s.num_train_timesteps;
  std::vector<float> betas;
  const char* origin = "trained_betas";
  if (!s.trained_betas.empty()) {
    for (double b : s.trained_betas) betas.push_back(float(b));
  } else {
    origin = "beta_schedule";
    if (s.beta_schedule == "linear") {
      betas = torch_linspace_f32(s.beta_start, s.beta_end, n);
    } else if (s.beta_schedule == "scaled_linear") {
      betas = torch_linspace_f32(std::sqrt(s.beta_start), std::sqrt(s.beta_end), n);
      for (float& b : betas) b = b * b;
    } else if (s.beta_schedule == "squaredcos_cap_v2") {
      betas = betas_for_alpha_bar(n, /*cosine=*/true);
    } else if (s.beta_schedule == "exp") {
      betas = betas_for_alpha_bar(n, /*cosine=*/false);
    } else if (s.beta_schedule == "sigmoid") {
      // GeoDiff: torch.sigmoid(torch.linspace(-6, 6, n)) * (beta_end - beta_start) + beta_start.
      const float range = float(s.beta_end - s.beta_start), start = float(s.beta_start);
      for (float x : torch_linspace_f32(-6.0, 6.0, n))
        betas.push_back(1.0f / (1.0f + std::exp(-x)) * range + start);
    } else {
      fail(label, ": \"beta_schedule\" '", s.beta_schedule, "' is not implemented");
    }
  }
  for (size_t i = 0; i < betas.size(); ++i)
    if (!(betas[i] >= 0.0f && betas[i] < 1.0f))
      fail(label, ": ", origin, " gives beta[", i, "] = ", betas[i],
           "; every beta must lie in [0, 1)");
  if (s.rescale_betas_zero_snr) betas = rescale_zero_terminal_snr(betas);
  return betas;
}

std::vector<float> cumprod_alphas(const std::vector<float>& betas) {
  std::vector<float> out(betas.size());
  double acc = 1.0;
  for (size_t i = 0; i < betas.size(); ++i) {
    acc *= double(1.0f - betas[i]);
    out[i] = float(acc);
  }
  return out;
}

std::vector<float> train_sigmas(const std::vector<float>& alphas_cumprod) {
  std::vector<float> s(alphas_cumprod.size());
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = std::sqrt((1.0f - alphas_cumprod[i]) / alphas_cumprod[i]);
  return s;
}

}  // namespace sdfast::scheduling
