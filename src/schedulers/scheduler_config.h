// Config keys shared by the schedulers: checked typed access with per-class defaults, and the
// training noise schedule (betas -> alphas_cumprod) computed with the dtypes Diffusers uses.
//
// Reference: huggingface/diffusers v0.26.3, src/diffusers/schedulers/scheduling_ddim.py
// (betas_for_alpha_bar, rescale_zero_terminal_snr, the beta_schedule branches of __init__).
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/json.h"

namespace sdfast::scheduling {

// A string key that must be one of `valid` (fallback when absent or null). The error names the
// key, the value and the valid values.
std::string config_choice(const Config& c, const std::string& key, const std::string& fallback,
                          std::span<const std::string_view> valid);
inline std::string config_choice(const Config& c, const std::string& key,
                                 const std::string& fallback,
                                 std::initializer_list<std::string_view> valid) {
  return config_choice(c, key, fallback,
                       std::span<const std::string_view>(valid.begin(), valid.size()));
}
// config_int (an integer key in [lo, hi]) is io/json.h's.
// A finite number in [lo, hi].
double config_number(const Config& c, const std::string& key, double fallback, double lo,
                     double hi);
// An optional finite number > 0 (sigma_min / sigma_max): NaN when absent or null.
double config_optional_positive(const Config& c, const std::string& key);

// "linspace", "leading", "trailing" (Table 2 of arXiv:2305.08891).
inline constexpr std::string_view kTimestepSpacings[] = {"linspace", "leading", "trailing"};

// The training noise schedule part of a scheduler config.
struct BetaSchedule {
  int num_train_timesteps = 1000;
  double beta_start = 0.0001;
  double beta_end = 0.02;
  std::string beta_schedule = "linear";
  std::vector<double> trained_betas;  // empty: use beta_schedule
  bool rescale_betas_zero_snr = false;
};

// Reads num_train_timesteps, beta_start, beta_end, beta_schedule (one of `schedules`),
// trained_betas and, where `has_rescale`, rescale_betas_zero_snr; `defaults` are the class
// defaults.
BetaSchedule parse_beta_schedule(const Config& c, const BetaSchedule& defaults,
                                 std::initializer_list<std::string_view> schedules,
                                 bool has_rescale);

// The keys of `s` as a Diffusers config (trained_betas null when unset).
nlohmann::json beta_schedule_json(const BetaSchedule& s, bool has_rescale);

// float32 betas exactly as torch builds them (linspace in float32, betas_for_alpha_bar in float64
// then cast, "sigmoid" and "exp" where the class offers them), rescaled for zero terminal SNR when
// asked. Throws when a beta falls outside [0, 1).
std::vector<float> make_betas(const BetaSchedule& s, const std::string& label);

// torch.cumprod(1 - betas): float32 values, accumulated in double as torch does on CPU.
std::vector<float> cumprod_alphas(const std::vector<float>& betas);

// ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5 in float32: the training sigmas, by timestep.
std::vector<float> train_sigmas(const std::vector<float>& alphas_cumprod);

}  // namespace sdfast::scheduling
