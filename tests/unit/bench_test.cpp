// The benchmark: its pure parts (median, /proc/cpuinfo parsing, job and option validation, the
// plan, the derived numbers of the report) and a smoke run of `sdfast bench --quick` whose JSON
// must parse with the expected keys. No timing assertions.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "bench/job.h"
#include "bench/machine_info.h"
#include "bench/measure.h"
#include "bench/plan.h"
#include "bench/report.h"
#include "io/json.h"
#include "sdfast/error.h"

namespace sdfast::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

fs::path temp_dir(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("sdfast-bench-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(BenchMeasure, Median) {
  EXPECT_DOUBLE_EQ(median({3.0}), 3.0);
  EXPECT_DOUBLE_EQ(median({5.0, 1.0, 3.0}), 3.0);
  EXPECT_DOUBLE_EQ(median({4.0, 1.0, 3.0, 2.0}), 2.5);
  EXPECT_THROW(median({}), Error);
}

TEST(BenchMeasure, ProcessMemoryAndLoad) {
  EXPECT_GT(current_rss_mb(), 0);
  EXPECT_GE(peak_rss_mb(), current_rss_mb() - 1);
  EXPECT_EQ(load_average_str(std::nullopt), "unknown");
  EXPECT_EQ(load_average_str(std::array<double, 3>{0.5, 1.25, 3}), "0.50 1.25 3.00");
}

TEST(BenchMachine, ParsesCpuinfo) {
  const std::string text =
      "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9B45\n"
      "flags\t\t: fpu avx2 avx512f avx512_bf16\n\n"
      "processor\t: 1\nmodel name\t: other\nflags\t\t: fpu amx_bf16\n\n";
  const CpuInfo c = parse_cpuinfo(text);
  EXPECT_EQ(c.model, "AMD EPYC 9B45");
  EXPECT_EQ(c.logical_cpus, 2);
  EXPECT_TRUE(c.has_flag("avx512_bf16"));
  EXPECT_TRUE(c.has_flag("avx512f"));
  EXPECT_FALSE(c.has_flag("amx_bf16"));  // the first processor's flags only
  EXPECT_FALSE(c.has_flag("avx512"));    // whole words
  EXPECT_EQ(parse_cpuinfo("").logical_cpus, 0);
}

TEST(BenchMachine, ReadsThisMachine) {
  const MachineInfo m = read_machine_info(0);
  EXPECT_FALSE(m.cpu.model.empty());
  EXPECT_GE(m.threads, 1);
  EXPECT_FALSE(m.onednn_version.empty());
  const json j = m.to_json();
  for (const char* key :
       {"cpu_model", "logical_cpus", "threads", "isa_flags", "onednn_version", "onednn_cpu_isa"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_TRUE(j["isa_flags"].contains("amx_bf16"));
}

TEST(BenchJob, RejectsMalformedJobs) {
  EXPECT_THROW(Job::from_json(json::array()), InvalidArgument);
  EXPECT_NE(error_of([] {
              Job::from_json({{"kind", "unet"}, {"params", json::object()}});
            }).find("'id'"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              Job::from_json({{"id", "x"}, {"kind", "unet"}, {"params", 3}});
            }).find("'params' must be an object"),
            std::string::npos);
  const Job unknown{"j1", "teleport", json::object()};
  EXPECT_NE(error_of([&] { run_job_here(unknown); }).find("unknown kind 'teleport'"),
            std::string::npos);
  const Job missing{"j2", "matmul", {{"dtype", "f32"}, {"m", 8}, {"k", 8}}};
  EXPECT_NE(error_of([&] { run_job_here(missing); }).find("'n' is missing"), std::string::npos);
  const Job wrong{"j3", "matmul", {{"dtype", "f32"}, {"m", "eight"}, {"k", 8}, {"n", 8}}};
  EXPECT_NE(error_of([&] { run_job_here(wrong); }).find("'m' has the wrong type"),
            std::string::npos);
  const Job bad_dtype{
      "j4", "matmul", {{"dtype", "f16"}, {"m", 8}, {"k", 8}, {"n", 8}, {"inner", 1}}};
  EXPECT_THROW(run_job_here(bad_dtype), InvalidArgument);
  const Job huge{"j5",
                 "attention",
                 {{"dtype", "f32"},
                  {"kernel", "flash"},
                  {"batch", 1},
                  {"tokens", 1 << 30},
                  {"heads", 1},
                  {"head_dim", 8}}};
  EXPECT_NE(error_of([&] { run_job_here(huge); }).find("tokens must be"), std::string::npos);
  const Job lora_layers{"j6", "lora", {{"mode", "unmerged"}, {"dtype", "bf16"}, {"layers", "convs"}}};
  EXPECT_NE(error_of([&] { run_job_here(lora_layers); }).find("layers must be all or attention, got 'convs'"),
            std::string::npos);
}

TEST(BenchJob, MatmulRunsAndReports) {
  const Job job{"mm",
                "matmul",
                {{"dtype", "f32"},
                 {"m", 16},
                 {"k", 8},
                 {"n", 4},
                 {"inner", 2},
                 {"repeats", 3},
                 {"warmup", 0},
                 {"threads", 1}}};
  const json r = run_job_here(job);
  EXPECT_EQ(r["kind"], "matmul");
  EXPECT_EQ(r["wall_s"].size(), 3u);
  EXPECT_EQ(r["gflops"].size(), 3u);
  EXPECT_TRUE(r["implementation"].is_string());
  EXPECT_TRUE(r["median_s"].is_number());
  EXPECT_EQ(r["threads"], 1);
}

BenchOptions quick_options() {
  BenchOptions o;
  o.quick = true;
  o.repeats = 1;
  return o;
}

TEST(BenchPlan, TableFiveComparesConcurrentWithSequentialRuns) {
  const ModelPaths models = resolve_models(default_models_dir(true), true, false);
  BenchOptions o = quick_options();
  o.tables = {5};
  std::vector<Row> table5;
  for (const Row& r : make_plan(o, models))
    if (r.table == "table5") table5.push_back(r);
  ASSERT_EQ(table5.size(), 2u);
  EXPECT_EQ(table5[0].job.params["mode"], "sequential");
  EXPECT_EQ(table5[0].job.params["threads_each"], 2);
  EXPECT_EQ(table5[1].job.params["mode"], "concurrent");
  EXPECT_EQ(table5[1].job.params["threads_each"], 1);
  EXPECT_EQ(table5[1].baseline, "t5.sequential");
  EXPECT_EQ(table5[1].job.params["model"], models.sd15);
}

TEST(BenchPlan, ValidatesOptions) {
  const ModelPaths models = resolve_models(default_models_dir(true), true, false);
  BenchOptions o = quick_options();
  o.tables = {6};
  EXPECT_THROW(make_plan(o, models), InvalidArgument);
  o.tables = {};
  EXPECT_THROW(make_plan(o, models), InvalidArgument);
  o = quick_options();
  o.repeats = 0;
  EXPECT_THROW(make_plan(o, models), InvalidArgument);
  o = quick_options();
  o.estimate_from_steps = 99;
  EXPECT_NE(error_of([&] { make_plan(o, models); }).find("--estimate-from-steps"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              resolve_models("/nonexistent-sdfast-models", false, false);
            }).find("/nonexistent-sdfast-models"),
            std::string::npos);
}

TEST(BenchPlan, DeepCacheTable) {
  const ModelPaths models = resolve_models(default_models_dir(false), false, false);
  BenchOptions o;
  o.tables = {4};
  o.estimate_from_steps = 2;  // never applied to DeepCache rows
  const auto table4 = [&] {
    std::vector<Row> t4;
    for (const Row& r : make_plan(o, models))
      if (r.table == "table4") t4.push_back(r);
    return t4;
  };
  // By default: one UNet job per model and dtype, bf16 first.
  std::vector<Row> t4 = table4();
  ASSERT_EQ(t4.size(), 4u);
  for (const Row& r : t4) {
    EXPECT_EQ(r.job.kind, "unet");
    EXPECT_EQ(r.job.params["deepcache_branch"], 0);
    EXPECT_EQ(r.job.params["batch"], 2);
    EXPECT_EQ(r.job.params["intervals"], nlohmann::json({2, 3, 5}));
    EXPECT_EQ(r.job.params["schedules"].size(), 2u);
  }
  EXPECT_EQ(t4.front().job.params["dtype"], "bf16");
  EXPECT_EQ(t4.back().job.params["dtype"], "f32");
  // With full runs: every combination end to end against its uncached run, never extrapolated.
  o.deepcache_full_runs = true;
  t4 = table4();
  ASSERT_EQ(t4.size(), 4u + 32u);  // + 2 dtypes x 2 models x 2 schedulers x {off, 2, 3, 5}
  EXPECT_EQ(t4[4].job.params["dtype"], "bf16");
  EXPECT_EQ(t4.back().job.params["dtype"], "f32");
  for (size_t i = 4; i < t4.size(); ++i) {
    const Row& r = t4[i];
    EXPECT_EQ(r.job.kind, "pipeline");
    EXPECT_EQ(r.job.params["estimate_from_steps"], 0) << r.job.id;
    EXPECT_EQ(r.job.params["images"], 1) << r.job.id;
    EXPECT_EQ(r.job.params["size"], 512) << r.job.id;
    const int n = r.job.params["deepcache"].get<int>();
    EXPECT_EQ(r.baseline, r.section + ".off") << r.job.id;
    EXPECT_EQ(r.job.id, n == 0 ? r.section + ".off" : r.section + ".n" + std::to_string(n));
    EXPECT_EQ(r.job.params["steps"], r.job.params["scheduler"] == "DDIMScheduler" ? 50 : 25);
  }
}

TEST(BenchPlan, FullPlanHasTheGuidesRows) {
  const ModelPaths models = resolve_models(default_models_dir(false), false, true);
  BenchOptions o;
  o.estimate_from_steps = 3;
  const std::vector<Row> rows = make_plan(o, models);
  std::map<std::string, const Row*> by_id;
  for (const Row& r : rows) by_id[r.job.id] = &r;
  ASSERT_EQ(rows.front().table, "roofline");
  for (const char* id :
       {"roofline.f32", "roofline.bf16", "t1.fp32", "t1.bf16", "t1.bf16.img2img", "t2.sd15", "t2.bk-small",
        "t2.bk-small-taesd", "t3.unet.sd15.f32", "t3.unet.sd15.bf16", "t3.unet.bk-small.bf16",
        "t3.text_encoder.bf16", "t3.vae.bf16", "t3.taesd.bf16", "t3.attention.bf16.naive",
        "t3.unet.sd15.bf16.naive", "t3.extra.unet.bk-sdm-base"})
    EXPECT_EQ(by_id.count(id), 1u) << id;
  const Row& t1 = *by_id.at("t1.fp32");
  EXPECT_EQ(t1.job.params["steps"], 50);
  EXPECT_EQ(t1.job.params["scheduler"], "DDIMScheduler");
  EXPECT_EQ(t1.job.params["size"], 512);
  EXPECT_EQ(t1.job.params["estimate_from_steps"], 3);
  const Row& t2 = *by_id.at("t2.bk-small-taesd");
  EXPECT_EQ(t2.job.params["images"], 4);
  EXPECT_EQ(t2.job.params["steps"], 25);
  EXPECT_EQ(t2.job.params["dtype"], "bf16");
  EXPECT_EQ(t2.job.params["scheduler"], "PNDMScheduler");
  EXPECT_DOUBLE_EQ(t2.guide_speedup, 1.56);
  EXPECT_EQ(t2.baseline, "t2.sd15");
  const Row& step = *by_id.at("t3.unet.sd15.bf16");
  ASSERT_TRUE(step.cost.has_value());
  EXPECT_DOUBLE_EQ(step.cost->gmac, 2 * 401.6);  // guidance batch of 2
  EXPECT_EQ(step.cost->parameters, 859520964);
  ASSERT_TRUE(step.target.has_value());
  EXPECT_DOUBLE_EQ(step.target->limit, 0.8);
  ASSERT_TRUE(by_id.at("t1.bf16")->target.has_value());
  EXPECT_EQ(by_id.at("t1.bf16")->target->metric, "peak_rss_mb");
  const Row& img2img = *by_id.at("t1.bf16.img2img");
  EXPECT_EQ(img2img.job.params["strength"], 0.6);
  EXPECT_EQ(img2img.job.params["steps"], 50);  // the same steps as text-to-image
  EXPECT_EQ(img2img.baseline, "t1.bf16");
}

// A synthetic run (no processes): the report's derived numbers.
TEST(BenchReport, DerivesSpeedupsThroughputAndTargets) {
  BenchOptions o;
  o.tables = {1, 3};
  const auto make_row = [](const char* table, const char* section, const char* label,
                           const char* id, const char* kind, const char* dtype) {
    Row r;
    r.table = table;
    r.section = section;
    r.label = label;
    r.job = Job{id, kind, {{"dtype", dtype}}};
    return r;
  };
  Row roof = make_row("roofline", "", "bf16 matmul", "roofline.bf16", "matmul", "bf16");
  Row fp32 = make_row("table1", "", "fp32 baseline", "t1.fp32", "pipeline", "f32");
  fp32.baseline = "t1.fp32";
  fp32.guide_speedup = 1.0;
  Row bf16 = fp32;
  bf16.label = "bf16";
  bf16.job = {"t1.bf16", "pipeline", {{"dtype", "bf16"}}};
  bf16.guide_speedup = 1.40;
  bf16.target = Target{"peak_rss_mb", 3000, "peak RSS <= 3.5 GB"};
  Row unet = make_row("table3", "unet", "SD1.5 step", "t3.unet.sd15.bf16", "unet", "bf16");
  unet.cost = Cost{800, 1000};
  unet.target = Target{"median_s", 0.8, "<= 0.8 s"};
  Row wrong_model = unet;
  wrong_model.job.id = "t3.other";
  Row failed = make_row("table3", "vae", "VAE", "t3.vae.bf16", "vae_decode", "bf16");
  Row failed_pipeline = make_row("table2", "", "SD1.5", "t2.sd15", "pipeline", "bf16");
  failed_pipeline.baseline = "t2.sd15";
  failed.target = Target{"median_s", 2.0, "<= 2.0 s"};

  const auto ok = [](json result) { return ChildOutcome{true, std::move(result), "", 1.0}; };
  const json pipe = {{"latency_median_s", 10.0}, {"estimated", false},
                     {"peak_rss_mb", 2500.0},    {"unet_step_median_s", {0.5, 0.7}},
                     {"text_encoder_s", {0.1}},  {"vae_decode_s", {1.0}},
                     {"unet_evaluations", 50}};
  json pipe_fast = pipe;
  pipe_fast["latency_median_s"] = 4.0;
  pipe_fast["peak_rss_mb"] = 3500.0;
  std::vector<Measured> measured = {
      {roof, ok({{"gflops_median", 1000.0}, {"implementation", "brg:avx512_core_bf16"}})},
      {fp32, ok(pipe)},
      {bf16, ok(pipe_fast)},
      {unet, ok({{"median_s", 2.0}, {"parameters", 1000}, {"peak_rss_mb", 100.0}})},
      {wrong_model, ok({{"median_s", 2.0}, {"parameters", 999}})},
      {failed, ChildOutcome{false, nullptr, "exit status 1: out of memory", 1.0}},
      {failed_pipeline, ChildOutcome{false, nullptr, "killed by signal 9 (Killed)", 1.0}}};
  RunInfo run;
  run.options = &o;
  run.machine.cpu.model = "test CPU";
  run.started_at = run.finished_at = "2025-01-01T00:00:00Z";
  run.complete = true;
  const json report = make_report_json(run, measured);

  EXPECT_EQ(report["schema"], "sdfast-bench/1");
  const json& t1 = report["table1"]["rows"];
  ASSERT_EQ(t1.size(), 2u);
  EXPECT_DOUBLE_EQ(t1[0]["speedup"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(t1[1]["speedup"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(t1[1]["unet_step_s"].get<double>(), 0.6);
  EXPECT_EQ(t1[1]["target"]["met"], false);  // 3500 MiB > 3000
  const json& t3 = report["table3"]["rows"];
  ASSERT_EQ(t3.size(), 3u);
  EXPECT_DOUBLE_EQ(t3[0]["tflops"].get<double>(), 0.8);  // 2 * 800 GMAC / 2 s
  EXPECT_DOUBLE_EQ(t3[0]["roofline_fraction"].get<double>(), 0.8);
  EXPECT_EQ(t3[0]["target"]["met"], false);
  EXPECT_DOUBLE_EQ(t3[0]["target"]["required_tflops"].get<double>(), 2.0);  // 2 * 800 G / 0.8 s
  EXPECT_DOUBLE_EQ(t3[0]["target"]["roofline_tflops"].get<double>(), 1.0);
  EXPECT_TRUE(t3[1]["tflops"].is_null());  // parameter count differs: no FLOP figure
  EXPECT_NE(t3[1]["cost_note"].get<std::string>().find("999"), std::string::npos);
  EXPECT_EQ(t3[2]["status"], "failed");
  EXPECT_TRUE(t3[2]["target"]["met"].is_null());
  ASSERT_EQ(report["failures"].size(), 2u);
  ASSERT_EQ(report["table2"]["rows"].size(), 1u);
  EXPECT_TRUE(report["table2"]["rows"][0]["speedup"].is_null());
  EXPECT_EQ(report["targets"].size(), 4u);  // every row with a target, failed ones too

  const std::string md = render_markdown(report);
  EXPECT_EQ(md.find("Extrapolated"), std::string::npos);  // measured, not estimated
  EXPECT_NE(md.find("x2.50"), std::string::npos);
  EXPECT_NE(md.find("x1.40"), std::string::npos);
  EXPECT_NE(md.find("MISSED"), std::string::npos);
  EXPECT_NE(md.find("2.00 TFLOP/s = 2.0x the roofline"), std::string::npos);
  EXPECT_NE(md.find("FAILED"), std::string::npos);
  EXPECT_NE(md.find("out of memory"), std::string::npos);
  EXPECT_NE(md.find("no AMX"), std::string::npos);  // the synthetic CPU has no flags
}

// The command line end to end in quick mode: every measurement in its own process, JSON with the
// expected keys, markdown on stdout. Checks structure only, never timings.
TEST(BenchCommand, QuickRunWritesTheReport) {
  const fs::path d = temp_dir("quick");
  const fs::path json_path = d / "bench.json", md_path = d / "bench.md", out_path = d / "out.txt";
  const std::string cmd = std::string(SDFAST_BINARY) + " bench --quick --json " +
                          json_path.string() + " --markdown " + md_path.string() + " > " +
                          out_path.string() + " 2> " + (d / "err.txt").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_text(d / "err.txt");
  const json r = parse_json(read_text(json_path), json_path.string());
  EXPECT_EQ(r["schema"], "sdfast-bench/1");
  EXPECT_EQ(r["complete"], true);
  EXPECT_EQ(r["mode"], "quick");
  for (const char* key : {"cpu_model", "logical_cpus", "threads", "isa_flags", "onednn_version"})
    EXPECT_TRUE(r["machine"].contains(key)) << key;
  EXPECT_TRUE(r["load_average"].contains("start"));
  EXPECT_TRUE(r["failures"].empty()) << r["failures"].dump();
  ASSERT_EQ(r["roofline"]["rows"].size(), 2u);
  for (const json& row : r["roofline"]["rows"]) EXPECT_TRUE(row["gflops"].is_number());
  ASSERT_EQ(r["table1"]["rows"].size(), 3u);  // fp32, bf16, bf16 img2img
  ASSERT_EQ(r["table2"]["rows"].size(), 3u);
  const json& img2img = r["table1"]["rows"][2];
  EXPECT_EQ(img2img["id"], "t1.bf16.img2img");
  EXPECT_EQ(img2img["result"]["strength"], 0.6);
  EXPECT_TRUE(img2img["result"]["vae_encode_s"].is_array());
  std::set<std::string> sections;
  for (const char* table : {"table1", "table2", "table3"})
    for (const json& row : r[table]["rows"]) {
      EXPECT_EQ(row["status"], "ok") << row["id"];
      EXPECT_TRUE(row["median_s"].is_number()) << row["id"];
      EXPECT_GT(row["peak_rss_mb"].get<double>(), 0) << row["id"];
      EXPECT_TRUE(row["result"]["wall_s"].is_array()) << row["id"];
      if (std::string(table) != "table3") {
        EXPECT_TRUE(row["speedup"].is_number()) << row["id"];
      }
      sections.insert(row["section"].get<std::string>());
    }
  for (const char* s : {"unet", "text_encoder", "vae", "attention"})
    EXPECT_EQ(sections.count(s), 1u) << s;
  const std::string md = read_text(out_path);
  EXPECT_NE(md.find("### Table 1"), std::string::npos);
  EXPECT_NE(md.find("QUICK MODE"), std::string::npos);
  EXPECT_EQ(read_text(md_path), md);

  // A saved report renders to the same tables.
  const fs::path rendered = d / "rendered.md";
  const std::string render = std::string(SDFAST_BINARY) + " bench --render " + json_path.string() +
                             " > " + rendered.string();
  ASSERT_EQ(std::system(render.c_str()), 0);
  EXPECT_EQ(read_text(rendered), md);

  // The report is never overwritten unless asked (exit status 2, before measuring anything).
  const std::string again = std::string(SDFAST_BINARY) + " bench --quick --tables 3 --json " +
                            json_path.string() + " > /dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(again.c_str())), 2);
  fs::remove_all(d);
}

// The hidden child mode reports a bad job in its result file and exits with status 2.
TEST(BenchCommand, ChildModeReportsErrors) {
  const fs::path d = temp_dir("child");
  const fs::path result = d / "result.json";
  const std::string cmd =
      std::string(SDFAST_BINARY) +
      " bench --one '{\"id\":\"x\",\"kind\":\"unet\",\"params\":{}}' --result " + result.string() +
      " > /dev/null 2>&1";
  EXPECT_EQ(WEXITSTATUS(std::system(cmd.c_str())), 2);
  const json r = parse_json(read_text(result), result.string());
  EXPECT_NE(r["error"].get<std::string>().find("bench job 'x': parameter '"), std::string::npos);
  EXPECT_NE(r["error"].get<std::string>().find("is missing"), std::string::npos);
  fs::remove_all(d);
}

}  // namespace
}  // namespace sdfast::bench
