#include "bench/job.h"

#include <cstdio>
#include <random>

#include "bench/measure.h"
#include "core/error.h"

namespace sdfast::bench {

nlohmann::json Job::to_json() const { return {{"id", id}, {"kind", kind}, {"params", params}}; }

Job Job::from_json(const nlohmann::json& j) {
  if (!j.is_object()) fail_argument("bench job: expected a JSON object, got ", j.type_name());
  for (const char* key : {"id", "kind"})
    if (!j.contains(key) || !j[key].is_string())
      fail_argument("bench job: '", key, "' must be a string");
  if (!j.contains("params") || !j["params"].is_object())
    fail_argument("bench job '", j["id"].get<std::string>(), "': 'params' must be an object");
  return Job{j["id"].get<std::string>(), j["kind"].get<std::string>(), j["params"]};
}

nlohmann::json run_job_here(const Job& job) {
  using Fn = nlohmann::json (*)(const Job&);
  static const std::pair<const char*, Fn> kinds[] = {
      {"pipeline", detail::run_pipeline_job},         {"unet", detail::run_unet_job},
      {"text_encoder", detail::run_text_encoder_job}, {"vae_decode", detail::run_vae_decode_job},
      {"attention", detail::run_attention_job},       {"matmul", detail::run_matmul_job},
      {"lora", detail::run_lora_job},
      {"concurrent", detail::run_concurrent_job}};
  for (const auto& [name, fn] : kinds) {
    if (job.kind != name) continue;
    const auto load = load_average();
    nlohmann::json result = fn(job);
    result["kind"] = job.kind;
    result["load_average_start"] = load ? nlohmann::json(*load) : nlohmann::json(nullptr);
    return result;
  }
  fail_argument("bench job '", job.id, "': unknown kind '", job.kind,
                "' (pipeline, unet, text_encoder, vae_decode, attention, matmul, concurrent)");
}

namespace detail {

namespace {

template <class T>
T convert(const Job& job, const char* key, const nlohmann::json& v) {
  try {
    return v.get<T>();
  } catch (const nlohmann::json::exception&) {
    fail_argument("bench job '", job.id, "': parameter '", key, "' has the wrong type (",
                  v.type_name(), ")");
  }
}

}  // namespace

template <class T>
T param(const Job& job, const char* key) {
  if (!job.params.contains(key))
    fail_argument("bench job '", job.id, "': parameter '", key, "' is missing");
  return convert<T>(job, key, job.params[key]);
}

template <class T>
T param(const Job& job, const char* key, const T& fallback) {
  if (!job.params.contains(key) || job.params[key].is_null()) return fallback;
  return convert<T>(job, key, job.params[key]);
}

template int param<int>(const Job&, const char*);
template int param<int>(const Job&, const char*, const int&);
template int64_t param<int64_t>(const Job&, const char*);
template uint64_t param<uint64_t>(const Job&, const char*, const uint64_t&);
template double param<double>(const Job&, const char*, const double&);
template bool param<bool>(const Job&, const char*, const bool&);
template std::string param<std::string>(const Job&, const char*);
template std::string param<std::string>(const Job&, const char*, const std::string&);

void record_load(double load_s, nlohmann::json& result) {
  result["load_s"] = load_s;
  result["rss_after_load_mb"] = current_rss_mb();
}

void time_calls(const Job& job, int threads, const std::function<void()>& warmup_fn,
                const std::function<void()>& fn, nlohmann::json& result) {
  const int warmup = param<int>(job, "warmup", 1), repeats = param<int>(job, "repeats", 1);
  if (warmup < 0 || warmup > 100) fail_argument("bench job '", job.id, "': warmup must be 0..100");
  if (repeats < 1 || repeats > 1000)
    fail_argument("bench job '", job.id, "': repeats must be 1..1000");
  for (int i = 0; i < warmup; ++i) {
    Stopwatch sw;
    warmup_fn();
    std::fprintf(stderr, "  [%s] warm-up %d/%d: %.3f s\n", job.id.c_str(), i + 1, warmup,
                 sw.wall_s());
  }
  const double peak_before = peak_rss_mb();
  const bool reset = reset_peak_rss();
  std::vector<double> wall, cpu;
  for (int i = 0; i < repeats; ++i) {
    Stopwatch sw;
    fn();
    wall.push_back(sw.wall_s());
    cpu.push_back(sw.cpu_s());
    std::fprintf(stderr, "  [%s] run %d/%d: %.3f s wall, %.3f s cpu\n", job.id.c_str(), i + 1,
                 repeats, wall.back(), cpu.back());
  }
  const double peak_after = peak_rss_mb();
  double wall_sum = 0, cpu_sum = 0;
  for (size_t i = 0; i < wall.size(); ++i) wall_sum += wall[i], cpu_sum += cpu[i];
  result["threads"] = threads;
  result["wall_s"] = wall;
  result["cpu_s"] = cpu;
  result["median_s"] = median(wall);
  result["cpu_utilization"] = wall_sum > 0 ? cpu_sum / (wall_sum * threads) : 0.0;
  result["peak_rss_mb"] = std::max(peak_before, peak_after);
  result["run_peak_rss_mb"] = reset ? nlohmann::json(peak_after) : nlohmann::json(nullptr);
}

void fill_randn(float* data, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i) data[i] = d(rng);
}

}  // namespace detail

}  // namespace sdfast::bench
