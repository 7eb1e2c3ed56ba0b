#include "schedulers/pndm_scheduler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "schedulers/scheduler_math.h"

namespace sdfast {

using namespace scheduling;

PNDMSchedulerConfig PNDMSchedulerConfig::parse(const Config& c) {
  PNDMSchedulerConfig s;
  s.betas = parse_beta_schedule(c, {}, {"linear", "scaled_linear", "squaredcos_cap_v2"}, false);
  s.skip_prk_steps = c.get<bool>("skip_prk_steps", s.skip_prk_steps);
  s.set_alpha_to_one = c.get<bool>("set_alpha_to_one", s.set_alpha_to_one);
  s.prediction_type =
      config_choice(c, "prediction_type", s.prediction_type, {"epsilon", "v_prediction"});
  s.timestep_spacing = config_choice(c, "timestep_spacing", s.timestep_spacing, kTimestepSpacings);
  s.steps_offset = config_int(c, "steps_offset", s.steps_offset, 0, 1000000);
  return s;
}

nlohmann::json PNDMSchedulerConfig::to_json() const {
  nlohmann::json j = beta_schedule_json(betas, false);
  j["skip_prk_steps"] = skip_prk_steps;
  j["set_alpha_to_one"] = set_alpha_to_one;
  j["prediction_type"] = prediction_type;
  j["timestep_spacing"] = timestep_spacing;
  j["steps_offset"] = steps_offset;
  return j;
}

PNDMScheduler::PNDMScheduler(PNDMSchedulerConfig config) : config_(std::move(config)) {
  alphas_cumprod_ = cumprod_alphas(make_betas(config_.betas, class_name()));
  final_alpha_cumprod_ = config_.set_alpha_to_one ? 1.0f : alphas_cumprod_[0];
  num_train_timesteps_ = config_.betas.num_train_timesteps;
  prediction_type_ = config_.prediction_type;
}

void PNDMScheduler::set_timesteps(int n) {
  const int T = check_steps(n);
  if (!config_.skip_prk_steps && n < 4)
    fail_argument(
        "PNDMScheduler: the Runge-Kutta warm-up (skip_prk_steps false) needs at least 4 "
        "steps, got ",
        n);
  // The ascending base schedule `_timesteps`.
  std::vector<int64_t> base;
  for (double v : spaced_timesteps(config_.timestep_spacing, T, n, config_.steps_offset, true))
    base.insert(base.begin(), int64_t(v));

  std::vector<int64_t> prk, plms;
  if (config_.skip_prk_steps) {
    // PLMS only (crowsonkb's sampler): [t_0 .. t_{n-2}, t_{n-2}, t_{n-1}] reversed, so the first
    // timestep is evaluated twice.
    plms.assign(base.begin(), base.end() - 1);
    if (base.size() >= 2) plms.push_back(base[base.size() - 2]);
    plms.push_back(base.back());
    std::reverse(plms.begin(), plms.end());
  } else {
    // prk = (last 4 of base, each followed by itself + T//n//2)[:-1].repeat(2)[1:-1], reversed.
    const int64_t half = T / n / 2;
    std::vector<int64_t> pairs;
    for (size_t i = base.size() - 4; i < base.size(); ++i) {
      pairs.push_back(base[i]);
      pairs.push_back(base[i] + half);
    }
    pairs.pop_back();
    std::vector<int64_t> doubled;
    for (int64_t v : pairs) doubled.insert(doubled.end(), {v, v});
    prk.assign(doubled.begin() + 1, doubled.end() - 1);
    std::reverse(prk.begin(), prk.end());
    plms.assign(base.begin(), base.end() - 3);
    std::reverse(plms.begin(), plms.end());
  }
  std::vector<double> t;
  for (int64_t v : prk) t.push_back(double(v));
  for (int64_t v : plms) t.push_back(double(v));
  for (double v : t)
    if (v < 0 || v >= T)
      fail_argument("PNDMScheduler: ", n, " steps with timestep_spacing '",
                    config_.timestep_spacing, "' and steps_offset ", config_.steps_offset,
                    " give timestep ", v, ", outside [0, ", T, ")");
  timesteps_ = std::move(t);
  prk_timesteps_ = std::move(prk);
  num_inference_steps_ = n;
  counter_ = 0;
  ets_.clear();
  cur_model_output_ = Tensor();
  cur_sample_ = Tensor();
}

Tensor PNDMScheduler::step(const Tensor& model_output, double timestep, const Tensor& sample,
                           const NoiseFn& noise) {
  check_step_inputs(class_name(), model_output, sample);
  if (num_inference_steps_ == 0) fail("PNDMScheduler.step: call set_timesteps first");
  const int64_t t = train_index(class_name(), timestep, num_train_timesteps_);
  if (counter_ < int(prk_timesteps_.size()) && !config_.skip_prk_steps)
    return step_prk(model_output, t, sample);
  return step_plms(model_output, t, sample);
}

Tensor PNDMScheduler::step_prk(const Tensor& model_output, int64_t timestep, const Tensor& sample) {
  const int64_t diff_to_prev = counter_ % 2 ? 0 : num_train_timesteps_ / num_inference_steps_ / 2;
  const int64_t prev_t = timestep - diff_to_prev;
  const int64_t t = prk_timesteps_[size_t(counter_ / 4 * 4)];

  auto accumulate = [this](float w, const Tensor& m) {
    cur_model_output_ =
        cur_model_output_.defined()
            ? elementwise([w](float acc, float v) { return acc + w * v; }, cur_model_output_, m)
            : elementwise([w](float v) { return 0.0f + w * v; }, m);
  };
  Tensor combined = model_output;
  if (counter_ % 4 == 0) {
    accumulate(float(1.0 / 6), model_output);
    ets_.push_back(model_output);
    cur_sample_ = sample;
  } else if ((counter_ - 1) % 4 == 0 || (counter_ - 2) % 4 == 0) {
    accumulate(float(1.0 / 3), model_output);
  } else {
    const float w = float(1.0 / 6);
    combined = elementwise([w](float acc, float v) { return acc + w * v; }, cur_model_output_,
                           model_output);
    cur_model_output_ = Tensor();
  }
  const Tensor& cur = cur_sample_.defined() ? cur_sample_ : sample;
  Tensor prev = prev_sample(cur, t, prev_t, combined);
  ++counter_;
  return prev;
}

Tensor PNDMScheduler::step_plms(const Tensor& model_output, int64_t timestep,
                                const Tensor& sample) {
  if (!config_.skip_prk_steps && ets_.size() < 3)
    fail("PNDMScheduler: PLMS steps need the 12 Runge-Kutta warm-up steps first");
  const int64_t stride = num_train_timesteps_ / num_inference_steps_;
  int64_t t = timestep, prev_t = timestep - stride;
  if (counter_ != 1) {
    if (ets_.size() > 3) ets_.erase(ets_.begin(), ets_.end() - 3);
    ets_.push_back(model_output);
  } else {
    prev_t = timestep;
    t = timestep + stride;
  }
  if (t >= num_train_timesteps_)
    fail_argument("PNDMScheduler: timestep ", t, " is outside [0, ", num_train_timesteps_, ")");

  Tensor combined;
  Tensor x = sample;
  const size_t n = ets_.size();
  if (n == 1 && counter_ == 0) {
    combined = model_output;
    cur_sample_ = sample;
  } else if (n == 1 && counter_ == 1) {
    combined = elementwise([](float m, float e) { return (m + e) / 2.0f; }, model_output, ets_[0]);
    x = cur_sample_;
    cur_sample_ = Tensor();
  } else if (n == 2) {
    combined =
        elementwise([](float e1, float e2) { return (3.0f * e1 - e2) / 2.0f; }, ets_[1], ets_[0]);
  } else if (n == 3) {
    combined = elementwise(
        [](float e1, float e2, float e3) { return (23.0f * e1 - 16.0f * e2 + 5.0f * e3) / 12.0f; },
        ets_[2], ets_[1], ets_[0]);
  } else {
    const float w = float(1.0 / 24);
    combined = elementwise(
        [w](float e1, float e2, float e3, float e4) {
          return w * (55.0f * e1 - 59.0f * e2 + 37.0f * e3 - 9.0f * e4);
        },
        ets_[3], ets_[2], ets_[1], ets_[0]);
  }
  Tensor prev = prev_sample(x, t, prev_t, combined);
  ++counter_;
  return prev;
}

Tensor PNDMScheduler::prev_sample(const Tensor& sample, int64_t t, int64_t prev_t,
                                  const Tensor& model_output) const {
  const float alpha_t = alphas_cumprod_[size_t(t)];
  const float alpha_prev = prev_t >= 0 ? alphas_cumprod_[size_t(prev_t)] : final_alpha_cumprod_;
  const float beta_t = 1.0f - alpha_t, beta_prev = 1.0f - alpha_prev;
  Tensor eps = model_output;
  if (config_.prediction_type == "v_prediction") {
    const float sa = std::sqrt(alpha_t), sb = std::sqrt(beta_t);
    eps = elementwise([&](float m, float s) { return sa * m + sb * s; }, model_output, sample);
  }
  const float sample_coeff = std::sqrt(alpha_prev / alpha_t);
  const float denom = alpha_t * std::sqrt(beta_prev) + std::sqrt(alpha_t * beta_t * alpha_prev);
  const float diff = alpha_prev - alpha_t;
  return elementwise([&](float s, float e) { return sample_coeff * s - diff * e / denom; }, sample,
                     eps);
}

Tensor PNDMScheduler::add_noise(const Tensor& original, const Tensor& noise, double timestep) const {
  return scheduling::add_noise_alphas_cumprod(class_name(), alphas_cumprod_, original, noise, timestep);
}

}  // namespace sdfast
