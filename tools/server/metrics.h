// `sdfast serve`: counters and histograms, written in Prometheus' text exposition format (0.0.4).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sdfast::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);
  // `name`_bucket{le=...}, `name`_sum, `name`_count lines.
  void write(std::string& out, const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // one per bound (not cumulative) and one for +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  // One answered HTTP request: its route pattern (not the raw path: bounded label values), status
  // and wall time.
  void request(const std::string& route, int status, double seconds);
  // One finished job: its final state, images made, model evaluations and run time.
  void job(const std::string& state, int images, int steps, double running_s);
  // The whole exposition; the gauges are read by the caller at scrape time.
  std::string text(size_t queued, size_t running, int workers, bool ready) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, uint64_t> jobs_;
  uint64_t images_ = 0;
  Histogram latency_;     // request seconds
  Histogram steps_rate_;  // model evaluations per second of a job
};

}  // namespace sdfast::server
