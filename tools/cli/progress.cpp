#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <ostream>
#include <vector>

#include "sdfast/system.h"

namespace sdfast::cli {

Progress::Progress(bool quiet) : quiet_(quiet), tty_(::isatty(2) != 0) {}

void Progress::update(const StepInfo& s) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!started_) {
    start_ = now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                       std::chrono::duration<double>(s.step_seconds));
    started_ = true;
  }
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? s.step / elapsed : 0;
  const double eta = rate > 0 ? (s.total_steps - s.step) / rate : 0;
  if (tty_) {
    const int width = 30, filled = s.total_steps ? width * s.step / s.total_steps : width;
    std::string bar(size_t(filled), '=');
    if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), ' ');
    std::fprintf(stderr, "\r  %3d/%-3d [%s] %.2f it/s  ETA %d:%02d ", s.step, s.total_steps, bar.c_str(),
                 rate, int(eta) / 60, int(eta) % 60);
  } else {
    std::fprintf(stderr, "step %d/%d t=%g %.3f s\n", s.step, s.total_steps, s.timestep, s.step_seconds);
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (!quiet_ && tty_ && started_) std::fprintf(stderr, "\n");
}

void print_summary(std::ostream& os, double load_s, const GenerateTimings& t, double total_s) {
  const double unet = std::accumulate(t.unet_steps_s.begin(), t.unet_steps_s.end(), 0.0);
  std::vector<double> sorted = t.unet_steps_s;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted.empty() ? 0 : sorted[sorted.size() / 2];
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "Time: load %.2f s | text encoder %.2f s | UNet %.2f s (%zu steps, median %.3f s/step) | "
                "VAE decode %.2f s | total %.2f s | peak memory %.0f MiB\n",
                load_s, t.text_encoder_s, unet, t.unet_steps_s.size(), median, t.vae_decode_s, total_s,
                peak_rss_mb());
  os << buf;
}

}  // namespace sdfast::cli
