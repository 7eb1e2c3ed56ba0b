#include "bench/report.h"

#include <ctime>
#include <map>
#include <sstream>

#include "bench/measure.h"
#include "core/error.h"
#include "sdfast/system.h"

namespace sdfast::bench {

using json = nlohmann::json;

namespace {

const char* const kTables[] = {"roofline", "table1", "table2", "table3", "table4", "table5"};

std::optional<double> number(const json& j, const char* key) {
  if (j.is_object() && j.contains(key) && j[key].is_number()) return j[key].get<double>();
  return std::nullopt;
}

json or_null(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// Median of a JSON array of numbers; nullopt when absent or empty.
std::optional<double> median_of(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_array() || j[key].empty())
    return std::nullopt;
  std::vector<double> v;
  for (const json& x : j[key]) v.push_back(x.get<double>());
  return median(v);
}

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// A duration for the tables: "12.3 ms", "0.812 s", "61.4 s".
std::string seconds(const json& v) {
  if (!v.is_number()) return "-";
  const double s = v.get<double>();
  if (s < 0.1) return format("%.1f ms", s * 1e3);
  if (s < 10) return format("%.3f s", s);
  return format("%.1f s", s);
}

// GFLOP/s: "812", "3.52".
std::string gflops(const json& v) {
  if (!v.is_number()) return "-";
  return format(v.get<double>() >= 100 ? "%.0f" : "%.3g", v.get<double>());
}

std::string mib(const json& v) { return v.is_number() ? format("%.0f MiB", v.get<double>()) : "-"; }

std::string ratio(const json& v) { return v.is_number() ? format("x%.2f", v.get<double>()) : "-"; }

std::string target_cell(const json& row) {
  if (!row.contains("target") || row["target"].is_null()) return "";
  const json& t = row["target"];
  const std::string text = t["text"].get<std::string>();
  if (!t["met"].is_boolean()) return text + ": not measured";
  return text + (t["met"].get<bool>() ? ": met" : ": MISSED");
}

std::string status_or(const json& row, const std::string& value) {
  return row["status"] == "ok" ? value : "FAILED";
}

void add_derived(json& r, const Row& row, const std::map<std::string, double>& roofline_gflops) {
  const json& res = r["result"];
  const bool pipeline = row.job.kind == "pipeline";
  r["median_s"] = or_null(number(res, pipeline ? "latency_median_s" : "median_s"));
  r["peak_rss_mb"] = or_null(number(res, "peak_rss_mb"));
  r["run_peak_rss_mb"] = or_null(number(res, "run_peak_rss_mb"));
  r["rss_after_load_mb"] = or_null(number(res, "rss_after_load_mb"));
  r["cpu_utilization"] = or_null(number(res, "cpu_utilization"));
  r["load_s"] = or_null(number(res, "load_s"));
  if (pipeline) {
    r["estimated"] = res.is_object() && res.value("estimated", false);
    r["unet_step_s"] = or_null(median_of(res, "unet_step_median_s"));
    r["text_encoder_s"] = or_null(median_of(res, "text_encoder_s"));
    r["vae_decode_s"] = or_null(median_of(res, "vae_decode_s"));
    r["unet_evaluations"] = res.is_object() && res.contains("unet_evaluations")
                                ? res["unet_evaluations"]
                                : json(nullptr);
    if (res.is_object() && res.contains("unet_full_calls")) {  // DeepCache rows
      r["unet_full_calls"] = res["unet_full_calls"];
      r["unet_full_step_s"] = or_null(median_of(res, "unet_full_step_median_s"));
      r["unet_partial_step_s"] = or_null(median_of(res, "unet_partial_step_median_s"));
    }
  }
  if (row.job.kind == "concurrent") {
    r["images_per_minute"] = or_null(number(res, "images_per_minute"));
    r["unet_step_s"] = or_null(number(res, "unet_step_median_s"));
  }
  if (row.job.kind == "matmul") r["gflops"] = or_null(number(res, "gflops_median"));
  if (row.job.kind == "attention") r["gflops"] = or_null(number(res, "gflops"));
  if (row.cost && r["median_s"].is_number()) {
    const auto params = number(res, "parameters");
    if (row.cost->parameters == 0 || (params && int64_t(*params) == row.cost->parameters)) {
      r["gmac"] = row.cost->gmac;
      const double tflops = 2e-3 * row.cost->gmac / r["median_s"].get<double>();
      r["tflops"] = tflops;
      const std::string dtype = row.job.params.value("dtype", "");
      const auto roof = roofline_gflops.find(dtype);
      if (roof != roofline_gflops.end() && roof->second > 0)
        r["roofline_fraction"] = tflops * 1e3 / roof->second;
    } else {
      r["cost_note"] = str_cat("the model has ", params ? int64_t(*params) : -1,
                               " parameters, not the README's ", row.cost->parameters,
                               ": its FLOP count is not applied");
    }
  }
  if (row.target) {
    const json value = r.value(row.target->metric, json(nullptr));
    r["target"] = {
        {"text", row.target->text},
        {"metric", row.target->metric},
        {"limit", row.target->limit},
        {"value", value},
        {"met", value.is_number() ? json(value.get<double>() <= row.target->limit) : json(nullptr)},
        {"required_tflops", nullptr},
        {"roofline_tflops", nullptr}};
    // A time limit on a computation of known size needs a sustained rate: compare it with what a
    // plain GEMM reaches on this machine.
    if (row.cost && row.target->metric == "median_s") {
      r["target"]["required_tflops"] = 2e-3 * row.cost->gmac / row.target->limit;
      const auto roof = roofline_gflops.find(row.job.params.value("dtype", ""));
      if (roof != roofline_gflops.end()) r["target"]["roofline_tflops"] = roof->second * 1e-3;
    }
  }
}

json make_notes(const RunInfo& run, const std::vector<Measured>& measured) {
  const BenchOptions& o = *run.options;
  json notes = json::array();
  if (o.quick)
    notes.push_back(
        "QUICK MODE: tiny golden models at 128x128 and a few steps. A smoke test of the benchmark "
        "itself; these numbers say nothing about the engine's speed.");
  notes.push_back(
      "Models: the real architectures built from their config.json with seeded random weights "
      "(the cost does not depend on the values).");
  notes.push_back(str_cat(
      "Each measurement ran in its own process. Times are medians of ", o.repeats,
      " timed run(s) after ", o.warmup,
      " warm-up run(s) (pipelines warm up with a 2-step generation of the same shapes). Peak RSS "
      "is that process's VmHWM, model load included; 'run peak' is the VmHWM of the timed runs "
      "alone (reset after warm-up)."));
  bool estimated = false;
  for (const Measured& m : measured)
    estimated = estimated || (m.outcome.ok && m.outcome.result.value("estimated", false));
  if (estimated)
    notes.push_back(str_cat(
        "Tables 1 and 2 are EXTRAPOLATED, not full runs: each run made ", o.estimate_from_steps,
        " step(s) end to end (text encoder, steps, VAE decode); latency = measured total - time "
        "in those steps + (model evaluations of the full schedule) x (median step time)."));
  if (!run.machine.cpu.has_flag("amx_bf16"))
    notes.push_back(
        "This CPU has no AMX: bf16 matrix products run on AVX512-BF16 (the guide's numbers come "
        "from a GPU; its speed-ups are printed for reference).");
  notes.push_back(
      "Speed-ups are ratios of medians measured in this one run. The machine may be shared: see "
      "the load average at start and end, and each row's CPU use = CPU time / (wall x threads) "
      "over its timed runs, with the 1-minute load average when it started in brackets (well "
      "below 100%: the cores were shared with other work, or the engine ran serial sections).");
  return notes;
}

}  // namespace

std::string utc_now(const char* format) {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[128];
  return std::string(buf, std::strftime(buf, sizeof buf, format, &tm));
}

json make_report_json(const RunInfo& run, const std::vector<Measured>& measured) {
  const BenchOptions& o = *run.options;
  std::map<std::string, double> roofline_gflops;
  for (const Measured& m : measured)
    if (m.row.table == "roofline" && m.outcome.ok)
      if (const auto g = number(m.outcome.result, "gflops_median"))
        roofline_gflops[m.row.job.params.value("dtype", "")] = *g;

  std::map<std::string, json> rows;
  std::vector<std::string> order;
  json failures = json::array();
  for (const Measured& m : measured) {
    json r = {
        {"id", m.row.job.id},
        {"label", m.row.label},
        {"kind", m.row.job.kind},
        {"section", m.row.section},
        {"params", m.row.job.params},
        {"status", m.outcome.ok ? "ok" : "failed"},
        {"error", m.outcome.ok ? json(nullptr) : json(m.outcome.error)},
        {"result", m.outcome.ok ? m.outcome.result : json(nullptr)},
        {"child_wall_s", m.outcome.wall_s},
        {"guide_speedup", m.row.guide_speedup > 0 ? json(m.row.guide_speedup) : json(nullptr)},
        {"speedup", nullptr},
        {"tflops", nullptr},
        {"target", nullptr}};
    add_derived(r, m.row, roofline_gflops);
    if (!m.outcome.ok) failures.push_back({{"id", m.row.job.id}, {"error", m.outcome.error}});
    order.push_back(m.row.job.id);
    rows[m.row.job.id] = std::move(r);
  }
  // Speed-ups and comparisons need the other rows.
  for (const Measured& m : measured) {
    json& r = rows[m.row.job.id];
    const auto other = [&](const std::string& id) -> const json* {
      const auto it = rows.find(id);
      return it != rows.end() && it->second["median_s"].is_number() ? &it->second : nullptr;
    };
    if (!m.row.baseline.empty() && r["median_s"].is_number())
      if (const json* base = other(m.row.baseline))
        r["speedup"] = (*base)["median_s"].get<double>() / r["median_s"].get<double>();
    if (!m.row.compare_with.empty() && r["median_s"].is_number())
      if (const json* o2 = other(m.row.compare_with)) {
        const auto working = [](const json& x) -> json {
          if (!x["run_peak_rss_mb"].is_number() || !x["rss_after_load_mb"].is_number())
            return nullptr;
          return x["run_peak_rss_mb"].get<double>() - x["rss_after_load_mb"].get<double>();
        };
        r["compare"] = {
            {"id", m.row.compare_with},
            {"time_ratio", r["median_s"].get<double>() / (*o2)["median_s"].get<double>()},
            {"working_mb", working(r)},
            {"other_working_mb", working(*o2)}};
      }
  }

  json report = {{"schema", "sdfast-bench/1"},
                 {"complete", run.complete},
                 {"sdfast_version", version()},
                 {"mode", o.quick ? "quick" : "full"},
                 {"command", o.command_line},
                 {"started_at", run.started_at},
                 {"finished_at", run.finished_at},
                 {"options",
                  {{"tables", o.tables},
                   {"repeats", o.repeats},
                   {"warmup", o.warmup},
                   {"estimate_from_steps", o.estimate_from_steps},
                   {"quick", o.quick},
                   {"extra_models", o.extra_models},
                   {"deepcache_full_runs", o.deepcache_full_runs},
                   {"models_dir", o.models_dir},
                   {"threads", o.threads}}},
                 {"machine", run.machine.to_json()},
                 {"load_average",
                  {{"start", run.load_start ? json(*run.load_start) : json(nullptr)},
                   {"end", run.load_end ? json(*run.load_end) : json(nullptr)}}},
                 {"notes", make_notes(run, measured)},
                 {"failures", failures}};
  for (const char* table : kTables)
    report[table] = {{"title", table_title(table, o.quick)}, {"rows", json::array()}};
  json targets = json::array();
  for (const Measured& m : measured) {
    json& r = rows[m.row.job.id];
    if (r["target"].is_object())
      targets.push_back({{"id", r["id"]},
                         {"label", r["label"]},
                         {"text", r["target"]["text"]},
                         {"value", r["target"]["value"]},
                         {"metric", r["target"]["metric"]},
                         {"met", r["target"]["met"]},
                         {"required_tflops", r["target"]["required_tflops"]},
                         {"roofline_tflops", r["target"]["roofline_tflops"]}});
    report[m.row.table]["rows"].push_back(r);
  }
  report["targets"] = targets;
  return report;
}

std::string render_markdown(const json& report) {
  std::ostringstream md;
  const bool quick = report["mode"] == "quick";
  md << "## sdfast bench" << (quick ? " (quick mode)" : "") << "\n\n";
  md << "- sdfast " << report["sdfast_version"].get<std::string>() << ", started "
     << report["started_at"].get<std::string>() << ", finished "
     << report.value("finished_at", std::string("-"))
     << (report["complete"] == true ? "" : " (INCOMPLETE)") << "\n";
  if (!report["command"].get<std::string>().empty())
    md << "- Command: `" << report["command"].get<std::string>() << "`\n";
  const json& m = report["machine"];
  md << "- Machine: " << m["cpu_model"].get<std::string>() << ", " << m["logical_cpus"]
     << " logical CPUs (" << m["threads"] << " threads used), "
     << format("%.0f", m["memory_total_mb"].get<double>() / 1024.0) << " GiB; ISA:";
  for (const auto& [flag, present] : m["isa_flags"].items())
    md << " " << flag << (present.get<bool>() ? "" : " (no)");
  md << "; oneDNN " << m["onednn_version"].get<std::string>() << " (JIT ISA "
     << m["onednn_cpu_isa"].get<std::string>() << "); " << m["compiler"].get<std::string>();
  if (m.contains("environment"))
    for (const auto& [k, v] : m["environment"].items())
      md << "; " << k << "=" << v.get<std::string>();
  md << "\n";
  const auto load = [](const json& l) {
    return l.is_array()
               ? format("%.2f", l[0].get<double>()) + " " + format("%.2f", l[1].get<double>()) +
                     " " + format("%.2f", l[2].get<double>())
               : std::string("unknown");
  };
  md << "- Load average (1/5/15 min): start " << load(report["load_average"]["start"]) << ", end "
     << load(report["load_average"]["end"]) << "\n";
  for (const json& n : report["notes"]) md << "- " << n.get<std::string>() << "\n";

  const auto rows_of = [&](const char* table) -> const json& { return report[table]["rows"]; };
  const auto title = [&](const char* table) {
    md << "\n### " << report[table]["title"].get<std::string>() << "\n\n";
  };
  // "97% (0.81)": CPU time / (wall x threads) over the timed runs, and the 1-minute load average
  // when the measurement started.
  const auto cpu = [](const json& r) {
    if (!r["cpu_utilization"].is_number()) return std::string("-");
    std::string s = format("%.0f%%", 100 * r["cpu_utilization"].get<double>());
    const json& res = r["result"];
    if (res.is_object() && res.contains("load_average_start") &&
        res["load_average_start"].is_array())
      s += format(" (%.2f)", res["load_average_start"][0].get<double>());
    return s;
  };

  if (!rows_of("roofline").empty()) {
    title("roofline");
    md << "| dtype | GFLOP/s (median) | oneDNN implementation | CPU use (load) "
          "|\n|---|---|---|---|\n";
    for (const json& r : rows_of("roofline")) {
      const std::string impl =
          r["result"].is_object() ? r["result"].value("implementation", "") : "";
      md << "| " << r["label"].get<std::string>() << " | " << status_or(r, gflops(r["gflops"]))
         << " | " << impl << " | " << cpu(r) << " |\n";
    }
  }
  for (const char* table : {"table1", "table2"}) {
    if (rows_of(table).empty()) continue;
    title(table);
    bool estimated = false;
    for (const json& r : rows_of(table)) estimated = estimated || r.value("estimated", false);
    if (estimated)
      md << "**Extrapolated from a few measured steps (see notes), not full runs.**\n\n";
    md << "| setup | latency" << (estimated ? " (estimate)" : "")
       << " | speed-up | guide | UNet step | evaluations | text encoder | VAE decode | peak RSS | "
          "CPU use (load) | "
          "target |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const json& r : rows_of(table)) {
      std::string latency = estimated ? "~" : "";
      latency += seconds(r["median_s"]);
      md << "| " << r["label"].get<std::string>() << " | " << status_or(r, latency) << " | "
         << ratio(r["speedup"]) << " | " << ratio(r["guide_speedup"]) << " | "
         << seconds(r.value("unet_step_s", json())) << " | "
         << (r.value("unet_evaluations", json()).is_number() ? r["unet_evaluations"].dump() : "-")
         << " | " << seconds(r.value("text_encoder_s", json())) << " | "
         << seconds(r.value("vae_decode_s", json())) << " | " << mib(r["peak_rss_mb"]) << " | "
         << cpu(r) << " | " << target_cell(r) << " |\n";
    }
  }
  if (!rows_of("table3").empty()) {
    title("table3");
    md << "| component | median | TFLOP/s | of matmul roofline | peak RSS | run peak | CPU use "
          "(load) | "
          "target "
          "|\n|---|---|---|---|---|---|---|---|\n";
    for (const json& r : rows_of("table3")) {
      if (r["section"] == "attention") continue;
      md << "| " << r["label"].get<std::string>() << " | " << status_or(r, seconds(r["median_s"]))
         << " | " << (r["tflops"].is_number() ? format("%.3f", r["tflops"].get<double>()) : "-")
         << " | "
         << (r.contains("roofline_fraction")
                 ? format("%.0f%%", 100 * r["roofline_fraction"].get<double>())
                 : "-")
         << " | " << mib(r["peak_rss_mb"]) << " | " << mib(r["run_peak_rss_mb"]) << " | " << cpu(r)
         << " | " << target_cell(r) << " |\n";
    }
    for (const json& r : rows_of("table3"))
      if (r["section"] == "lora" && r["result"].is_object() &&
          r["result"].value("unmerged_overhead", json()).is_number())
        md << "\nLoRA unmerged: " << seconds(r["median_s"]) << " per step against "
           << seconds(r["result"]["base_median_s"]) << " without the LoRA in the same process ("
           << format("%+.1f%%", 100 * r["result"]["unmerged_overhead"].get<double>())
           << ")"
           << (r["result"].value("set_scale_s", json()).is_number()
                   ? "; a scale change (adapters rebuilt) " + seconds(r["result"]["set_scale_s"])
                   : std::string())
           << "; merged LoRAs cost nothing per step.\n";
    bool attention = false;
    for (const json& r : rows_of("table3")) attention = attention || r["section"] == "attention";
    if (attention) {
      md << "\n#### Attention: flash vs naive\n\n"
            "Working memory = run peak RSS - RSS before the timed runs (inputs / model loaded).\n\n"
            "| what | median | GFLOP/s | working memory | peak RSS | time vs flash | memory vs "
            "flash "
            "|\n|---|---|---|---|---|---|---|\n";
      for (const json& r : rows_of("table3")) {
        if (r["section"] != "attention") continue;
        const json working =
            r["run_peak_rss_mb"].is_number() && r["rss_after_load_mb"].is_number()
                ? json(r["run_peak_rss_mb"].get<double>() - r["rss_after_load_mb"].get<double>())
                : json(nullptr);
        std::string time_vs = "-", mem_vs = "-";
        if (r.contains("compare")) {
          const json& c = r["compare"];
          time_vs = ratio(c["time_ratio"]);
          if (c["working_mb"].is_number() && c["other_working_mb"].is_number())
            mem_vs = mib(c["working_mb"]) + " vs " + mib(c["other_working_mb"]);
        }
        md << "| " << r["label"].get<std::string>() << " | " << status_or(r, seconds(r["median_s"]))
           << " | " << gflops(r.value("gflops", json())) << " | " << mib(working) << " | "
           << mib(r["peak_rss_mb"]) << " | " << time_vs << " | " << mem_vs << " |\n";
      }
    }
  }
  if (report.contains("table4") && !rows_of("table4").empty()) {
    title("table4");
    bool unet_rows = false, full_runs = false;
    for (const json& r : rows_of("table4")) (r["section"] == "unet" ? unet_rows : full_runs) = true;
    if (unet_rows) {
      md << "UNet calls with guidance (batch 2) at the table's size: a full call runs the whole UNet "
            "and stores DeepCache's features, a partial call runs the shallow branch only. The "
            "UNet time per image = full calls x full call + partial calls x partial call (calls "
            "counted with the pipeline's rule, PNDM's duplicated timestep included); text "
            "encoder and VAE decode (the same with and without caching) are not in it. Speed-up "
            "by wall time and, less sensitive to a shared machine, by CPU time.\n\n"
            "| UNet | full call | partial call | partial / full | CPU use (load) |\n"
            "|---|---|---|---|---|\n";
      for (const json& r : rows_of("table4")) {
        if (r["section"] != "unet") continue;
        const json& res = r["result"];
        const std::optional<double> partial = number(res, "partial_median_s");
        md << "| " << r["label"].get<std::string>() << " | " << status_or(r, seconds(r["median_s"]))
           << " | " << (partial ? seconds(*partial) : "-") << " | "
           << (partial && r["median_s"].is_number()
                   ? format("%.3f", *partial / r["median_s"].get<double>())
                   : "-")
           << " | " << cpu(r) << " |\n";
      }
      md << "\n| UNet | schedule | N | full / all calls | UNet s per image, uncached | with "
            "DeepCache | speed-up (wall) | speed-up (CPU time) |\n"
            "|---|---|---|---|---|---|---|---|\n";
      for (const json& r : rows_of("table4")) {
        if (r["section"] != "unet" || !r["result"].is_object() ||
            !r["result"].contains("deepcache_estimates"))
          continue;
        for (const json& e : r["result"]["deepcache_estimates"])
          md << "| " << r["label"].get<std::string>() << " | " << e["steps"].dump() << " "
             << e["scheduler"].get<std::string>() << " | " << e["interval"].dump() << " | "
             << e["full_calls"].dump() << " / " << e["calls"].dump() << " | "
             << seconds(e["uncached_unet_s"]) << " | " << seconds(e["cached_unet_s"]) << " | "
             << ratio(e["speedup"]) << " | " << ratio(e["speedup_cpu"]) << " |\n";
      }
    }
    if (full_runs) {
      if (unet_rows) md << "\n";
      md << "End to end. Full calls run the whole UNet; partial calls only DeepCache's shallow "
            "branch. Speed-up "
            "= latency without caching / latency with it, same model, scheduler and dtype.\n\n"
            "| setup | latency | speed-up | full / all UNet calls | full step | partial step | "
            "peak RSS | CPU use (load) |\n|---|---|---|---|---|---|---|---|\n";
      for (const json& r : rows_of("table4")) {
        if (r["section"] == "unet") continue;
        const json full = r.value("unet_full_calls", json());
        const json all = r.value("unet_evaluations", json());
        md << "| " << r["label"].get<std::string>() << " | " << status_or(r, seconds(r["median_s"]))
           << " | " << ratio(r["speedup"]) << " | "
           << (full.is_number() && all.is_number() ? full.dump() + " / " + all.dump()
               : all.is_number()                   ? all.dump() + " / " + all.dump()
                                                   : std::string("-"))
           << " | "
           << seconds(full.is_number() ? r.value("unet_full_step_s", json())
                                       : r.value("unet_step_s", json()))
           << " | " << seconds(r.value("unet_partial_step_s", json())) << " | "
           << mib(r["peak_rss_mb"]) << " | " << cpu(r) << " |\n";
      }
    }
  }
  if (report.contains("table5") && !rows_of("table5").empty()) {
    title("table5");
    md << "| setup | 2 requests | images/min | speed-up | UNet step | peak RSS | run peak | CPU use "
          "(load) |\n|---|---|---|---|---|---|---|---|\n";
    for (const json& r : rows_of("table5"))
      md << "| " << r["label"].get<std::string>() << " | " << status_or(r, seconds(r["median_s"]))
         << " | "
         << (r.value("images_per_minute", json()).is_number()
                 ? format("%.2f", r["images_per_minute"].get<double>())
                 : std::string("-"))
         << " | " << ratio(r["speedup"]) << " | " << seconds(r.value("unet_step_s", json())) << " | "
         << mib(r["peak_rss_mb"]) << " | " << mib(r["run_peak_rss_mb"]) << " | " << cpu(r) << " |\n";
    md << "\nBoth rows load the model once; the concurrent runs share its weights (one copy), so "
          "their peak RSS differs from the sequential one by a second run's activations only.\n";
  }
  if (!report["targets"].empty()) {
    md << "\n### Targets\n\n"
          "'Needs' is the sustained rate a time target asks for (2 x MACs / limit), against the "
          "oneDNN matmul roofline measured above for the same dtype.\n\n"
          "| target | measured | status | needs |\n|---|---|---|---|\n";
    for (const json& t : report["targets"]) {
      const std::string value =
          t["metric"] == "peak_rss_mb" ? mib(t["value"]) : seconds(t["value"]);
      md << "| " << t["label"].get<std::string>() << ": " << t["text"].get<std::string>() << " | "
         << value << " | "
         << (t["met"].is_boolean() ? (t["met"].get<bool>() ? "met" : "MISSED") : "not measured")
         << " | ";
      if (t.value("required_tflops", json()).is_number()) {
        md << format("%.2f TFLOP/s", t["required_tflops"].get<double>());
        if (t.value("roofline_tflops", json()).is_number())
          md << format(" = %.1fx the roofline",
                       t["required_tflops"].get<double>() / t["roofline_tflops"].get<double>());
      }
      md << " |\n";
    }
  }
  if (!report["failures"].empty()) {
    md << "\n### Failures\n\n";
    for (const json& f : report["failures"])
      md << "- " << f["id"].get<std::string>() << ": " << f["error"].get<std::string>() << "\n";
  }
  return md.str();
}

}  // namespace sdfast::bench
