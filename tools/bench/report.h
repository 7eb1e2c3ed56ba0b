// The benchmark's report: one JSON document (schema "sdfast-bench/1") holding the machine, the
// options, every measurement's raw result and the derived numbers (medians, speed-ups, effective
// TFLOP/s, targets), and the markdown tables rendered from that JSON alone.
//
// Top level: schema, complete, sdfast_version, mode ("full" / "quick"), command, started_at,
// finished_at (UTC), options, machine (MachineInfo::to_json), load_average {start, end},
// notes [..], roofline / table1 / table2 / table3 {title, rows: [..]}, targets [..], failures [..].
// A row: id, label, kind, section, params, status ("ok" / "failed"), error, result (the child's
// JSON), median_s (pipeline rows: median end-to-end latency), estimated, speedup, guide_speedup,
// gmac, tflops, roofline_fraction, peak_rss_mb, run_peak_rss_mb, rss_after_load_mb,
// cpu_utilization, target {text, metric, limit, value, met}, compare {id, time_ratio,
// working_mb, other_working_mb}, child_wall_s.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/child_process.h"
#include "bench/machine_info.h"
#include "bench/plan.h"

namespace sdfast::bench {

struct Measured {
  Row row;
  ChildOutcome outcome;
};

struct RunInfo {
  const BenchOptions* options = nullptr;
  MachineInfo machine;
  std::optional<std::array<double, 3>> load_start, load_end;
  std::string started_at, finished_at;  // ISO 8601 UTC
  bool complete = false;
};

// The current UTC time in strftime `format` ("2025-01-31T12:00:00Z" by default).
std::string utc_now(const char* format = "%Y-%m-%dT%H:%M:%SZ");

nlohmann::json make_report_json(const RunInfo& run, const std::vector<Measured>& measured);

// The markdown tables of a report made by make_report_json.
std::string render_markdown(const nlohmann::json& report);

}  // namespace sdfast::bench
