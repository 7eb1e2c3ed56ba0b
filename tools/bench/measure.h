// What a benchmark measurement reads about its own process and the machine's load: wall and CPU
// clocks, resident memory (current, peak, and a resettable peak for one phase), load average.
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace sdfast::bench {

// Median of `values` (mean of the middle two for an even count). Throws Error when empty.
double median(std::vector<double> values);

// Wall-clock and process CPU time (all threads) since construction.
class Stopwatch {
 public:
  Stopwatch();
  double wall_s() const;
  double cpu_s() const;

 private:
  std::chrono::steady_clock::time_point wall0_;
  double cpu0_ = 0;
};

// CPU time of this process, all threads, in seconds.
double process_cpu_seconds();

// Resident memory of this process from /proc/self/status, in MiB (VmRSS, VmHWM).
double current_rss_mb();
double peak_rss_mb();
// Resets VmHWM to the current RSS (writes "5" to /proc/self/clear_refs, Linux >= 4.0), so that
// peak_rss_mb() afterwards is the peak of what follows. Returns false where the kernel refuses.
bool reset_peak_rss();

// The 1, 5 and 15 minute load averages (/proc/loadavg); nullopt where unreadable.
std::optional<std::array<double, 3>> load_average();

// "1.85 1.84 3.06", or "unknown".
std::string load_average_str(const std::optional<std::array<double, 3>>& load);

}  // namespace sdfast::bench
