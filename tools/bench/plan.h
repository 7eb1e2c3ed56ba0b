// What a benchmark run measures: the rows of the guide's tables and of the per-component table,
// each one job (one child process), with the reference numbers printed next to it (the guide's
// speed-ups, the targets, published FLOP counts).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/job.h"
#include "bench/bench.h"

namespace sdfast::bench {

// A limit a measured value should stay under (the targets).
struct Target {
  std::string metric;  // "median_s" or "peak_rss_mb"
  double limit = 0;    // inclusive upper bound, in the metric's unit
  std::string text;    // "<= 0.8 s"
};

// Forward cost of a component at the row's shape, from /work/shared/configs/README.md, applied
// only when the loaded model has the expected parameter count (0: not checked).
struct Cost {
  double gmac = 0;  // multiply-adds for the whole job call (batch included), in 1e9
  int64_t parameters = 0;
};

struct Row {
  std::string table;    // "roofline", "table1", "table2", "table3"
  std::string section;  // table3: "unet", "text_encoder", "vae", "attention", "extra"; else ""
  std::string label;    // what the row is, e.g. "SD1.5 bf16"
  Job job;
  std::optional<Cost> cost;
  std::optional<Target> target;
  std::string baseline;      // id of the row whose latency the speed-up is relative to
  double guide_speedup = 0;  // the guide's speed-up for this setup (0: none)
  std::string compare_with;  // table3 attention rows: id of the flash row to compare against
};

// Folders of the models the tables use, resolved from the options.
struct ModelPaths {
  std::string sd15;            // pipeline folder (SD1.5 role)
  std::string bk_small;        // pipeline folder (BK-SDM-small role)
  std::string bk_small_vae;    // "" or a VAE folder swapped into bk_small (quick mode)
  std::string bk_small_taesd;  // pipeline folder (BK-SDM-small + TAESD role)
  std::vector<std::pair<std::string, std::string>> extra_unets;  // (label, unet folder)
  std::string extra_text_encoder;                                // "" or a text_encoder folder
};

// The default models folder: the vendored configs (bench/configs) or, for quick mode, the tiny
// golden models (tests/golden/models) of the source tree sdfast was built from. Throws Error
// when the source tree is not there.
std::string default_models_dir(bool quick);

// Resolves and checks the model folders under `dir` (InvalidArgument naming a missing one).
ModelPaths resolve_models(const std::string& dir, bool quick, bool extra);

// Validates `options` (InvalidArgument) and lists the rows to run, in order: the roofline first,
// then the requested tables.
std::vector<Row> make_plan(const BenchOptions& options, const ModelPaths& models);

// The guide's tables as the report titles them.
std::string table_title(const std::string& table, bool quick);

}  // namespace sdfast::bench
