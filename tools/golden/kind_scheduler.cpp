// Golden kind "scheduler": runs a Diffusers scheduler loop on a synthetic model and compares the
// timesteps, sigmas, every model input and every sample.
//
// The loop (see the case's note): model_input = scale_model_input(x, t);
// eps = 0.05 * model_input + 0.001 * t; x = step(eps, t, x). Stochastic schedulers replay the
// case's `noise` tensors in order.
#include <cmath>

#include "core/error.h"
#include "golden/kinds.h"
#include "io/json.h"
#include "schedulers/scheduler.h"
#include "schedulers/scheduler_math.h"

namespace sdfast::golden {

namespace {

// [n, ...] from n tensors of one shape.
Tensor stack(const std::vector<Tensor>& rows) {
  SDFAST_CHECK(!rows.empty(), "scheduler case: no steps were run");
  Shape shape = rows[0].shape();
  shape.insert(shape.begin(), int64_t(rows.size()));
  Tensor out = Tensor::empty(shape, DType::F32);
  float* o = out.data<float>();
  for (const Tensor& r : rows) {
    SDFAST_CHECK(r.shape() == rows[0].shape(), "scheduler case: step shapes differ");
    const float* p = r.data<float>();
    o = std::copy(p, p + r.numel(), o);
  }
  return out;
}

}  // namespace

void run_scheduler(CaseRun& run) {
  const GoldenCase& c = run.golden();
  const nlohmann::json& p = c.params();
  if (!p.contains("scheduler") || !p["scheduler"].is_string())
    fail("case '", c.name(), "': params.scheduler must be a string");
  if (!p.contains("num_inference_steps") || !p["num_inference_steps"].is_number_integer())
    fail("case '", c.name(), "': params.num_inference_steps must be an integer");
  const Config config(p.value("config", nlohmann::json::object()),
                      "case '" + c.name() + "' params.config");
  std::unique_ptr<Scheduler> s = make_scheduler(p["scheduler"].get<std::string>(), config);
  if (p.contains("eta")) {
    if (!p["eta"].is_number()) fail("case '", c.name(), "': params.eta must be a number");
    s->set_eta(p["eta"].get<double>());
  }
  s->set_timesteps(p["num_inference_steps"].get<int>());

  if (p.contains("init_noise_sigma") && p["init_noise_sigma"].is_number()) {
    const double want = p["init_noise_sigma"].get<double>(), got = s->init_noise_sigma();
    const Tolerance& tol = c.tolerance();
    if (!(std::fabs(got - want) <= tol.atol + tol.rtol * std::fabs(want)))
      run.fail_check(str_cat("init_noise_sigma ", got, ", expected ", want));
  }

  Tensor noise_all;
  int64_t noise_used = 0;
  if (c.has("noise")) noise_all = c.tensor("noise", DType::F32);
  const NoiseFn noise = [&](const Shape& shape) -> Tensor {
    if (!noise_all.defined() || noise_used >= noise_all.dim(0))
      fail("case '", c.name(), "': the scheduler drew more noise tensors than the case holds (",
           noise_all.defined() ? noise_all.dim(0) : 0, ")");
    Tensor n = noise_all.slice0(noise_used, noise_used + 1).reshape(shape).clone();
    ++noise_used;
    return n;
  };

  Tensor x = c.tensor("initial_sample", DType::F32);
  std::vector<Tensor> model_inputs, samples;
  for (double t : s->timesteps()) {
    Tensor model_input = s->scale_model_input(x, t);
    const float tt = float(0.001 * t);
    Tensor eps = scheduling::elementwise([tt](float v) { return 0.05f * v + tt; }, model_input);
    x = s->step(eps, t, x, noise);
    model_inputs.push_back(model_input);
    samples.push_back(x);
  }
  if (noise_all.defined() && noise_used != noise_all.dim(0))
    run.fail_check(str_cat("the scheduler drew ", noise_used, " noise tensors; the case holds ",
                           noise_all.dim(0)));

  // Scheduler outputs never go through a model: always judged by the case's atol/rtol.
  run.check("timesteps", scheduling::f64_tensor(s->timesteps()), /*exact=*/true);
  if (c.has("sigmas")) {
    if (s->sigmas().empty())
      run.fail_check("the case has sigmas; " + std::string(s->class_name()) + " has none");
    else
      run.check("sigmas", scheduling::f64_tensor(s->sigmas()), /*exact=*/true);
  }
  run.check("model_inputs", stack(model_inputs), /*exact=*/true);
  run.check("samples", stack(samples), /*exact=*/true);
}

}  // namespace sdfast::golden
