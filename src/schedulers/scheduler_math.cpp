#include "schedulers/scheduler_math.h"

#include <algorithm>
#include <cmath>

namespace sdfast::scheduling {

std::vector<double> np_linspace(double start, double stop, int64_t num, bool endpoint) {
  SDFAST_CHECK(num >= 0, "linspace: negative count ", num);
  std::vector<double> y(static_cast<size_t>(num));
  const int64_t div = endpoint ? num - 1 : num;
  const double delta = stop - start;
  if (div > 0) {
    const double step = delta / double(div);
    for (int64_t i = 0; i < num; ++i)
      y[size_t(i)] = step == 0 ? double(i) / double(div) * delta : double(i) * step;
  } else {
    for (int64_t i = 0; i < num; ++i) y[size_t(i)] = double(i) * delta;
  }
  for (double& v : y) v += start;
  if (endpoint && num > 1) y.back() = stop;
  return y;
}

std::vector<double> np_arange(double start, double stop, double step) {
  SDFAST_CHECK(step != 0 && std::isfinite(step), "arange: invalid step ", step);
  const double len_d = std::ceil((stop - start) / step);
  if (!(len_d > 0)) return {};
  SDFAST_CHECK(len_d < 1e8, "arange: too many values (", len_d, ")");
  const int64_t len = int64_t(len_d);
  std::vector<double> v(static_cast<size_t>(len));
  v[0] = start;
  if (len > 1) v[1] = start + step;
  const double delta = len > 1 ? v[1] - v[0] : step;
  for (int64_t i = 2; i < len; ++i) v[size_t(i)] = start + double(i) * delta;
  return v;
}

std::vector<float> torch_linspace_f32(double start_d, double end_d, int64_t steps) {
  SDFAST_CHECK(steps >= 1, "linspace: needs at least one value, got ", steps);
  const float start = float(start_d), end = float(end_d);
  if (steps == 1) return {start};
  const float step = (end - start) / float(steps - 1);
  const int64_t halfway = steps / 2;
  std::vector<float> v(static_cast<size_t>(steps));
  for (int64_t i = 0; i < steps; ++i)
    v[size_t(i)] = i < halfway ? start + step * float(i) : end - step * float(steps - i - 1);
  return v;
}

double np_round(double x) { return std::nearbyint(x); }

std::vector<double> np_interp(const std::vector<double>& x, const std::vector<float>& fp) {
  SDFAST_CHECK(!fp.empty(), "interp: empty table");
  const int64_t n = int64_t(fp.size());
  std::vector<double> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double xv = x[i];
    if (std::isnan(xv)) {
      out[i] = xv;
    } else if (xv >= double(n - 1)) {
      out[i] = fp[size_t(n - 1)];
    } else if (xv < 0) {
      out[i] = fp[0];
    } else {
      const int64_t j = int64_t(std::floor(xv));
      if (xv == double(j)) {
        out[i] = fp[size_t(j)];
      } else {
        // xp is arange(n), so the slope's denominator is 1.
        const double y0 = fp[size_t(j)], y1 = fp[size_t(j + 1)];
        out[i] = (y1 - y0) * (xv - double(j)) + y0;
      }
    }
  }
  return out;
}

std::vector<float> log_f32(const std::vector<float>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = std::log(v[i]);
  return out;
}

std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int n) {
  const double rho = 7.0;
  const double min_inv_rho = std::pow(sigma_min, 1 / rho);
  const double max_inv_rho = std::pow(sigma_max, 1 / rho);
  std::vector<double> s = np_linspace(0, 1, n);
  for (double& r : s) r = std::pow(max_inv_rho + r * (min_inv_rho - max_inv_rho), rho);
  return s;
}

double sigma_to_t(double sigma, const std::vector<float>& log_sigmas) {
  const int64_t n = int64_t(log_sigmas.size());
  SDFAST_CHECK(n >= 2, "sigma_to_t: needs at least 2 training sigmas");
  const double log_sigma = std::log(std::max(sigma, 1e-10));
  // dists = log_sigma - log_sigmas[:, None] is float32 (numpy casts the float64 scalar down);
  // low_idx = argmax(cumsum(dists >= 0)), the first index reaching the largest count.
  const float log_sigma_f = float(log_sigma);
  int64_t count = 0, best = -1, low_idx = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (log_sigma_f - log_sigmas[size_t(i)] >= 0.0f) ++count;
    if (count > best) {
      best = count;
      low_idx = i;
    }
  }
  low_idx = std::min(low_idx, n - 2);
  const int64_t high_idx = low_idx + 1;
  const float low = log_sigmas[size_t(low_idx)], high = log_sigmas[size_t(high_idx)];
  double w = (double(low) - log_sigma) / double(low - high);
  w = std::clamp(w, 0.0, 1.0);
  return (1 - w) * double(low_idx) + w * double(high_idx);
}

int index_for_timestep(const std::vector<double>& timesteps, double timestep) {
  int first = -1;
  for (size_t i = 0; i < timesteps.size(); ++i) {
    if (timesteps[i] != timestep) continue;
    if (first >= 0) return int(i);
    first = int(i);
  }
  return first;
}

int first_step_index(const char* cls, const std::vector<double>& timesteps, double timestep) {
  if (timesteps.empty()) fail(cls, ": call set_timesteps before stepping");
  const int i = index_for_timestep(timesteps, timestep);
  if (i < 0) fail_argument(cls, ": timestep ", timestep, " is not in the schedule");
  return i;
}

double sigma_init_noise(const std::vector<double>& sigmas, const std::string& timestep_spacing) {
  if (sigmas.empty()) fail("init_noise_sigma: call set_timesteps first");
  float max_sigma = float(sigmas[0]);
  for (double s : sigmas) max_sigma = std::max(max_sigma, float(s));
  if (timestep_spacing == "linspace" || timestep_spacing == "trailing") return max_sigma;
  return std::sqrt(max_sigma * max_sigma + 1.0f);
}

Tensor scale_by_sigma(const Tensor& sample, float sigma) {
  SDFAST_CHECK(sample.dtype() == DType::F32, "scale_model_input: expected float32, got ",
               sample.describe());
  return divide(sample, std::sqrt(sigma * sigma + 1.0f));
}

Tensor sigma_denoised(const std::string& prediction_type, const Tensor& model_output,
                      const Tensor& sample, float sigma) {
  if (prediction_type == "epsilon")
    return elementwise([sigma](float s, float m) { return s - sigma * m; }, sample, model_output);
  if (prediction_type == "v_prediction") {
    const float c_out = -sigma / std::sqrt(sigma * sigma + 1.0f);
    const float c_in = sigma * sigma + 1.0f;
    return elementwise([=](float s, float m) { return m * c_out + s / c_in; }, sample,
                       model_output);
  }
  return model_output;  // "sample" / "original_sample"
}

int64_t train_index(const char* cls, double timestep, int num_train_timesteps) {
  if (!(timestep >= 0 && timestep < num_train_timesteps) || timestep != std::floor(timestep))
    fail_argument(cls, ": timestep ", timestep, " is not an integer in [0, ", num_train_timesteps,
                  ")");
  return int64_t(timestep);
}

namespace {

void check_add_noise_inputs(const char* cls, const Tensor& original, const Tensor& noise) {
  SDFAST_CHECK(original.defined() && noise.defined(), cls, ".add_noise: undefined tensor");
  if (original.dtype() != DType::F32 || noise.dtype() != DType::F32 || original.shape() != noise.shape())
    fail_argument(cls, ".add_noise: original ", shape_str(original.shape()), " and noise ",
                  shape_str(noise.shape()), " must be float32 tensors of one shape");
}

}  // namespace

Tensor add_noise_alphas_cumprod(const char* cls, const std::vector<float>& alphas_cumprod,
                                const Tensor& original, const Tensor& noise, double timestep) {
  check_add_noise_inputs(cls, original, noise);
  const float a = alphas_cumprod.at(size_t(train_index(cls, timestep, int(alphas_cumprod.size()))));
  const float sqrt_a = std::sqrt(a), sqrt_one_minus_a = std::sqrt(1.0f - a);
  return elementwise([=](float x, float n) { return sqrt_a * x + sqrt_one_minus_a * n; }, original, noise);
}

Tensor add_noise_sigma(const char* cls, const std::vector<double>& timesteps,
                       const std::vector<double>& sigmas, const Tensor& original, const Tensor& noise,
                       double timestep) {
  check_add_noise_inputs(cls, original, noise);
  const float sigma = float(sigmas.at(size_t(first_step_index(cls, timesteps, timestep))));
  return elementwise([=](float x, float n) { return x + n * sigma; }, original, noise);
}

Tensor add_noise_multistep(const char* cls, const std::vector<double>& timesteps,
                           const std::vector<double>& sigmas, const Tensor& original,
                           const Tensor& noise, double timestep) {
  check_add_noise_inputs(cls, original, noise);
  if (timesteps.empty()) fail(cls, ": call set_timesteps before add_noise");
  int i = index_for_timestep(timesteps, timestep);
  if (i < 0) i = int(timesteps.size()) - 1;
  const float sigma = float(sigmas.at(size_t(i)));
  const float alpha_t = 1.0f / std::sqrt(sigma * sigma + 1.0f), sigma_t = sigma * alpha_t;
  return elementwise([=](float x, float n) { return alpha_t * x + sigma_t * n; }, original, noise);
}

void check_step_inputs(const char* cls, const Tensor& model_output, const Tensor& sample) {
  SDFAST_CHECK(sample.defined() && model_output.defined(), cls, ".step: undefined tensor");
  SDFAST_CHECK(sample.dtype() == DType::F32 && model_output.dtype() == DType::F32, cls,
               ".step: expected float32 tensors, got model_output ", model_output.describe(),
               " and sample ", sample.describe());
  SDFAST_CHECK(model_output.shape() == sample.shape(), cls, ".step: model_output ",
               model_output.describe(), " does not match sample ", sample.describe());
  SDFAST_CHECK(sample.numel() > 0, cls, ".step: empty sample ", sample.describe());
}

Tensor draw_noise(const char* cls, const NoiseFn& noise, const Shape& shape) {
  if (!noise) fail_argument(cls, " draws noise, but no noise source was given");
  Tensor n = noise(shape);
  SDFAST_CHECK(n.defined() && n.dtype() == DType::F32 && n.shape() == shape, cls,
               ": the noise source returned ", n.defined() ? n.describe() : "nothing",
               ", expected F32", shape_str(shape));
  return n;
}

Tensor divide(const Tensor& x, float scale) {
  return elementwise([scale](float v) { return v / scale; }, x);
}

Tensor clamp(const Tensor& x, float lo, float hi) {
  return elementwise([lo, hi](float v) { return std::min(std::max(v, lo), hi); }, x);
}

Tensor threshold_sample(const Tensor& x, double ratio, double sample_max_value) {
  SDFAST_CHECK(x.ndim() >= 2, "threshold_sample: expected [batch, ...], got ", x.describe());
  const int64_t batch = x.dim(0), n = x.numel() / std::max<int64_t>(batch, 1);
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  const float* in = x.data<float>();
  float* o = out.data<float>();
  std::vector<float> sorted(static_cast<size_t>(n));
  const float q = float(ratio);
  for (int64_t b = 0; b < batch; ++b) {
    const float* xb = in + b * n;
    for (int64_t i = 0; i < n; ++i) sorted[size_t(i)] = std::fabs(xb[i]);
    std::sort(sorted.begin(), sorted.end());
    // torch.quantile(..., interpolation="linear"): float32 rank, lerp between neighbours.
    const float rank = q * float(n - 1);
    const int64_t below = int64_t(rank), above = int64_t(std::ceil(rank));
    const float w = rank - float(below);
    const float lo = sorted[size_t(below)], hi = sorted[size_t(above)];
    float s = w < 0.5f ? lo + w * (hi - lo) : hi - (hi - lo) * (1.0f - w);
    s = std::min(std::max(s, 1.0f), float(sample_max_value));
    for (int64_t i = 0; i < n; ++i) o[b * n + i] = std::min(std::max(xb[i], -s), s) / s;
  }
  return out;
}

std::vector<double> spaced_timesteps(const std::string& spacing, int num_train_timesteps,
                                     int num_inference_steps, int steps_offset,
                                     bool round_linspace) {
  const int T = num_train_timesteps, n = num_inference_steps;
  std::vector<double> t;
  if (spacing == "linspace") {
    t = np_linspace(0, T - 1, n);
    if (round_linspace)
      for (double& v : t) v = np_round(v);
    std::reverse(t.begin(), t.end());
  } else if (spacing == "leading") {
    const int ratio = T / n;
    for (int i = n - 1; i >= 0; --i) t.push_back(double(int64_t(i) * ratio + steps_offset));
  } else if (spacing == "trailing") {
    t = np_arange(T, 0, -double(T) / n);
    for (double& v : t) v = np_round(v) - 1;
  } else {
    fail("timestep_spacing '", spacing, "' is not supported");
  }
  return t;
}

std::vector<double> multistep_timesteps(const std::string& spacing, int last_timestep,
                                        int num_train_timesteps, int num_inference_steps,
                                        int steps_offset) {
  const int n = num_inference_steps;
  std::vector<double> t;
  if (spacing == "linspace") {
    const std::vector<double> v = np_linspace(0, last_timestep - 1, n + 1);
    for (int i = n; i >= 1; --i) t.push_back(np_round(v[size_t(i)]));
  } else if (spacing == "leading") {
    const int ratio = last_timestep / (n + 1);
    for (int i = n; i >= 1; --i) t.push_back(double(int64_t(i) * ratio + steps_offset));
  } else if (spacing == "trailing") {
    for (double v : np_arange(last_timestep, 0, -double(num_train_timesteps) / n))
      t.push_back(np_round(v) - 1);
  } else {
    fail("timestep_spacing '", spacing, "' is not supported");
  }
  return t;
}

Tensor f64_tensor(const std::vector<double>& values) {
  Tensor t = Tensor::empty({int64_t(values.size())}, DType::F64);
  std::copy(values.begin(), values.end(), t.data<double>());
  return t;
}

std::vector<double> checked_spaced_timesteps(const char* cls, const std::string& spacing, int T, int n,
                                             int steps_offset) {
  std::vector<double> t = spaced_timesteps(spacing, T, n, steps_offset, /*round_linspace=*/true);
  for (double v : t)
    if (v < 0 || v >= T)
      fail_argument(cls, ": ", n, " steps with timestep_spacing '", spacing, "' and steps_offset ",
                    steps_offset, " give timestep ", v, ", outside [0, ", T, ")");
  return t;
}

std::vector<double> karras_sigmas_between(double sigma_min, double sigma_max,
                                          const std::vector<float>& train, int n) {
  const double lo = std::isnan(sigma_min) ? double(train.front()) : sigma_min;
  const double hi = std::isnan(sigma_max) ? double(train.back()) : sigma_max;
  return karras_sigmas(lo, hi, n);
}

SigmaPoint sigma_point(float sigma) {
  SigmaPoint p;
  p.alpha = 1.0f / std::sqrt(sigma * sigma + 1.0f);
  p.sigma = sigma * p.alpha;
  p.lambda = std::log(p.alpha) - std::log(p.sigma);
  return p;
}

}  // namespace sdfast::scheduling
