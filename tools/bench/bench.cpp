// The benchmark runner: plans the rows, runs each in its own process, writes the JSON report
// after every measurement, renders the markdown tables.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/child_process.h"
#include "bench/job.h"
#include "bench/machine_info.h"
#include "bench/measure.h"
#include "bench/plan.h"
#include "bench/report.h"
#include "core/error.h"
#include "io/json.h"
#include "bench/bench.h"

namespace sdfast::bench {

namespace fs = std::filesystem;

namespace {

// Writes `text` to `path` through a temporary file in the same folder renamed into place, so a
// reader never sees a half-written report.
void write_atomically(const std::string& path, const std::string& text) {
  const fs::path target(path);
  const fs::path tmp = target.parent_path() / (target.filename().string() + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot write '", tmp.string(), "'");
    out << text;
    out.close();
    if (!out) fail("cannot write '", tmp.string(), "'");
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) fail("cannot rename '", tmp.string(), "' to '", path, "': ", ec.message());
}

}  // namespace

std::string default_json_report_name() { return utc_now("sdfast-bench-%Y%m%d-%H%M%S.json"); }

BenchReport run_benchmarks(const BenchOptions& options) {
  BenchOptions o = options;
  if (o.child_command.empty()) fail_argument("bench: child_command is empty");
  if (o.models_dir.empty()) o.models_dir = default_models_dir(o.quick);
  const ModelPaths models = resolve_models(o.models_dir, o.quick, o.extra_models);
  const std::vector<Row> plan = make_plan(o, models);
  const auto log = [&](const std::string& line) {
    if (o.log) o.log(line);
  };

  RunInfo run;
  run.options = &o;
  run.machine = read_machine_info(o.threads);
  run.load_start = load_average();
  run.started_at = utc_now();
  log("machine: " + run.machine.summary());
  log("load average at start: " + load_average_str(run.load_start) +
      (run.load_start && (*run.load_start)[0] > 1.5
           ? "  (the machine is busy: timings will be noisy)"
           : ""));

  std::vector<Measured> measured;
  const auto write_json = [&] {
    if (!o.json_path.empty())
      write_atomically(o.json_path, make_report_json(run, measured).dump(2) + "\n");
  };
  int failures = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    const Row& row = plan[i];
    log(str_cat("[", i + 1, "/", plan.size(), "] ", row.job.id, ": ", row.label, " (load ",
                load_average_str(load_average()), ")"));
    Measured m{row, run_in_child(o.child_command, row.job)};
    if (!m.outcome.ok) {
      ++failures;
      log(str_cat("  FAILED: ", m.outcome.error));
    }
    measured.push_back(std::move(m));
    write_json();
  }
  run.load_end = load_average();
  run.finished_at = utc_now();
  run.complete = true;
  log("load average at end: " + load_average_str(run.load_end));

  const nlohmann::json report = make_report_json(run, measured);
  BenchReport out;
  out.json = report.dump(2) + "\n";
  out.markdown = render_markdown(report);
  out.failures = failures;
  if (!o.json_path.empty()) write_atomically(o.json_path, out.json);
  return out;
}

std::string render_report_markdown(const std::string& json_text) {
  const nlohmann::json report = parse_json(json_text, "bench report");
  if (!report.is_object() || report.value("schema", "") != "sdfast-bench/1")
    fail("not an sdfast bench report (schema \"sdfast-bench/1\")");
  try {
    return render_markdown(report);
  } catch (const nlohmann::json::exception& e) {
    fail("malformed sdfast bench report: ", e.what());
  }
}

void run_job(const std::string& job_json, const std::string& result_path) {
  nlohmann::json result;
  try {
    const Job job = Job::from_json(parse_json(job_json, "bench job (--one)"));
    std::fprintf(stderr, "  [%s] %s in process %d\n", job.id.c_str(), job.kind.c_str(),
                 int(::getpid()));
    result = run_job_here(job);
  } catch (const std::exception& e) {
    std::ofstream(result_path, std::ios::trunc)
        << nlohmann::json{{"error", e.what()}}.dump() << "\n";
    throw;
  }
  std::ofstream out(result_path, std::ios::trunc);
  out << result.dump() << "\n";
  out.close();
  if (!out) fail("cannot write the bench result '", result_path, "'");
}

}  // namespace sdfast::bench
