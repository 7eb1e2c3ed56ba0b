// Numeric building blocks shared by the schedulers: the numpy functions Diffusers builds its
// schedules with (reproduced operation for operation, so that timesteps and sigmas match), the
// Karras/sigma->t conversions, and element-wise float32 tensor arithmetic.
//
// Reference: huggingface/diffusers v0.26.3, src/diffusers/schedulers/scheduling_euler_discrete.py
// (_sigma_to_t, _convert_to_karras), scheduling_ddpm.py (_threshold_sample); numpy 1.24
// (linspace, arange, interp, round), torch 1.13 (quantile, lerp).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "schedulers/scheduler.h"

namespace sdfast::scheduling {

// np.linspace(start, stop, num, endpoint) in float64.
std::vector<double> np_linspace(double start, double stop, int64_t num, bool endpoint = true);
// np.arange(start, stop, step) for floating step (numpy's length and fill rule).
std::vector<double> np_arange(double start, double stop, double step);
// torch.linspace(start, end, steps, dtype=float32) on CPU: float32 step, the first half counted
// up from start, the second half down from end.
std::vector<float> torch_linspace_f32(double start, double end, int64_t steps);
// np.round: half to even.
double np_round(double x);
// np.interp(x, arange(len(fp)), fp) in float64.
std::vector<double> np_interp(const std::vector<double>& x, const std::vector<float>& fp);
// np.log of a float32 array (float32 results).
std::vector<float> log_f32(const std::vector<float>& v);

// The set_timesteps schedule shared by DDIM, DDPM, Euler, Euler ancestral, LMS and Heun, in
// calling (descending) order: "linspace" np.linspace(0, T-1, n) (rounded when `round_linspace`),
// "leading" arange(n) * (T // n) + steps_offset, "trailing" round(arange(T, 0, -T/n)) - 1.
std::vector<double> spaced_timesteps(const std::string& spacing, int num_train_timesteps,
                                     int num_inference_steps, int steps_offset,
                                     bool round_linspace);
// spaced_timesteps with round_linspace, every timestep checked to lie in [0, num_train_timesteps)
// (DDIM, DDPM); throws InvalidArgument naming `cls`, the spacing and the offset.
std::vector<double> checked_spaced_timesteps(const char* cls, const std::string& spacing,
                                             int num_train_timesteps, int n, int steps_offset);

// The set_timesteps schedule of the multistep solvers (DPM-Solver, UniPC), n + 1 points with the
// last dropped: "linspace" round(linspace(0, last-1, n+1)), "leading" arange(n+1) * (last // (n+1))
// + steps_offset, "trailing" round(arange(last, 0, -T/n)) - 1; descending. `last_timestep` is T
// unless lambda_min_clipped cuts the schedule.
std::vector<double> multistep_timesteps(const std::string& spacing, int last_timestep,
                                        int num_train_timesteps, int num_inference_steps,
                                        int steps_offset);

// _convert_to_karras: n sigmas from sigma_max down to sigma_min, rho = 7, in float64.
std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int n);
// karras_sigmas between the configured sigma_min / sigma_max (NaN: the training sigmas' ends).
std::vector<double> karras_sigmas_between(double sigma_min, double sigma_max,
                                          const std::vector<float>& train_sigmas, int n);

// alpha_t, sigma_t and lambda_t = log(alpha_t) - log(sigma_t) of a Karras sigma (DPM-Solver and
// UniPC: alpha = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha), in float32 as torch computes them.
struct SigmaPoint {
  float alpha, sigma, lambda;
};
SigmaPoint sigma_point(float sigma);
// _sigma_to_t: the (fractional) training timestep of `sigma` by log-linear interpolation in
// `log_sigmas` (float32, by timestep), with numpy's float32/float64 mix.
double sigma_to_t(double sigma, const std::vector<float>& log_sigmas);

// The scheduler's step index for `timestep`, as Diffusers' index_for_timestep: the first match, or
// the second when the timestep occurs more than once; -1 when absent.
int index_for_timestep(const std::vector<double>& timesteps, double timestep);

// The Euler-family step index for the first timestep a step is called with (index_for_timestep);
// InvalidArgument when `timestep` is not in the schedule.
int first_step_index(const char* cls, const std::vector<double>& timesteps, double timestep);
// init_noise_sigma of the sigma schedulers: max(sigmas) for "linspace"/"trailing" spacing, else
// (max(sigmas)**2 + 1) ** 0.5, in float32.
double sigma_init_noise(const std::vector<double>& sigmas, const std::string& timestep_spacing);
// The scale_model_input of the sigma schedulers: sample / (sigma**2 + 1) ** 0.5 in float32.
Tensor scale_by_sigma(const Tensor& sample, float sigma);
// A sigma scheduler's x_0 from its model output (sample = x_0 + sigma * noise):
// epsilon: sample - sigma * m; v_prediction: m * (-sigma / (sigma**2+1)**0.5) + sample /
// (sigma**2+1); sample / original_sample: m.
Tensor sigma_denoised(const std::string& prediction_type, const Tensor& model_output,
                      const Tensor& sample, float sigma);

// `timestep` as an index into alphas_cumprod; InvalidArgument unless it is an integer in [0, n).
int64_t train_index(const char* cls, double timestep, int num_train_timesteps);

// add_noise of the schedulers with alphas_cumprod (DDPM, DDIM, PNDM, LCM): sqrt(a_t) * x + sqrt(1 -
// a_t) * n in float32, t an integer training timestep.
Tensor add_noise_alphas_cumprod(const char* cls, const std::vector<float>& alphas_cumprod,
                                const Tensor& original, const Tensor& noise, double timestep);
// add_noise of the Euler family (Euler, Euler ancestral, LMS, Heun): x + n * sigmas[i], i the step
// index of `timestep` (index_for_timestep); InvalidArgument when it is not in the schedule.
Tensor add_noise_sigma(const char* cls, const std::vector<double>& timesteps,
                       const std::vector<double>& sigmas, const Tensor& original, const Tensor& noise,
                       double timestep);
// add_noise of the multistep solvers (DPM-Solver, UniPC): alpha_t * x + sigma_t * n with alpha_t =
// 1 / (sigma**2 + 1) ** 0.5, sigma_t = sigma * alpha_t, sigma = sigmas[i] (i as index_for_timestep, the
// last step index when absent).
Tensor add_noise_multistep(const char* cls, const std::vector<double>& timesteps,
                           const std::vector<double>& sigmas, const Tensor& original,
                           const Tensor& noise, double timestep);

// Throws unless both are float32 tensors of the same non-empty shape.
void check_step_inputs(const char* cls, const Tensor& model_output, const Tensor& sample);
// Calls `noise` for `shape` and checks what it returns (float32 of that shape).
Tensor draw_noise(const char* cls, const NoiseFn& noise, const Shape& shape);

// out[i] = f(a[i], b[i], ...) over float32 tensors of the first tensor's shape.
template <class F, class... Ts>
Tensor elementwise(F f, const Tensor& first, const Ts&... rest) {
  SDFAST_CHECK(((rest.shape() == first.shape()) && ...),
               "scheduler: element-wise operands differ in shape");
  Tensor out = Tensor::empty(first.shape(), DType::F32);
  float* o = out.data<float>();
  const float* a = first.data<float>();
  const int64_t n = first.numel();
  auto ptrs = std::make_tuple(rest.template data<float>()...);
  for (int64_t i = 0; i < n; ++i)
    o[i] = std::apply([&](auto... p) { return f(a[i], p[i]...); }, ptrs);
  return out;
}

// x / scale (scale_model_input of the sigma schedulers).
Tensor divide(const Tensor& x, float scale);
// torch.clamp(x, lo, hi).
Tensor clamp(const Tensor& x, float lo, float hi);
// Dynamic thresholding (Imagen): per batch item, s = clamp(quantile(|x|, ratio), 1, max_value),
// x = clamp(x, -s, s) / s. x: [batch, ...].
Tensor threshold_sample(const Tensor& x, double ratio, double sample_max_value);

// A float64 1-D tensor of `values`.
Tensor f64_tensor(const std::vector<double>& values);

}  // namespace sdfast::scheduling
