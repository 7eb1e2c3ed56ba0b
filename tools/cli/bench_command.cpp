// `sdfast bench`: the speed-up guide's tables on this machine (see include/bench/bench.h and
// BENCHMARKS.md). Prints markdown tables on stdout, progress on stderr, and writes a JSON report.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "bench/bench.h"
#include "sdfast/error.h"

namespace sdfast::cli {

namespace fs = std::filesystem;

namespace {

struct BenchArgs {
  bench::BenchOptions options;
  std::string json_path;
  std::string markdown_path;
  bool overwrite = false;
  std::string render_path;
  // Hidden: the child side of one measurement.
  std::string one_job;
  std::string one_result;
};

// Refuses to replace an existing file unless asked, and a folder or a missing parent folder
// (checked before hours of measurements, not after).
void check_output(const std::string& path, bool overwrite, const char* option) {
  const fs::path p(path);
  if (fs::is_directory(p))
    throw InvalidArgument(std::string(option) + " '" + path + "' is a folder");
  if (fs::exists(p) && !overwrite)
    throw InvalidArgument(std::string(option) + " '" + path +
                          "' exists; pass --overwrite to replace it, or choose another name");
  const fs::path parent = p.parent_path();
  if (!parent.empty() && !fs::is_directory(parent))
    throw InvalidArgument(std::string(option) + ": folder '" + parent.string() +
                          "' does not exist");
}

std::string command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

}  // namespace

void add_bench_command(CLI::App& app, Runner& run, int argc, char** argv) {
  auto args = std::make_shared<BenchArgs>();
  bench::BenchOptions& o = args->options;
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Benchmark: the speed-up guide's tables (fp32 vs bf16; SD1.5 vs BK-SDM-small vs + TAESD) "
      "and per-component timings, at 512x512 with random weights. Markdown on stdout, JSON file.");
  cmd->add_flag("--quick", o.quick,
                "Tiny golden models at 128x128, a few steps: checks the benchmark runs (seconds)");
  cmd->add_option("--tables", o.tables, "Tables to run, e.g. 1,3: 1 fp32 vs bf16, 2 distilled models, 3 components, 4 "
                  "DeepCache, 5 two concurrent requests on one loaded model (4 and 5 not in the "
                  "default; the roofline always runs)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--repeats", o.repeats, "Timed runs per measurement (medians reported)")
      ->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Untimed runs before them")->capture_default_str();
  cmd->add_option("--estimate-from-steps", o.estimate_from_steps,
                  "Tables 1-2: run N steps end to end and extrapolate to the full step count "
                  "(reported as an estimate); 0 runs every step")
      ->capture_default_str();
  cmd->add_flag("--deepcache-full-runs", o.deepcache_full_runs,
                "Table 4: also generate every model x scheduler x dtype x interval end to end "
                "(32 full runs)");
  cmd->add_flag("--extra-models", o.extra_models,
                "Table 3 also times the BK-SDM-base/-tiny and SD 2.1-base UNets and the OpenCLIP-H "
                "text encoder");
  cmd->add_option("--models", o.models_dir,
                  "Folder of the architecture folders (stable-diffusion-v1-5, bk-sdm-small, "
                  "bk-sdm-small-taesd, ...); quick mode: of the tiny golden models. Default: the "
                  "copies in the source tree (bench/configs, tests/golden/models)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--threads", o.threads, "Threads (0: all cores)")->capture_default_str();
  cmd->add_option("--json", args->json_path,
                  "JSON report, rewritten after every measurement (default: "
                  "sdfast-bench-<UTC time>.json)");
  cmd->add_option("--markdown", args->markdown_path, "Also write the markdown tables to this file");
  cmd->add_flag("--overwrite", args->overwrite, "Replace existing --json / --markdown files");
  cmd->add_option("--render", args->render_path,
                  "Print the markdown tables of a saved JSON report and exit (measures nothing)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--one", args->one_job)->group("");  // internal: run one measurement
  cmd->add_option("--result", args->one_result)->group("");
  const std::string line = command_line(argc, argv);
  cmd->callback([args, &run, cmd, line] {
    run = [args, cmd, line] {
      if (!args->one_job.empty()) {
        if (args->one_result.empty()) throw InvalidArgument("--one needs --result FILE");
        bench::run_job(args->one_job, args->one_result);
        return 0;
      }
      if (!args->render_path.empty()) {
        std::ifstream in(args->render_path, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        if (!in) throw Error("cannot read '" + args->render_path + "'");
        std::cout << bench::render_report_markdown(text.str()) << std::flush;
        return 0;
      }
      bench::BenchOptions o = args->options;
      if (o.quick && cmd->count("--repeats") == 0) o.repeats = 1;
      if (o.quick && cmd->count("--warmup") == 0) o.warmup = 1;
      o.json_path = args->json_path.empty() ? bench::default_json_report_name() : args->json_path;
      check_output(o.json_path, args->overwrite, "--json");
      if (!args->markdown_path.empty())
        check_output(args->markdown_path, args->overwrite, "--markdown");
      // Measurements run this very executable: /proc/<our pid>/exe stays this file's inode for as
      // long as we live, even if the build replaces build/sdfast meanwhile.
      o.child_command = {"/proc/" + std::to_string(::getpid()) + "/exe", "bench"};
      o.command_line = line;
      o.log = [](const std::string& s) { std::cerr << s << std::endl; };
      const bench::BenchReport report = bench::run_benchmarks(o);
      std::cout << report.markdown << std::flush;
      if (!args->markdown_path.empty()) {
        std::ofstream out(args->markdown_path, std::ios::trunc);
        out << report.markdown;
        if (!out) throw Error("cannot write '" + args->markdown_path + "'");
      }
      std::cerr << "JSON report: " << o.json_path << "\n";
      if (report.failures > 0) {
        std::cerr << report.failures << " measurement(s) failed (see the report)\n";
        return 1;
      }
      return 0;
    };
  });
}

}  // namespace sdfast::cli
