// Diffusers folders that must load: the vendored golden pipelines, fp16 variants with fallback,
// component folders on their own, sharded weights, symbolic-link (Hugging Face cache) layouts.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "hostile_test_util.h"
#include "io/diffusers_folder.h"
#include "io/memory_budget.h"
#include "io/safetensors.h"
#include "io/weights.h"

namespace sdfast {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::throws_with;
using testing::write_file;

const std::string kModels = std::string(SDFAST_TEST_DATA) + "/golden/models";
const std::string kSd15 = kModels + "/tiny-sd15-pipeline";
const std::string kTaesd = kModels + "/tiny-bk-small-taesd-pipeline";

// A copy of a golden pipeline made of symbolic links (files) and a real model_index.json.
std::string link_pipeline(const TempDir& tmp, const std::string& src,
                          const std::string& name = "pipe") {
  const std::string dst = tmp / name;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    const fs::path rel = fs::relative(entry.path(), src);
    if (entry.is_directory()) {
      fs::create_directories(fs::path(dst) / rel);
    } else if (rel == "model_index.json") {
      fs::copy_file(entry.path(), fs::path(dst) / rel);
    } else {
      fs::create_directories((fs::path(dst) / rel).parent_path());
      fs::create_symlink(fs::absolute(entry.path()), fs::path(dst) / rel);
    }
  }
  return dst;
}

TEST(DiffusersFolder, OpensGoldenSd15Pipeline) {
  const DiffusersFolder f = DiffusersFolder::open(kSd15);
  EXPECT_EQ(f.pipeline_class(), "StableDiffusionPipeline");
  std::vector<std::string> names;
  for (const Component& c : f.components()) names.push_back(c.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"scheduler", "text_encoder", "tokenizer", "unet", "vae"}));
  EXPECT_TRUE(f.ignored().empty());  // safety_checker and feature_extractor are [null, null]

  const Component& unet = f.component("unet");
  EXPECT_EQ(unet.class_name, "UNet2DConditionModel");
  EXPECT_EQ(unet.library, "diffusers");
  EXPECT_EQ(unet.config.get<int>("in_channels"), 4);
  ASSERT_EQ(unet.weights.files.size(), 1u);
  EXPECT_EQ(unet.weights.files[0], kSd15 + "/unet/diffusion_pytorch_model.safetensors");
  EXPECT_FALSE(unet.weights.variant_used);
  EXPECT_FALSE(unet.weights.sharded());

  const Component& te = f.component("text_encoder");
  EXPECT_EQ(te.library, "transformers");
  EXPECT_EQ(class_of_config(te.config), "CLIPTextModel");
  EXPECT_EQ(te.weights.files[0], kSd15 + "/text_encoder/model.safetensors");

  EXPECT_EQ(f.component("scheduler").class_name, "PNDMScheduler");
  EXPECT_EQ(f.component("scheduler").config_path, kSd15 + "/scheduler/scheduler_config.json");
  EXPECT_FALSE(f.component("scheduler").has_weights());
  EXPECT_EQ(f.component("tokenizer").class_name, "CLIPTokenizer");
  EXPECT_EQ(f.component("tokenizer").config.get<int>("model_max_length"), 77);
  EXPECT_TRUE(f.has("vae"));
  EXPECT_FALSE(f.has("safety_checker"));
  EXPECT_TRUE(
      throws_with([&] { f.component("safety_checker"); }, {"no component 'safety_checker'"}));

  // The weights open and are strict.
  auto w = unet.open_weights();
  EXPECT_EQ(w->get("conv_in.bias", {32}, DType::F32).numel(), 32);
}

TEST(DiffusersFolder, Fp16VariantPerComponentWithFallback) {
  FolderOptions opt;
  opt.variant = "fp16";
  const DiffusersFolder f = DiffusersFolder::open(kSd15, opt);
  const Component& unet = f.component("unet");
  EXPECT_TRUE(unet.weights.variant_used);
  EXPECT_EQ(unet.weights.files[0], kSd15 + "/unet/diffusion_pytorch_model.fp16.safetensors");
  EXPECT_NE(unet.weights.describe().find("(fp16 variant)"), std::string::npos);
  EXPECT_TRUE(f.component("vae").weights.variant_used);
  // The text encoder ships no fp16 file: its plain weights are used, and the API says so.
  const WeightFiles& te = f.component("text_encoder").weights;
  EXPECT_FALSE(te.variant_used);
  EXPECT_EQ(te.requested_variant, "fp16");
  EXPECT_EQ(te.files[0], kSd15 + "/text_encoder/model.safetensors");
  EXPECT_NE(te.describe().find("no fp16 variant"), std::string::npos) << te.describe();
  auto w = unet.open_weights();
  const Tensor t = w->get("conv_in.weight", {32, 4, 3, 3}, DType::F32);  // F16 file -> F32
  EXPECT_EQ(t.dtype(), DType::F32);
}

TEST(DiffusersFolder, TaesdPipelineAndComponentFoldersOnTheirOwn) {
  const DiffusersFolder f = DiffusersFolder::open(kTaesd);
  EXPECT_EQ(f.component("vae").class_name, "AutoencoderTiny");

  const FolderInfo pipe = inspect_model_path(kTaesd);
  EXPECT_EQ(pipe.kind, FolderKind::Pipeline);
  EXPECT_EQ(pipe.class_name, "StableDiffusionPipeline");

  const FolderInfo vae = inspect_model_path(kTaesd + "/vae");
  EXPECT_EQ(vae.kind, FolderKind::Component);
  EXPECT_EQ(vae.class_name, "AutoencoderTiny");
  EXPECT_EQ(vae.role, "vae");
  const Component c = open_component_folder(kTaesd + "/vae");
  EXPECT_EQ(c.name, "vae");
  EXPECT_EQ(c.library, "diffusers");
  EXPECT_TRUE(c.has_weights());

  const Component unet = open_component_folder(kModels + "/unet-bk-tiny-tiny");
  EXPECT_EQ(unet.name, "unet");
  EXPECT_EQ(unet.class_name, "UNet2DConditionModel");

  const FolderInfo te = inspect_model_path(kSd15 + "/text_encoder");
  EXPECT_EQ(te.class_name, "CLIPTextModel");  // transformers: architectures[0]
  EXPECT_EQ(te.role, "text_encoder");
  EXPECT_EQ(inspect_model_path(kSd15 + "/scheduler").role, "scheduler");
  EXPECT_EQ(inspect_model_path(kSd15 + "/tokenizer").class_name, "CLIPTokenizer");
  EXPECT_EQ(open_component_folder(kSd15 + "/tokenizer").name, "tokenizer");
}

TEST(DiffusersFolder, IgnoredComponentsAreReported) {
  TempDir tmp;
  const std::string p = link_pipeline(tmp, kSd15);
  write_file(p + "/model_index.json", R"({
    "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.26.3",
    "requires_safety_checker": true,
    "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
    "feature_extractor": ["transformers", "CLIPImageProcessor"],
    "image_encoder": [null, null],
    "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizerFast"], "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"]})");
  const DiffusersFolder f = DiffusersFolder::open(p);
  EXPECT_EQ(f.ignored(),
            (std::vector<std::string>{"feature_extractor (CLIPImageProcessor)",
                                      "safety_checker (StableDiffusionSafetyChecker)"}));
  // model_index.json's scheduler class wins over scheduler_config.json's, as in diffusers.
  EXPECT_EQ(f.component("scheduler").class_name, "DDIMScheduler");
}

TEST(DiffusersFolder, HuggingFaceCacheLayoutOfSymlinks) {
  // snapshots/<rev>/<component>/<file> -> ../../../blobs/<hash>, as huggingface_hub stores them.
  TempDir tmp;
  const std::string repo = tmp / "models--tiny";
  const std::string snap = repo + "/snapshots/0123abcd";
  int n = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kSd15)) {
    if (entry.is_directory()) continue;
    const fs::path rel = fs::relative(entry.path(), kSd15);
    const std::string blob = "blob" + std::to_string(n++);
    fs::create_directories(repo + "/blobs");
    fs::copy_file(entry.path(), repo + "/blobs/" + blob);
    fs::create_directories((fs::path(snap) / rel).parent_path());
    const int depth = int(std::distance(rel.begin(), rel.end()));  // 1 or 2
    std::string up;
    for (int i = 0; i < depth + 1; ++i) up += "../";
    fs::create_symlink(up + "blobs/" + blob, fs::path(snap) / rel);
  }
  const DiffusersFolder f = DiffusersFolder::open(snap);
  auto w = f.component("vae").open_weights();
  const auto direct = SafetensorsFile::open(kSd15 + "/vae/diffusion_pytorch_model.safetensors");
  const TensorInfo& info = direct->info("decoder.conv_out.bias");
  EXPECT_EQ(w->get("decoder.conv_out.bias", info.shape, DType::F32).to_vector(),
            direct->load(info, DType::F32).to_vector());
}

// Splits the golden UNet into two shards plus an index named `index_name` (variant shards when
// `variant` is set); returns the pipeline folder.
std::string make_sharded(const TempDir& tmp, const std::string& index_name,
                         const std::string& variant) {
  const std::string p = link_pipeline(tmp, kSd15);
  const std::string unet = p + "/unet";
  fs::remove(unet + "/diffusion_pytorch_model.safetensors");
  fs::remove(unet + "/diffusion_pytorch_model.fp16.safetensors");
  const auto src = SafetensorsFile::open(kSd15 + "/unet/diffusion_pytorch_model" +
                                         (variant.empty() ? "" : "." + variant) + ".safetensors");
  std::vector<std::pair<std::string, Tensor>> a, b;
  nlohmann::json map = nlohmann::json::object();
  const std::string stem = "diffusion_pytorch_model" + (variant.empty() ? "" : "." + variant);
  const std::string shard_a = stem + "-00001-of-00002.safetensors";
  const std::string shard_b = stem + "-00002-of-00002.safetensors";
  for (size_t i = 0; i < src->tensors().size(); ++i) {
    const TensorInfo& t = src->tensors()[i];
    (i % 2 ? b : a).emplace_back(t.name, src->load(t, t.dtype));
    map[t.name] = i % 2 ? shard_b : shard_a;
  }
  write_safetensors(unet + "/" + shard_a, a);
  write_safetensors(unet + "/" + shard_b, b);
  write_file(unet + "/" + index_name,
             nlohmann::json{{"metadata", {{"total_size", 123}}}, {"weight_map", map}}.dump(1));
  return p;
}

class ShardedIndexNames : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(ShardedIndexNames, ShardedWeightsLoadLikeTheSingleFile) {
  const auto [index_name, variant] = GetParam();
  TempDir tmp;
  const std::string p = make_sharded(tmp, index_name, variant);
  FolderOptions opt;
  opt.variant = variant;
  const DiffusersFolder f = DiffusersFolder::open(p, opt);
  const Component& unet = f.component("unet");
  ASSERT_TRUE(unet.weights.sharded());
  EXPECT_EQ(unet.weights.files.size(), 2u);
  EXPECT_EQ(unet.weights.shard_index.path, p + "/unet/" + index_name);
  EXPECT_EQ(unet.weights.variant_used, std::string(variant) != "");
  auto w = unet.open_weights();
  const auto whole =
      SafetensorsFile::open(kSd15 + "/unet/diffusion_pytorch_model" +
                            (std::string(variant).empty() ? "" : ".fp16") + ".safetensors");
  for (const TensorInfo& t : whole->tensors())
    ASSERT_EQ(w->get(t.name, t.shape, DType::F32).to_vector(),
              whole->load(t, DType::F32).to_vector())
        << t.name;
  EXPECT_NO_THROW(w->check_all_used(nullptr));
  EXPECT_EQ(unet.estimate_weight_bytes(DType::F32),
            estimate_weight_bytes({whole->path()}, DType::F32));
}

INSTANTIATE_TEST_SUITE_P(
    Names, ShardedIndexNames,
    ::testing::Values(std::pair{"diffusion_pytorch_model.safetensors.index.json", ""},
                      std::pair{"diffusion_pytorch_model.safetensors.index.fp16.json", "fp16"},
                      std::pair{"diffusion_pytorch_model.fp16.safetensors.index.json", "fp16"},
                      std::pair{"diffusion_pytorch_model.safetensors.fp16.index.json", "fp16"}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

TEST(DiffusersFolder, ConfigOnlyFolderForRandomWeights) {
  TempDir tmp;
  const std::string p = link_pipeline(tmp, kSd15);
  for (const char* f :
       {"unet/diffusion_pytorch_model.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors",
        "vae/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.fp16.safetensors",
        "text_encoder/model.safetensors", "tokenizer/vocab.json", "tokenizer/merges.txt"})
    fs::remove(p + "/" + f);
  FolderOptions opt;
  opt.require_weights = false;
  const DiffusersFolder f = DiffusersFolder::open(p, opt);
  EXPECT_FALSE(f.component("unet").has_weights());
  EXPECT_EQ(f.estimate_weight_bytes(DType::F32), 0u);
  EXPECT_TRUE(throws_with([&] { f.component("unet").open_weights(); },
                          {"component 'unet'", "has no weight files", p + "/unet"}));
}

TEST(DiffusersFolder, EstimatesWeightBytesFromHeaders) {
  const std::string f32 = kSd15 + "/unet/diffusion_pytorch_model.safetensors";
  const std::string f16 = kSd15 + "/unet/diffusion_pytorch_model.fp16.safetensors";
  uint64_t data = 0;
  const auto f32_file = SafetensorsFile::open(f32);  // kept alive: tensors() refers into it
  for (const TensorInfo& t : f32_file->tensors()) data += t.end - t.begin;
  EXPECT_EQ(estimate_weight_bytes({f32}, DType::F32), data);
  EXPECT_EQ(estimate_weight_bytes({f32}, DType::BF16), data / 2);
  EXPECT_EQ(estimate_weight_bytes({f16}, DType::F32), data);
  EXPECT_EQ(estimate_weight_bytes({f32, f16}, DType::F16), data);
  // Integer tensors keep their size: the text encoder's int64 position_ids.
  const std::string te = kSd15 + "/text_encoder/model.safetensors";
  uint64_t floats = 0, ints = 0;
  const auto te_file = SafetensorsFile::open(te);
  for (const TensorInfo& t : te_file->tensors())
    (dtype_is_float(t.dtype) ? floats : ints) += t.end - t.begin;
  ASSERT_GT(ints, 0u);
  EXPECT_EQ(estimate_weight_bytes({te}, DType::BF16), floats / 2 + ints);
  const DiffusersFolder folder = DiffusersFolder::open(kSd15);
  uint64_t sum = 0;
  for (const Component& c : folder.components()) sum += c.estimate_weight_bytes(DType::F32);
  EXPECT_EQ(folder.estimate_weight_bytes(DType::F32), sum);
  EXPECT_GT(sum, data);
}

// ---- memory availability, from fake /proc and cgroup files

struct FakeSystem {
  TempDir tmp;
  MemorySources sources() const {
    return {tmp / "meminfo", tmp / "self_cgroup", tmp / "mountinfo"};
  }
};

TEST(MemoryBudget, MemAvailableOnly) {
  FakeSystem s;
  write_file(s.tmp / "meminfo",
             "MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    2048 kB\n");
  const MemoryAvailability m = read_memory_availability(s.sources());
  ASSERT_TRUE(m.mem_available);
  EXPECT_EQ(*m.mem_available, 2048u * 1024);
  EXPECT_FALSE(m.cgroup_limit);
  EXPECT_EQ(m.available(), 2048u * 1024);
  EXPECT_NO_THROW(check_fits_in_memory(2048u * 1024, m, "the weights"));
  EXPECT_TRUE(throws_with([&] { check_fits_in_memory(3u << 20, m, "the weights in F32"); },
                          {"the weights in F32 need 3.0 MiB", "only 2.0 MiB", "MemAvailable"}));
}

TEST(MemoryBudget, CgroupV2LimitWithReclaimableCache) {
  FakeSystem s;
  const std::string cg = s.tmp / "cg2";
  write_file(s.tmp / "meminfo", "MemAvailable: 10485760 kB\n");  // 10 GiB
  write_file(s.tmp / "self_cgroup", "0::/job/step\n");
  write_file(s.tmp / "mountinfo",
             "24 1 0:21 / /proc rw - proc proc rw\n"
             "30 23 0:26 / " +
                 cg + " rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
  // The parent has the tighter limit: 1000 MiB with 300 MiB used, 100 MiB of it inactive cache.
  write_file(cg + "/job/memory.max", "1048576000\n");
  write_file(cg + "/job/memory.current", "314572800\n");
  write_file(cg + "/job/memory.stat", "anon 1\nfile 200\ninactive_file 104857600\nactive_file 5\n");
  write_file(cg + "/job/step/memory.max", "max\n");
  write_file(cg + "/job/step/memory.current", "1000\n");
  const MemoryAvailability m = read_memory_availability(s.sources());
  ASSERT_TRUE(m.cgroup_limit);
  EXPECT_EQ(*m.cgroup_limit, 1048576000u);
  EXPECT_EQ(*m.cgroup_available, 1048576000u - (314572800u - 104857600u));
  EXPECT_EQ(m.cgroup_file, cg + "/job/memory.max");
  EXPECT_EQ(m.available(), m.cgroup_available);
  EXPECT_TRUE(
      throws_with([&] { check_fits_in_memory(900u << 20, m, "unet, vae, text_encoder weights"); },
                  {"900.0 MiB", "only 800.0 MiB", "cgroup limit", cg + "/job/memory.max"}));
}

TEST(MemoryBudget, CgroupV1UnlimitedIsIgnoredAndLimitedIsUsed) {
  FakeSystem s;
  const std::string mem = s.tmp / "cgroup v1";  // a space: mountinfo escapes it as \040
  write_file(s.tmp / "self_cgroup", "9:pids:/\n4:memory:/process_api/abc\n0::/\n");
  write_file(s.tmp / "mountinfo", "35 31 0:32 / " + s.tmp.path() +
                                      "/cgroup\\040v1 rw,relatime - cgroup cgroup rw,memory\n");
  write_file(mem + "/process_api/abc/memory.limit_in_bytes", "9223372036854771712\n");
  write_file(mem + "/process_api/abc/memory.usage_in_bytes", "26132480\n");
  MemoryAvailability m = read_memory_availability(s.sources());
  EXPECT_FALSE(m.cgroup_limit);
  EXPECT_FALSE(m.available());  // nothing known: the check lets it through
  EXPECT_NO_THROW(check_fits_in_memory(~uint64_t(0), m, "x"));
  write_file(mem + "/process_api/abc/memory.limit_in_bytes", "536870912\n");
  write_file(mem + "/process_api/abc/memory.stat", "cache 1\ntotal_inactive_file 6132480\n");
  m = read_memory_availability(s.sources());
  ASSERT_TRUE(m.cgroup_available);
  EXPECT_EQ(*m.cgroup_available, 536870912u - 20000000u);
}

TEST(MemoryBudget, GarbageFilesAreIgnored) {
  FakeSystem s;
  write_file(s.tmp / "meminfo", "MemAvailable: lots kB\nMemAvailableX: 5 kB\n");
  write_file(s.tmp / "self_cgroup", "garbage\n::\n0::/../../etc\n");
  write_file(s.tmp / "mountinfo", "- - -\n1 2 3\n30 23 0:26 / " + s.tmp.path() + " rw - cgroup2\n");
  write_file(s.tmp / "memory.max", "-5\n");
  const MemoryAvailability m = read_memory_availability(s.sources());
  EXPECT_FALSE(m.mem_available);
  EXPECT_FALSE(m.cgroup_limit);
}

TEST(MemoryBudget, ThisMachineHasSomeMemory) {
  const MemoryAvailability m = read_memory_availability();
  ASSERT_TRUE(m.available());
  EXPECT_GT(*m.available(), 0u);
  EXPECT_FALSE(m.describe().empty());
}

}  // namespace
}  // namespace sdfast
