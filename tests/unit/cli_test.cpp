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
#include "sdfast/image.h"
#include "sdfast/pipeline.h"
#include "io/safetensors.h"
#include "simd/dispatch.h"

namespace sdfast {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::write_file;

const std::string kModel = std::string(SDFAST_TEST_DATA) + "/golden/models/tiny-sd15-pipeline";
const std::string kLoraDir = std::string(SDFAST_TEST_DATA) + "/golden/cases/lora-kohya-sd15";
const std::string kLora = kLoraDir + "/lora_kohya.safetensors";

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
      {"UnknownFormat", {"--format", "gif"}, {"--format", "gif"}},
      // ranges
      {"EtaNegative", {"--eta", "-0.1"}, {"--eta"}},
      {"EtaAboveOne", {"--eta", "1.5"}, {"--eta"}},
      {"EtaNaN", {"--eta", "nan"}, {"--eta"}},
      {"ClipSkipNegative", {"--clip-skip", "-1"}, {"--clip-skip"}},
      {"ClipSkipHuge", {"--clip-skip", "11"}, {"clip_skip", "11"}},
      // Allowed by the command line, more than this text encoder has (checked after loading).
      {"ClipSkipAboveTheModelsLayers", {"--clip-skip", "3"}, {"clip_skip", "between 0 and 2", "3"}},
      {"DeepCacheZero", {"--deepcache", "0"}, {"--deepcache", "'0'", "from 1 to 1000"}},
      {"DeepCacheNotANumber", {"--deepcache", "fast"}, {"--deepcache", "'fast'"}},
      {"DeepCacheEmptyBranch", {"--deepcache", "3:"}, {"--deepcache", "branch id"}},
      // Allowed by the command line, deeper than this UNet's 4 blocks (checked after loading).
      {"DeepCacheBranchAboveTheModels",
       {"--deepcache", "3:12"},
       {"branch id", "between 0 and 11", "12"}},
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
      // LoRA
      {"LoraMissingFile", {"--lora", "no/such.safetensors:0.5"}, {"--lora", "no such file", "no/such.safetensors"}},
      {"LoraScaleHuge", {"--lora", kLora + ":1e6"}, {"--lora", "between -100 and 100"}},
      {"LoraNotALora", {"--lora", kLoraDir + "/data.safetensors"}, {"data.safetensors", "not a LoRA tensor"}},
      {"LoraTwoScales", {"--lora", kLora + ":0.5", "--lora", kLora + ":0.7"}, {"lora_kohya", "scales"}},
      {"LoraUnknownMode", {"--lora-mode", "fused"}, {"--lora-mode", "fused"}},
      {"LoraTagWithoutDir", {"-p", "x <lora:lora_kohya:0.5>"}, {"<lora:lora_kohya:0.5>", "--lora-dir"}},
      {"LoraTagMissingFile", {"-p", "x <lora:nope:1>", "--lora-dir", kLoraDir}, {"<lora:nope:1>", "nope.safetensors"}},
      {"LoraTagBadScale", {"-p", "<lora:lora_kohya:abc>", "--lora-dir", kLoraDir}, {"abc", "not a number"}},
      {"LoraTagLeavesTheFolder", {"-p", "<lora:../lora-kohya-sd15/lora_kohya:1>", "--lora-dir", kLoraDir}, {"no '/'"}},
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

TEST(CliBadOptionCount, DistinctBadInputs) { EXPECT_EQ(bad_options().size(), 67u); }

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

TEST(CliLora, PromptTagAndOptionApplyAndAreRecorded) {
  TempDir tmp;
  const std::string out = tmp / "out";
  for (const char* mode : {"merged", "unmerged"}) {
    const CliRun r = run_sdfast(generate_args(out, {"-p", "a cat <lora:lora_kohya:0.8>", "--lora-dir", kLoraDir,
                                                    "--lora-mode", mode}),
                                tmp.path());
    ASSERT_EQ(r.status, 0) << r.err;
  }
  const std::vector<std::string> files = tree(out);
  ASSERT_EQ(files.size(), 4u) << joined(files);  // 2 prompts x 2 runs
  // The second prompt's image records the tag as given and the LoRA applied.
  const std::string png = read_file(out + "/" + files[1]);
  EXPECT_NE(png.find("a cat <lora:lora_kohya:0.8>"), std::string::npos);
  EXPECT_NE(png.find("LoRA: lora_kohya:0.8 (merged)"), std::string::npos);
  EXPECT_NE(read_file(out + "/" + files[3]).find("(unmerged)"), std::string::npos);
  // The tag changes the image (the LoRA was applied); a LoRA at scale 0 does not.
  const CliRun plain = run_sdfast(generate_args(tmp / "plain", {"-p", "a cat"}), tmp.path());
  const CliRun zero = run_sdfast(generate_args(tmp / "zero", {"-p", "a cat", "--lora", kLora + ":0"}), tmp.path());
  ASSERT_EQ(plain.status, 0) << plain.err;
  ASSERT_EQ(zero.status, 0) << zero.err;
  auto pixels = [](const std::string& file) { return read_file(file).substr(read_file(file).find("IDAT")); };
  EXPECT_NE(pixels(out + "/" + files[1]), pixels(tmp / "plain/00001-1.png"));
  EXPECT_EQ(pixels(tmp / "zero/00001-1.png"), pixels(tmp / "plain/00001-1.png"));
}

TEST(CliLora, PickleAndForeignLorasAreRefusedAndNothingIsWritten) {
  TempDir tmp;
  write_file(tmp / "style.ckpt", "PK\x03\x04 a pickle");
  CliRun r = run_sdfast(generate_args(tmp / "out", {"--lora", tmp / "style.ckpt"}), tmp.path());
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("pickle"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "out"));
  // A LoRA for other layers: refused, naming the first unmatched modules.
  write_safetensors(tmp / "other.safetensors",
                    {{"lora_unet_input_blocks_1_1_proj_in.lora_down.weight", Tensor::zeros({2, 8})},
                     {"lora_unet_input_blocks_1_1_proj_in.lora_up.weight", Tensor::zeros({8, 2})}});
  r = run_sdfast(generate_args(tmp / "out", {"--lora", tmp / "other.safetensors"}), tmp.path());
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("0 of 1 modules matched"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("lora_unet_input_blocks_1_1_proj_in"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "out"));
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

TEST(CliDeepCache, AloneMeansIntervalThreeAndIsRecorded) {
  TempDir tmp;
  // --deepcache without a value (followed by another option): interval 3, branch 0. The model's
  // scheduler is PNDM: 7 steps are 8 calls at timestep indices 0, 1, 1, 3, 4, 5, 6, 7.
  CliRun r = run_sdfast(generate_args("out", {"--steps", "7", "--deepcache", "--timings-json",
                                              "t.json"}),
                        tmp.path());
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json t = nlohmann::json::parse(read_file(tmp / "t.json"));
  EXPECT_EQ(t["settings"]["deepcache_interval"], 3);
  EXPECT_EQ(t["settings"]["deepcache_branch_id"], 0);
  EXPECT_EQ(t["deepcache_full_calls"], nlohmann::json({0, 3, 6}));
  EXPECT_NE(read_file(tmp / "out/00000-0.png").find("DeepCache: interval 3 branch 0"),
            std::string::npos);
  // N:BRANCH (4 steps: calls at indices 0, 1, 1, 3, 4), and off (nothing recorded in the image).
  r = run_sdfast(generate_args("out", {"--steps", "4", "--deepcache", "2:5", "--timings-json",
                                       "t.json"}),
                 tmp.path());
  ASSERT_EQ(r.status, 0) << r.err;
  t = nlohmann::json::parse(read_file(tmp / "t.json"));
  EXPECT_EQ(t["deepcache_full_calls"], nlohmann::json({0, 4}));
  EXPECT_NE(read_file(tmp / "out/00001-0.png").find("DeepCache: interval 2 branch 5"),
            std::string::npos);
  r = run_sdfast(generate_args("out", {"--steps", "3"}), tmp.path());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(tmp / "out/00002-0.png").find("DeepCache"), std::string::npos);
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

// ---- img2img and inpaint

const std::string kInpaintModel = std::string(SDFAST_TEST_DATA) + "/golden/models/tiny-sd15-inpaint-pipeline";

// `generate_args` turned into another command with its own inputs.
std::vector<std::string> edit_args(const std::string& command, const std::string& output,
                                   const std::vector<std::string>& inputs,
                                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> a = generate_args(output, extra);
  a[0] = command;
  a.insert(a.end(), inputs.begin(), inputs.end());
  return a;
}

// A 64x64 mask: the left half white (repaint), the right half black.
Image half_mask() {
  Image m{64, 64, std::vector<uint8_t>(64 * 64 * 3, 0)};
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c) m.rgb[size_t((y * 64 + x) * 3 + c)] = 255;
  return m;
}

// The same request through the C++ API, for comparison with what the command line wrote.
Image api_result(const std::string& model, const Image& init, const std::optional<Image>& mask, double strength) {
  PipelineOptions opt;
  opt.dtype = Precision::Auto;
  auto pipe = Pipeline::from_pretrained(model, opt);
  GenerateRequest req;
  req.prompts = {"a red circle"};
  req.num_inference_steps = 2;
  req.guidance_scale = 1;
  req.seeds = {0};
  req.image = init;
  req.mask_image = mask;
  req.strength = strength;
  return (mask ? pipe->inpaint(req) : pipe->img2img(req)).images.at(0);
}

TEST(CliEdit, Img2ImgAndInpaintFromPngAndJpegMatchTheApi) {
  TempDir tmp;
  const std::string in = tmp / "in";
  // Init images made by sdfast itself: a PNG and a JPEG.
  for (const char* format : {"png", "jpeg"}) {
    const CliRun r = run_sdfast(generate_args(in, {"--format", format, "--seed", "3"}), tmp.path());
    ASSERT_EQ(r.status, 0) << r.err;
  }
  ASSERT_EQ(joined(tree(in)), "00000-3.png 00001-3.jpg");
  const std::string png = in + "/00000-3.png", jpg = in + "/00001-3.jpg";
  save_image(half_mask(), tmp / "mask.png", ImageFormat::Png);
  struct Case {
    std::string command, model, init;
    std::vector<std::string> inputs;
    double strength;
  };
  for (const Case& c : std::vector<Case>{
           {"img2img", kModel, png, {"--init-image", png, "--strength", "0.5"}, 0.5},
           {"img2img", kModel, jpg, {"--init-image", jpg, "--strength", "1"}, 1.0},
           {"inpaint", kInpaintModel, png, {"--init-image", png, "--mask", tmp / "mask.png"}, 1.0},
           {"inpaint", kModel, jpg, {"--init-image", jpg, "--mask", tmp / "mask.png", "--strength", "0.5"}, 0.5},
       }) {
    const std::string out = tmp / ("out-" + c.command + "-" + fs::path(c.init).extension().string().substr(1));
    const CliRun r = run_sdfast(edit_args(c.command, out, c.inputs, {"--model", c.model}), tmp.path());
    ASSERT_EQ(r.status, 0) << c.command << ": " << r.err;
    ASSERT_EQ(joined(tree(out)), "00000-0.png") << c.command;
    std::vector<PngText> text;
    const Image got = load_png(out + "/00000-0.png", &text);
    ASSERT_EQ(text.size(), 1u);
    EXPECT_NE(text[0].second.find("Strength: " + std::string(c.strength == 1.0 ? "1" : "0.5")), std::string::npos)
        << text[0].second;
    const Image init = load_image(c.init);
    const Image want = api_result(c.model, init, c.command == "inpaint" ? std::optional<Image>(half_mask())
                                                                         : std::nullopt, c.strength);
    ASSERT_EQ(got.width, 64);
    ASSERT_EQ(got.height, 64);
    EXPECT_EQ(got.rgb, want.rgb) << c.command << " from " << c.init << ": the command line and the API differ";
    EXPECT_NE(got.rgb, init.rgb) << c.command << ": the image did not change";
  }
}

TEST(CliEdit, OutputFormats) {
  TempDir tmp;
  const std::string out = tmp / "out";
  for (const char* format : {"jpeg", "webp", "png"}) {
    const CliRun r = run_sdfast(generate_args(out, {"--format", format}), tmp.path());
    ASSERT_EQ(r.status, 0) << r.err;
  }
  EXPECT_EQ(joined(tree(out)), "00000-0.jpg 00001-0.webp 00002-0.png");
  const Image png = load_image(out + "/00002-0.png");
  for (const char* name : {"/00000-0.jpg", "/00001-0.webp"}) {
    const Image lossy = load_image(out + name);
    ASSERT_EQ(lossy.rgb.size(), png.rgb.size());
    double err = 0;
    for (size_t i = 0; i < png.rgb.size(); ++i) err += std::abs(int(lossy.rgb[i]) - int(png.rgb[i]));
    EXPECT_LT(err / double(png.rgb.size()), 12.0) << name << ": not the same picture";
  }
}

TEST(CliEdit, BadInputsExitWithStatus2NamingTheFileOrValueAndWriteNothing) {
  TempDir tmp;
  const std::string work = tmp / "work";
  fs::create_directories(work);
  const std::string good = tmp / "good.png", mask = tmp / "mask.png";
  save_image(Image{64, 64, std::vector<uint8_t>(64 * 64 * 3, 90)}, good, ImageFormat::Png);
  save_image(half_mask(), mask, ImageFormat::Png);
  save_image(Image{32, 64, std::vector<uint8_t>(32 * 64 * 3, 255)}, tmp / "small-mask.png", ImageFormat::Png);
  save_image(Image{60, 60, std::vector<uint8_t>(60 * 60 * 3, 90)}, tmp / "odd.png", ImageFormat::Png);
  const std::string bytes = read_file(good);
  write_file(tmp / "cut.png", bytes.substr(0, bytes.size() / 2));
  write_file(tmp / "text.jpg", "hello, not a picture");
  struct Case {
    std::string command;
    std::vector<std::string> args;
    std::vector<std::string> expect;
  };
  for (const Case& c : std::vector<Case>{
           {"img2img", {"--init-image", tmp / "missing.png"}, {"missing.png", "does not exist"}},
           {"img2img", {"--init-image", tmp / "cut.png"}, {"cut.png"}},
           {"img2img", {"--init-image", tmp / "text.jpg"}, {"text.jpg", "not a PNG, JPEG or WebP"}},
           {"img2img", {"--init-image", tmp / "odd.png", "--width", "0", "--height", "0"}, {"60x60", "multiples of 8"}},
           {"img2img", {"--init-image", good, "--width", "128"}, {"64x64", "128x64"}},
           {"img2img", {"--init-image", good, "--strength", "0"}, {"--strength", "0"}},
           {"img2img", {"--init-image", good, "--strength", "1.5"}, {"--strength", "1.5"}},
           {"img2img", {"--init-image", good, "--strength", "nan"}, {"--strength"}},
           {"img2img", {"--init-image", good, "--strength", "0.2"}, {"strength 0.2", "no denoising step"}},
           {"img2img", {"--init-image", good, "--model", kInpaintModel}, {"9 input channels", "inpaint"}},
           {"img2img", {}, {"--init-image"}},
           {"inpaint", {"--init-image", good}, {"--mask"}},
           {"inpaint", {"--init-image", good, "--mask", tmp / "small-mask.png"}, {"mask is 32x64", "64x64"}},
           {"inpaint", {"--init-image", good, "--mask", mask, "--mask-alpha"}, {"mask.png", "no alpha channel"}},
           {"inpaint", {"--init-image", good, "--mask", tmp / "cut.png"}, {"cut.png"}},
           {"generate", {"--model", kInpaintModel}, {"9 input channels", "init image and a mask"}},
       }) {
    std::vector<std::string> args = edit_args(c.command, "out", {}, c.args);
    if (c.command == "generate") args = generate_args("out", c.args);
    const CliRun r = run_sdfast(args, work);
    EXPECT_EQ(r.status, 2) << joined(args) << ": " << r.err;
    for (const std::string& part : c.expect)
      EXPECT_NE(r.err.find(part), std::string::npos) << "stderr lacks \"" << part << "\": " << r.err;
    EXPECT_EQ(joined(tree(work)), "") << "left behind by " << joined(c.args);
  }
}


}  // namespace
}  // namespace sdfast
