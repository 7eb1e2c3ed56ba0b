// `sdfast serve`: Prometheus metrics (https://prometheus.io/docs/instrumenting/exposition_formats/).
#include "metrics.h"

#include <cmath>
#include <cstdio>

namespace sdfast::server {

namespace {

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Label values are route patterns and state names chosen by the server; escape anyway.
std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::write(std::string& out, const std::string& name) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += name + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_sum " + number(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : latency_({0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}),
      steps_rate_({0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250}) {}

void Metrics::request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
  latency_.observe(seconds);
}

void Metrics::job(const std::string& state, int images, int steps, double running_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++jobs_[state];
  if (state == "succeeded") {
    images_ += uint64_t(images);
    if (running_s > 0 && steps > 0) steps_rate_.observe(steps / running_s);
  }
}

std::string Metrics::text(size_t queued, size_t running, int workers, bool ready) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  header(out, "sdfast_queue_length", "gauge", "Jobs waiting for a worker.");
  out += "sdfast_queue_length " + std::to_string(queued) + "\n";
  header(out, "sdfast_running_jobs", "gauge", "Jobs being generated now.");
  out += "sdfast_running_jobs " + std::to_string(running) + "\n";
  header(out, "sdfast_workers", "gauge", "Worker threads running jobs.");
  out += "sdfast_workers " + std::to_string(workers) + "\n";
  header(out, "sdfast_ready", "gauge", "1 when the model is loaded and jobs are accepted.");
  out += std::string("sdfast_ready ") + (ready ? "1" : "0") + "\n";
  header(out, "sdfast_http_requests_total", "counter", "HTTP requests answered, by route and status.");
  for (const auto& [key, n] : requests_)
    out += "sdfast_http_requests_total{route=\"" + label(key.first) + "\",status=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(n) + "\n";
  header(out, "sdfast_jobs_total", "counter", "Jobs finished, by final state.");
  for (const auto& [state, n] : jobs_)
    out += "sdfast_jobs_total{state=\"" + label(state) + "\"} " + std::to_string(n) + "\n";
  header(out, "sdfast_images_total", "counter", "Images generated.");
  out += "sdfast_images_total " + std::to_string(images_) + "\n";
  header(out, "sdfast_http_request_duration_seconds", "histogram", "Time to answer an HTTP request.");
  latency_.write(out, "sdfast_http_request_duration_seconds");
  header(out, "sdfast_job_steps_per_second", "histogram", "Model evaluations per second of a finished job.");
  steps_rate_.write(out, "sdfast_job_steps_per_second");
  return out;
}

}  // namespace sdfast::server
