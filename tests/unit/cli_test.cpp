// The command-line program as users run it (ENGINEERING.md section 4, items 10-12): build/sdfast
// runs as a subprocess on the tiny golden SD 1.5 pipeline (64x64, 2 steps: well under a second).
// Every bad option exits with status 2, prints a message naming the option, and leaves nothing
// behind: no output folder, no image, no temporary file. Output files are numbered, never
// overwritten, never written outside the chosen folder or through a symbolic link.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hostile_test_util.h"
#include "simd/dispatch.h"

namespace sdfast {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::write_file;

const std::string kModel = std::string(SDFAST_TEST_DATA) + "/golden/models/tiny-sd15-pipeline";

struct CliRun {
  int status = -1;  // exit status; 128 + signal when killed
  std::string out, err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs build/sdfast with `args` in the folder `cwd`; stdout and stderr are captured in files
// outside `cwd`. A run that takes more than two minutes is killed (a hang fails, it does not
// block).
CliRun run_sdfast(const std::vector<std::string>& args, const std::string& cwd) {
  static int counter = 0;
  const std::string capture =
      fs::temp_directory_path() /
      ("sdfast-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    const int out = ::open((capture + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open((capture + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(126);
    std::vector<char*> argv;
    std::string binary = SDFAST_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::alarm(120);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  CliRun r;
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(capture + ".out");
  r.err = read_file(capture + ".err");
  fs::remove(capture + ".out");
  fs::remove(capture + ".err");
  return r;
}

// Every file and folder under `dir`, relative, sorted.
std::vector<std::string> tree(const std::string& dir) {
  std::vector<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    names.push_back(e.path().lexically_relative(dir).string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

// A quick generation into `output`. `extra` replaces the value of an option given here (an option
// given twice is an error of its own), or is added (a second -p adds a prompt).
std::vector<std::string> generate_args(const std::string& output,
                                       const std::vector<std::string>& extra = {}) {
  std::vector<std::pair<std::string, std::string>> base = {
      {"--model", kModel}, {"-p", "a red circle"}, {"--steps", "2"}, {"--width", "64"},
      {"--height", "64"},  {"--guidance", "1"},    {"-o", output}};
  std::vector<std::string> added;
  for (size_t i = 0; i < extra.size(); ++i) {
    auto it =
        std::find_if(base.begin(), base.end(), [&](const auto& p) { return p.first == extra[i]; });
    if (it == base.end() || extra[i] == "-p") {
      added.push_back(extra[i]);
    } else if (i + 1 < extra.size()) {
      it->second = extra[++i];
    } else {  // the option without its value
      base.erase(it);
      added.push_back(extra[i]);
    }
  }
  std::vector<std::string> a = {"generate"};
  for (const auto& [flag, value] : base) {
    a.push_back(flag);
    a.push_back(value);
  }
  a.push_back("-q");
  a.insert(a.end(), added.begin(), added.end());
  return a;
}

struct BadOption {
  const char* name;
  std::vector<std::string> args;    // added to a good command (a later option wins)
  std::vector<std::string> expect;  // parts of stderr
};

void PrintTo(const BadOption& b, std::ostream* os) { *os << b.name; }

std::vector<BadOption> bad_options() {
  return {
      // size
      {"WidthNotMultipleOf8", {"--width", "60"}, {"--width", "multiple of 8", "60"}},
      {"WidthNegative", {"--width", "-8"}, {"--width", "-8"}},
      {"WidthAbove4096", {"--width", "4104"}, {"--width", "4104"}},
      {"WidthOverflowsInt", {"--width", "99999999999"}, {"--width", "99999999999"}},
      {"WidthNotANumber", {"--width", "wide"}, {"--width", "wide"}},
      {"HeightNotMultipleOf8", {"--height", "7"}, {"--height", "7"}},
      {"HeightFloat", {"--height", "64.5"}, {"--height", "64.5"}},
      // steps
      {"StepsZero", {"--steps", "0"}, {"--steps", "0"}},
      {"StepsNegative", {"--steps", "-1"}, {"--steps", "-1"}},
      {"StepsAbove1000", {"--steps", "1001"}, {"--steps", "1001"}},
      {"StepsHuge", {"--steps", "4294967296"}, {"--steps", "4294967296"}},
      {"StepsEmpty", {"--steps", ""}, {"--steps"}},
      // guidance
      {"GuidanceNaN", {"--guidance", "nan"}, {"--guidance", "nan"}},
      {"GuidanceInfinity", {"--guidance", "inf"}, {"--guidance", "inf"}},
      {"GuidanceMinusInfinity", {"--guidance", "-inf"}, {"--guidance", "-inf"}},
      {"GuidanceOverflows", {"--guidance", "1e309"}, {"--guidance", "1e309"}},
      {"GuidanceHuge", {"--guidance", "1e6"}, {"--guidance", "1e6"}},
      {"GuidanceNotANumber", {"--guidance", "7.5x"}, {"--guidance", "7.5x"}},
      // images and seeds
      {"NumImagesZero", {"--num-images", "0"}, {"--num-images", "0"}},
      {"NumImagesNegative", {"--num-images", "-1"}, {"--num-images", "-1"}},
      {"NumImagesHuge", {"--num-images", "257"}, {"--num-images", "257"}},
      {"SeedNegative", {"--seed", "-1"}, {"--seed", "-1"}},
      {"SeedOverflows", {"--seed", "18446744073709551616"}, {"--seed", "18446744073709551616"}},
      {"SeedNotANumber", {"--seed", "abc"}, {"--seed", "abc"}},
      {"SeedWithSign", {"--seed", "+5"}, {"--seed", "+5"}},
      {"SeedFloat", {"--seed", "5.0"}, {"--seed", "5.0"}},
      {"NegativePromptsCount",
       {"--negative-prompt", "x", "--negative-prompt", "y"},
       {"--negative-prompt", "--prompt"}},
      // choices
      {"UnknownGenerator", {"--generator", "cuda"}, {"--generator", "cuda"}},
      {"UnknownScheduler", {"--scheduler", "k_euler"}, {"--scheduler", "k_euler", "dpmpp_2m"}},
      {"UnknownDtype", {"--dtype", "f16"}, {"--dtype", "f16"}},
      {"UnknownAttention", {"--attention", "sdpa"}, {"--attention", "sdpa"}},
      {"UnknownUpscaleFilter", {"--upscale-filter", "cubic"}, {"--upscale-filter", "cubic"}},
      // ranges
      {"EtaNegative", {"--eta", "-0.1"}, {"--eta"}},
      {"EtaAboveOne", {"--eta", "1.5"}, {"--eta"}},
      {"EtaNaN", {"--eta", "nan"}, {"--eta"}},
      {"ClipSkipNegative", {"--clip-skip", "-1"}, {"--clip-skip"}},
      {"ClipSkipHuge", {"--clip-skip", "11"}, {"clip_skip", "11"}},
      // Allowed by the command line, more than this text encoder has (checked after loading).
      {"ClipSkipAboveTheModelsLayers", {"--clip-skip", "3"}, {"clip_skip", "between 0 and 2", "3"}},
      {"ThreadsNegative", {"--threads", "-1"}, {"--threads", "-1"}},
      {"ThreadsHuge", {"--threads", "100000"}, {"--threads", "100000"}},
      {"UpscaleZero", {"--upscale", "0"}, {"--upscale"}},
      {"UpscaleAbove16", {"--upscale", "17"}, {"--upscale"}},
      {"GridWrongCount", {"--grid", "3x3"}, {"--grid", "9 images", "1 will be generated"}},
      {"GridNotRowsByCols", {"--grid", "2by2"}, {"--grid", "2by2"}},
      {"GridZero", {"--grid", "0x1"}, {"--grid"}},
      {"BothVaes", {"--tiny-vae", "a", "--vae", "b"}, {"--tiny-vae", "--vae"}},
      {"TimingsJsonInMissingFolder",
       {"--timings-json", "no/such/folder/t.json"},
       {"--timings-json", "no/such/folder"}},
      {"TimingsJsonIsAFolder", {"--timings-json", "."}, {"--timings-json", "is a folder"}},
      // prompts
      {"PromptInvalidUtf8", {"-p", "bad \xff byte"}, {"prompt", "not valid UTF-8", "0xff"}},
      {"PromptTruncatedUtf8", {"-p", "tail \xE6\x9D"}, {"prompt", "not valid UTF-8"}},
      {"NegativePromptInvalidUtf8",
       {"--negative-prompt", "\xC0\x80"},
       {"negative prompt", "not valid UTF-8"}},
      // the command line itself
      {"UnknownOption", {"--cfg-scale", "7"}, {"--cfg-scale"}},
      {"OptionWithoutValue", {"--steps"}, {"--steps"}},
  };
}

class CliBadOption : public ::testing::TestWithParam<BadOption> {};

TEST_P(CliBadOption, ExitsWithStatus2NamingTheOptionAndWritesNothing) {
  const BadOption& bad = GetParam();
  TempDir tmp;
  const std::string work = tmp / "work";  // the working folder: must stay empty
  fs::create_directories(work);
  const CliRun r = run_sdfast(generate_args("out/images", bad.args), work);
  if (std::getenv("SDFAST_SHOW_ERRORS")) std::printf("    stderr: %s", r.err.c_str());
  EXPECT_EQ(r.status, 2) << r.err;
  for (const std::string& part : bad.expect)
    EXPECT_NE(r.err.find(part), std::string::npos) << "stderr lacks \"" << part << "\": " << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(joined(tree(work)), "") << "left behind in the working folder";
}

INSTANTIATE_TEST_SUITE_P(Cases, CliBadOption, ::testing::ValuesIn(bad_options()),
                         [](const ::testing::TestParamInfo<BadOption>& info) {
                           return info.param.name;
                         });

TEST(CliBadOptionCount, DistinctBadInputs) { EXPECT_EQ(bad_options().size(), 53u); }

TEST(Cli, ABadOptionLeavesAnExistingOutputFolderAsItWas) {
  TempDir tmp;
  const std::string out = tmp / "out";
  write_file(out + "/00003-7.png", "not really a png");
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{"--steps", "0"}, {"--scheduler", "nope"}, {"--clip-skip", "3"}}) {
    const CliRun r = run_sdfast(generate_args(out, extra), tmp.path());
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_EQ(joined(tree(out)), "00003-7.png");
    EXPECT_EQ(read_file(out + "/00003-7.png"), "not really a png");
  }
}

TEST(Cli, BadModelPathsFailWithTheirNameAndWriteNothing) {
  TempDir tmp;
  const std::string work = tmp / "work";
  fs::create_directories(work);
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::string missing = tmp / "missing-model";
  write_file(tmp / "model.ckpt", "PK\x03\x04");
  for (const Case& c : std::vector<Case>{
           {{"--model", missing}, missing},
           {{"--model", tmp / "model.ckpt"}, "pickle"},
           {{"--model", kModel + "/unet"}, "no model_index.json"},
           {{"--vae", tmp / "missing-vae"}, "missing-vae"},
           {{"--tiny-vae", kModel + "/text_encoder"}, "not a VAE"},
       }) {
    const CliRun r = run_sdfast(generate_args("out", c.args), work);
    EXPECT_NE(r.status, 0);
    EXPECT_LE(r.status, 2) << "crashed: " << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_EQ(joined(tree(work)), "") << joined(c.args);
  }
}

TEST(Cli, DamagedModelFailsNamingTheTensorAndWritesNothing) {
  TempDir tmp;
  const std::string model = tmp / "model";
  testing::link_tree(kModel, model);
  write_file(model + "/unet/diffusion_pytorch_model.safetensors",
             testing::safetensors_bytes("{}", 0));  // no tensors (replaces the link)
  const std::string work = tmp / "work";
  fs::create_directories(work);
  const CliRun r = run_sdfast(generate_args("out", {"--model", model}), work);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("missing tensor 'conv_in.weight'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(model + "/unet/diffusion_pytorch_model.safetensors"), std::string::npos);
  EXPECT_EQ(joined(tree(work)), "");
}

TEST(Cli, UsageErrorsWithoutGenerate) {
  TempDir tmp;
  for (const std::vector<std::string>& args : {std::vector<std::string>{},
                                               {"render"},
                                               {"generate"},
                                               {"golden"},
                                               {"golden", tmp / "no-such-cases"}}) {
    const CliRun r = run_sdfast(args, tmp.path());
    EXPECT_EQ(r.status, 2) << joined(args) << ": " << r.err;
    EXPECT_FALSE(r.err.empty()) << joined(args);
  }
  EXPECT_EQ(joined(tree(tmp.path())), "");
}

// ---- output files

TEST(CliOutput, NumberedFilesAreNeverOverwritten) {
  TempDir tmp;
  const std::string out = tmp / "out";
  CliRun r = run_sdfast(generate_args(out), tmp.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(joined(tree(out)), "00000-0.png");
  const std::string first = read_file(out + "/00000-0.png");
  r = run_sdfast(generate_args(out, {"--seed", "5", "--num-images", "2", "--grid", "1x2"}),
                 tmp.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(joined(tree(out)), "00000-0.png 00001-5.png 00002-6.png 00003-grid.png");
  EXPECT_EQ(read_file(out + "/00000-0.png"), first);
  // Files the user put there, whatever they are, are skipped and kept.
  write_file(out + "/00007-x.png", "mine");
  r = run_sdfast(generate_args(out), tmp.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(out + "/00007-x.png"), "mine");
  EXPECT_TRUE(fs::exists(out + "/00008-0.png"));
  EXPECT_EQ(read_file(out + "/00000-0.png"), first);  // same seed, same image, new file
  EXPECT_EQ(read_file(out + "/00008-0.png"), first);
}

TEST(CliOutput, SymbolicLinksInTheFolderAreNeverWrittenThrough) {
  TempDir tmp;
  const std::string out = tmp / "out";
  fs::create_directories(out);
  write_file(tmp / "victim", "keep me");
  fs::create_symlink(tmp / "victim", out + "/00000-0.png");
  fs::create_symlink(tmp / "nowhere", out + "/00001-0.png");  // dangling
  const CliRun r = run_sdfast(generate_args(out), tmp.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(tmp / "victim"), "keep me");
  EXPECT_FALSE(fs::exists(tmp / "nowhere"));
  EXPECT_EQ(joined(tree(out)), "00000-0.png 00001-0.png 00002-0.png");
  EXPECT_FALSE(fs::is_symlink(out + "/00002-0.png"));
}

TEST(CliOutput, NothingIsWrittenOutsideTheOutputFolder) {
  // Prompts that look like paths end up in the PNG text, never in file names.
  TempDir tmp;
  const std::string work = tmp / "work";
  fs::create_directories(work);
  const CliRun r = run_sdfast({"generate",
                               "--model",
                               kModel,
                               "-p",
                               "../../escape",
                               "-p",
                               "/etc/passwd",
                               "-p",
                               "a\nb",
                               "--negative-prompt",
                               "../x",
                               "--steps",
                               "2",
                               "--width",
                               "64",
                               "--height",
                               "64",
                               "--grid",
                               "1x3",
                               "-o",
                               "out",
                               "-q",
                               "--timings-json",
                               "t.json"},
                              work);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(joined(tree(work)),
            "out out/00000-0.png out/00001-1.png out/00002-2.png out/00003-grid.png t.json");
  EXPECT_EQ(joined(tree(tmp.path())),
            "work work/out work/out/00000-0.png work/out/00001-1.png "
            "work/out/00002-2.png work/out/00003-grid.png work/t.json");
}

TEST(CliOutput, OutputFolderBelowAFile) {
  // A folder below a regular file cannot be created, whoever runs the test.
  TempDir tmp;
  write_file(tmp / "file", "x");
  CliRun r = run_sdfast(generate_args(tmp / "file/sub"), tmp.path());
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("output folder '" + tmp / "file/sub" + "'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot be created"), std::string::npos) << r.err;
  EXPECT_EQ(joined(tree(tmp.path())), "file");
  EXPECT_EQ(read_file(tmp / "file"), "x");
  // The output folder is a regular file.
  r = run_sdfast(generate_args(tmp / "file"), tmp.path());
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(read_file(tmp / "file"), "x");
}

TEST(CliOutput, ReadOnlyOutputFolder) {
  // Root writes into a read-only folder anyway: this needs an ordinary user (see the test above
  // for a folder that cannot be written by anyone).
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: a read-only folder is writable";
  TempDir tmp;
  const std::string ro = tmp / "read-only";
  fs::create_directories(ro);
  ASSERT_EQ(::chmod(ro.c_str(), 0555), 0);
  const CliRun r = run_sdfast(generate_args(ro), tmp.path());
  ::chmod(ro.c_str(), 0755);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("not writable"), std::string::npos) << r.err;
  EXPECT_EQ(joined(tree(ro)), "");
}

TEST(CliOutput, HugePromptIsTruncatedWithAShortWarning) {
  TempDir tmp;
  std::string prompt;
  while (prompt.size() < 100000) prompt += "a photo of a cat ";
  prompt.resize(100000);
  std::vector<std::string> args = generate_args(tmp / "out");
  args[4] = prompt;
  const CliRun r = run_sdfast(args, tmp.path());
  ASSERT_EQ(r.status, 0) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("sdfast: warning: "), std::string::npos) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("truncated"), std::string::npos);
  EXPECT_NE(r.err.find("more bytes]"), std::string::npos);
  EXPECT_LT(r.err.size(), 2000u) << "the warning repeats the whole prompt";
  EXPECT_EQ(joined(tree(tmp / "out")), "00000-0.png");
}

// Runs sdfast with SDFAST_ISA set to `isa` in its environment.
CliRun run_sdfast_with_isa(const std::string& isa, const std::vector<std::string>& args, const std::string& cwd) {
  const char* old = std::getenv("SDFAST_ISA");
  const std::string saved = old ? old : "";
  ::setenv("SDFAST_ISA", isa.c_str(), 1);
  CliRun r = run_sdfast(args, cwd);
  if (old) ::setenv("SDFAST_ISA", saved.c_str(), 1);
  else ::unsetenv("SDFAST_ISA");
  return r;
}

TEST(CliInfo, NamesTheCpuTheVariantAndOneDnn) {
  TempDir tmp;
  const CliRun r = run_sdfast({"info"}, tmp.path());
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* line : {"CPU:", "Features:", "Kernel variant:", "Variants here:", "oneDNN:", "Threads:"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << " missing from\n" << r.out;
  const CliRun j = run_sdfast({"info", "--json"}, tmp.path());
  ASSERT_EQ(j.status, 0) << j.err;
  const auto info = nlohmann::json::parse(j.out);
  EXPECT_EQ(info["kernel_variant"], simd::isa_name(simd::dispatch().chosen));
  EXPECT_FALSE(info["onednn_cpu_isa"].get<std::string>().empty());
}

TEST(CliInfo, ForcedVariantIsReportedAndAnUnknownOneRefused) {
  TempDir tmp;
  const CliRun r = run_sdfast_with_isa("generic", {"info"}, tmp.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Kernel variant:   generic"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("JIT ISA sse41"), std::string::npos) << r.out;  // oneDNN capped to match
  const CliRun bad = run_sdfast_with_isa("avx1024", {"info"}, tmp.path());
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find("SDFAST_ISA=avx1024 names no kernel variant; expected one of "
                         "generic|avx2|avx512|avx512_bf16|amx"),
            std::string::npos) << bad.err;
}

// bf16 on a variant without native bf16 products runs (bf16 weights, float32 arithmetic) and says so.
TEST(CliInfo, Bf16WithoutNativeProductsRunsAndSaysSo) {
  if (simd::dispatch().best < simd::Isa::Avx2) GTEST_SKIP() << "needs a CPU with AVX2";
  TempDir tmp;
  const std::string out = tmp / "out";
  std::vector<std::string> args = generate_args(out, {"--dtype", "bf16"});
  args.erase(std::remove(args.begin(), args.end(), "-q"), args.end());  // the note is not quiet
  const CliRun r = run_sdfast_with_isa("avx2", args, tmp.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("bf16: weights kept in 16 bits (half the memory), float32 arithmetic: kernel "
                       "variant avx2 has no native bf16 matrix products"),
            std::string::npos) << r.err;
  EXPECT_EQ(joined(tree(out)), "00000-0.png");
}

}  // namespace
}  // namespace sdfast
