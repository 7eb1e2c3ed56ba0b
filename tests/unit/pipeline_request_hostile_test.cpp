// Out-of-range generation requests through the C++ API (ENGINEERING.md section 4, items 10 and
// 11): every bad GenerateRequest field is an InvalidArgument naming the field and the value, and
// nothing runs; prompts with NUL bytes, any valid UTF-8 and 100k characters are accepted (the long
// one truncated with a warning). Also the memory refusal and random-weight budget of loading.
#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "hostile_test_util.h"
#include "io/json.h"
#include "io/memory_budget.h"
#include "io/safetensors.h"
#include "pipeline/stable_diffusion_pipeline.h"
#include "random/numpy_pcg64_generator.h"
#include "sdfast/pipeline.h"

namespace sdfast {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::throws_with;

const std::string kModels = std::string(SDFAST_TEST_DATA) + "/golden/models/";
const std::string kSd15 = kModels + "tiny-sd15-pipeline";

// The tiny SD 1.5 pipeline, loaded once for the whole suite.
class RequestHostile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pipe_ = Pipeline::from_pretrained(kSd15).release(); }
  static void TearDownTestSuite() {
    delete pipe_;
    pipe_ = nullptr;
  }
  // A request that works: one 64x64 image in two steps.
  static GenerateRequest good() {
    GenerateRequest r;
    r.prompts = {"a red circle"};
    r.num_inference_steps = 2;
    r.height = r.width = 64;
    r.guidance_scale = 1.0;  // no guidance: one UNet call a step
    return r;
  }
  static Pipeline* pipe_;
};
Pipeline* RequestHostile::pipe_ = nullptr;

struct BadRequest {
  const char* name;
  std::function<void(GenerateRequest&)> edit;
  std::vector<std::string> expect;
};

void PrintTo(const BadRequest& b, std::ostream* os) { *os << b.name; }

std::vector<BadRequest> bad_requests() {
  const std::string mult = "multiple of 8 up to 4096";
  return {
      // size
      {"HeightNotMultipleOf8", [](auto& r) { r.height = 60; }, {"height", mult, "60"}},
      {"WidthNotMultipleOf8", [](auto& r) { r.width = 63; }, {"width", mult, "63"}},
      {"HeightNegative", [](auto& r) { r.height = -64; }, {"height", "-64"}},
      {"WidthNegative", [](auto& r) { r.width = -8; }, {"width", "-8"}},
      {"HeightOne", [](auto& r) { r.height = 1; }, {"height", "1"}},
      {"HeightAbove4096", [](auto& r) { r.height = 4104; }, {"height", "4104"}},
      {"WidthHuge", [](auto& r) { r.width = INT_MAX; }, {"width", std::to_string(INT_MAX)}},
      {"WidthMinInt", [](auto& r) { r.width = INT_MIN; }, {"width", std::to_string(INT_MIN)}},
      // steps
      {"StepsZero", [](auto& r) { r.num_inference_steps = 0; }, {"num_inference_steps", "0"}},
      {"StepsNegative", [](auto& r) { r.num_inference_steps = -1; }, {"num_inference_steps", "-1"}},
      {"StepsAbove1000", [](auto& r) { r.num_inference_steps = 1001; }, {"num_inference_steps"}},
      {"StepsHuge", [](auto& r) { r.num_inference_steps = INT_MAX; }, {"num_inference_steps"}},
      // guidance
      {"GuidanceNaN", [](auto& r) { r.guidance_scale = NAN; }, {"guidance_scale", "nan"}},
      {"GuidanceInfinity", [](auto& r) { r.guidance_scale = INFINITY; }, {"guidance_scale", "inf"}},
      {"GuidanceMinusInfinity", [](auto& r) { r.guidance_scale = -INFINITY; }, {"guidance_scale"}},
      {"GuidanceHuge", [](auto& r) { r.guidance_scale = 1e6; }, {"guidance_scale", "1e+06"}},
      // batch
      {"NoPrompt", [](auto& r) { r.prompts.clear(); }, {"no prompt"}},
      {"ImagesZero", [](auto& r) { r.num_images_per_prompt = 0; }, {"num_images_per_prompt", "0"}},
      {"ImagesNegative", [](auto& r) { r.num_images_per_prompt = -1; }, {"num_images_per_prompt"}},
      {"ImagesHuge", [](auto& r) { r.num_images_per_prompt = INT_MAX; }, {"num_images_per_prompt"}},
      {"TooManyPrompts",
       [](auto& r) { r.prompts.assign(257, "x"); },
       {"257 images requested", "at most 256"}},
      {"TooManyImagesInAll",
       [](auto& r) {
         r.prompts.assign(2, "x");
         r.num_images_per_prompt = 200;
       },
       {"400 images requested"}},
      {"NegativePromptsCount",
       [](auto& r) {
         r.prompts = {"a", "b"};
         r.negative_prompts = {"x", "y", "z"};
       },
       {"negative_prompts", "one per prompt (2 prompts)", "got 3"}},
      {"SeedsCountMismatch",
       [](auto& r) {
         r.num_images_per_prompt = 3;
         r.seeds = {1, 2};
       },
       {"seed", "one per image (3)", "got 2"}},
      // generator, eta, clip_skip, latents
      {"GeneratorOutOfRange", [](auto& r) { r.generator = GeneratorKind(7); }, {"generator", "numpy", "torch", "7"}},
      {"ThreadsNegative", [](auto& r) { r.threads = -1; }, {"threads", "-1"}},
      {"GeneratorStatesCount",
       [](auto& r) {
         r.num_images_per_prompt = 2;
         r.generator_states.resize(3);
       },
       {"one generator state per image (2)", "got 3"}},
      {"GeneratorStatesAndSeeds",
       [](auto& r) {
         r.generator_states.resize(1);
         r.seeds = {5};
       },
       {"seeds or generator states"}},
      {"GeneratorStatesForTorch",
       [](auto& r) {
         r.generator_states.resize(1);
         r.generator = GeneratorKind::Torch;
       },
       {"numpy PCG64 states", "'torch'"}},
      {"EtaNegative", [](auto& r) { r.eta = -0.1; }, {"eta", "-0.1"}},
      {"EtaAboveOne", [](auto& r) { r.eta = 1.5; }, {"eta", "1.5"}},
      {"EtaNaN", [](auto& r) { r.eta = NAN; }, {"eta", "nan"}},
      {"ClipSkipNegative", [](auto& r) { r.clip_skip = -1; }, {"clip_skip", "-1"}},
      {"ClipSkipAllLayers", [](auto& r) { r.clip_skip = 3; }, {"clip_skip", "between 0 and 2"}},
      {"ClipSkipHuge", [](auto& r) { r.clip_skip = INT_MAX; }, {"clip_skip"}},
      {"LatentsTooShort",
       [](auto& r) { r.latents.assign(10, 0.0f); },
       {"latents", "expected 256 values for [1, 4, 8, 8]", "got 10"}},
      {"LatentsForOtherSize",
       [](auto& r) {
         r.latents.assign(256, 0.0f);
         r.height = 128;
       },
       {"latents", "expected 512 values"}},
      {"LatentsNaN",
       [](auto& r) {
         r.latents.assign(256, 0.5f);
         r.latents[17] = NAN;
       },
       {"latents", "value 17", "nan", "finite"}},
      {"LatentsInfinity",
       [](auto& r) {
         r.latents.assign(256, 0.5f);
         r.latents[255] = -INFINITY;
       },
       {"latents", "value 255", "-inf"}},
      // prompts that are not UTF-8 (through the pipeline, not just the tokenizer)
      {"PromptInvalidUtf8",
       [](auto& r) {
         r.prompts = {"ok", "bad \xff byte"};
       },
       {"prompt 2 of 2", "not valid UTF-8", "0xff", "byte offset 4"}},
      {"PromptOverlongNul",
       [](auto& r) { r.prompts = {"a \xC0\x80 b"}; },
       {"prompt 1 of 1", "not valid UTF-8", "byte offset 2"}},
      {"PromptSurrogate",
       [](auto& r) { r.prompts = {"\xED\xA0\x80"}; },
       {"prompt 1", "not valid UTF-8", "byte offset 0"}},
      {"PromptTruncatedSequence",
       [](auto& r) { r.prompts = {std::string(100000, 'a') + "\xE6\x9D"}; },
       {"prompt 1", "not valid UTF-8", "byte offset 100000"}},
      {"NegativePromptInvalidUtf8",
       [](auto& r) { r.negative_prompts = {"\x80"}; },
       {"negative prompt 1 of 1", "not valid UTF-8", "0x80"}},
  };
}

class RequestHostileCases : public RequestHostile,
                            public ::testing::WithParamInterface<BadRequest> {};

TEST_P(RequestHostileCases, InvalidArgumentNamingTheField) {
  GenerateRequest r = good();
  GetParam().edit(r);
  int steps = 0;
  r.callback = [&](const StepInfo&) { return ++steps, true; };
  EXPECT_TRUE(throws_with([&] { pipe_->generate(r); }, GetParam().expect));
  EXPECT_THROW(pipe_->generate(r), InvalidArgument);
  EXPECT_EQ(steps, 0) << "the request ran before it was refused";
}

INSTANTIATE_TEST_SUITE_P(Cases, RequestHostileCases, ::testing::ValuesIn(bad_requests()),
                         [](const ::testing::TestParamInfo<BadRequest>& info) {
                           return info.param.name;
                         });

TEST(RequestHostileCount, DistinctBadInputs) { EXPECT_EQ(bad_requests().size(), 44u); }

TEST_F(RequestHostile, UnknownSchedulerNamesTheValidOnes) {
  for (const char* name : {"euler-a", "", "DDIM", "../scheduler"}) {
    EXPECT_TRUE(throws_with([&] { pipe_->set_scheduler(name); },
                            {"'" + std::string(name) + "'", "EulerDiscreteScheduler", "dpmpp_2m"}));
    EXPECT_THROW(pipe_->set_scheduler(name), InvalidArgument);
  }
  EXPECT_EQ(pipe_->info().scheduler_class, "PNDMScheduler");  // unchanged
}

TEST_F(RequestHostile, SetVaeToSomethingElse) {
  EXPECT_TRUE(throws_with([&] { pipe_->set_vae(kSd15 + "/unet"); },
                          {kSd15 + "/unet", "UNet2DConditionModel", "not a VAE"}));
  EXPECT_TRUE(throws_with([&] { pipe_->set_vae(kSd15 + "/nothing"); },
                          {kSd15 + "/nothing", "does not exist"}));
  EXPECT_EQ(pipe_->info().vae_class, "AutoencoderKL");
}

TEST_F(RequestHostile, TheBaseRequestWorks) {
  // The cases above fail for their own reason: the request they start from is fine.
  const GenerateResult r = pipe_->generate(good());
  ASSERT_EQ(r.images.size(), 1u);
  EXPECT_EQ(r.images[0].width, 64);
  EXPECT_TRUE(r.warnings.empty());
}

TEST_F(RequestHostile, GeneratorStatesContinueNumpyGenerators) {
  // Seeds 3 and 4, given as the states numpy's PCG64(3) / PCG64(4) start in: the same images as
  // the seeds, and the states handed back are those of generators that drew the same normals
  // (4x8x8 initial latents, then 4x8x8 noise per step from Euler ancestral).
  pipe_->set_scheduler("EulerAncestralDiscreteScheduler");
  GenerateRequest by_seed = good();
  by_seed.num_images_per_prompt = 2;
  by_seed.seeds = {3, 4};
  GenerateRequest by_state = by_seed;
  by_state.seeds.clear();
  by_state.return_float_images = true;
  for (uint64_t seed : by_seed.seeds) by_state.generator_states.push_back(NumpyPcg64Generator(seed).state());
  const GenerateResult a = pipe_->generate(by_seed), b = pipe_->generate(by_state);
  pipe_->set_scheduler("PNDMScheduler");
  ASSERT_EQ(b.images.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(a.images[i].rgb, b.images[i].rgb) << "image " << i;
  EXPECT_TRUE(b.seeds.empty());
  ASSERT_EQ(b.generator_states.size(), 2u);
  EXPECT_EQ(a.generator_states, b.generator_states);
  for (size_t i = 0; i < 2; ++i) {
    NumpyPcg64Generator g(by_seed.seeds[i]);
    g.randn_f64({1 + by_seed.num_inference_steps, 4, 8, 8});
    EXPECT_EQ(b.generator_states[i], g.state()) << "image " << i;
  }
  // Float images: NHWC in [0, 1], rounding to the 8-bit ones.
  ASSERT_EQ(b.float_images.size(), 2u * 64 * 64 * 3);
  EXPECT_TRUE(a.float_images.empty());
  for (size_t k = 0; k < b.float_images.size(); k += 97)
    EXPECT_EQ(std::nearbyint(b.float_images[k] * 255.0f), b.images[k / (64 * 64 * 3)].rgb[k % (64 * 64 * 3)]);
}

TEST_F(RequestHostile, SchedulerConfigAsJson) {
  EXPECT_TRUE(throws_with([&] { pipe_->set_scheduler("DDIMScheduler", "{\"num_train_timesteps\": "); },
                          {"scheduler config given for DDIMScheduler"}));
  EXPECT_TRUE(throws_with([&] { pipe_->set_scheduler("DDIMScheduler", "{\"beta_schedule\": \"cosine-ish\"}"); },
                          {"beta_schedule", "cosine-ish"}));
  EXPECT_EQ(pipe_->info().scheduler_class, "PNDMScheduler");  // unchanged
  pipe_->set_scheduler("DDIMScheduler", "{\"num_train_timesteps\": 1000, \"beta_schedule\": \"scaled_linear\", "
                                         "\"beta_start\": 0.00085, \"beta_end\": 0.012}");
  EXPECT_EQ(pipe_->info().scheduler_class, "DDIMScheduler");
  pipe_->set_scheduler("PNDMScheduler");
}

TEST_F(RequestHostile, AnyValidUtf8PromptIsAccepted) {
  GenerateRequest r = good();
  r.prompts = {std::string("nul\0byte\0", 9), std::string(1, '\0'), "",
               "\xF0\x9F\x90\xB1 \xE6\x9D\xB1\xE4\xBA\xAC e\xCC\x81", "ctrl \x01\x1b[0m\x7f"};
  r.negative_prompts = {std::string("\0", 1)};
  r.guidance_scale = 2.0;  // the negative prompt is encoded too
  const GenerateResult out = pipe_->generate(r);
  EXPECT_EQ(out.images.size(), 5u);
}

TEST_F(RequestHostile, HugePromptIsTruncatedWithAWarning) {
  std::string prompt;
  while (prompt.size() < 100000) prompt += "a photo of a cat ";
  prompt.resize(100000);
  GenerateRequest r = good();
  r.prompts = {prompt};
  r.negative_prompts = {std::string(100000, 'x')};  // one 100k-letter word
  r.guidance_scale = 2.0;
  const GenerateResult out = pipe_->generate(r);
  ASSERT_EQ(out.images.size(), 1u);
  ASSERT_EQ(out.warnings.size(), 2u);
  EXPECT_NE(out.warnings[0].find("truncated"), std::string::npos) << out.warnings[0].substr(0, 200);
  EXPECT_NE(out.warnings[0].find("77 tokens"), std::string::npos);
  EXPECT_NE(out.warnings[0].find("cat"), std::string::npos);
  EXPECT_NE(out.warnings[1].find("truncated"), std::string::npos);
}

TEST_F(RequestHostile, SmallestAndOddSizes) {
  GenerateRequest r = good();
  for (auto [h, w] : {std::pair{8, 8}, {8, 64}, {72, 40}}) {
    r.height = h;
    r.width = w;
    const GenerateResult out = pipe_->generate(r);
    ASSERT_EQ(out.images.size(), 1u);
    EXPECT_EQ(out.images[0].height, h);
    EXPECT_EQ(out.images[0].width, w);
  }
}

TEST(ModelOutputHostile, NaNWeightsGiveBlackPixelsAndAWarning) {
  // Weights files may hold NaN (safetensors does not forbid it; neither does Diffusers). The
  // images then hold NaN, which must not reach a float-to-integer conversion (undefined
  // behaviour): they are written as 0, as numpy's cast gives, and the result says so.
  TempDir tmp;
  const std::string p = tmp / "pipe";
  testing::link_tree(kSd15, p);
  const std::string vae = p + "/vae/diffusion_pytorch_model.safetensors";
  std::vector<std::pair<std::string, Tensor>> tensors;
  {
    auto f = SafetensorsFile::open(vae);
    for (const TensorInfo& t : f->tensors()) tensors.emplace_back(t.name, f->load(t, t.dtype));
  }
  for (auto& [name, t] : tensors)
    if (name == "decoder.conv_out.bias") t = Tensor::full(t.shape(), NAN);
  fs::remove(vae);
  write_safetensors(vae, tensors);
  auto pipe = Pipeline::from_pretrained(p);
  GenerateRequest r;
  r.prompts = {"x"};
  r.num_inference_steps = 1;
  r.height = r.width = 16;
  const GenerateResult out = pipe->generate(r);
  ASSERT_EQ(out.images.size(), 1u);
  EXPECT_EQ(out.images[0].rgb, std::vector<uint8_t>(16 * 16 * 3, 0));
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_NE(out.warnings[0].find("768 of 768 values decoded to NaN"), std::string::npos)
      << out.warnings[0];
}

// ---- loading: memory

// Fake /proc files: MemAvailable as given, no cgroup limits.
MemorySources fake_memory(const TempDir& dir, uint64_t available_kib) {
  MemorySources m;
  m.meminfo = dir / "meminfo";
  m.self_cgroup = dir / "no-cgroup";
  m.mountinfo = dir / "no-mountinfo";
  testing::write_file(m.meminfo, "MemTotal:       " + std::to_string(available_kib * 2) +
                                     " kB\nMemAvailable:   " + std::to_string(available_kib) +
                                     " kB\n");
  return m;
}

TEST(LoadHostile, ModelLargerThanMemoryIsRefusedBeforeLoading) {
  TempDir dir;
  const MemorySources one_mib = fake_memory(dir, 1024);
  for (const char* dtype : {"f32", "bf16"}) {
    PipelineOptions o;
    o.dtype = parse_precision(dtype);
    EXPECT_TRUE(
        throws_with([&] { StableDiffusionPipeline::load(kSd15, o, one_mib); },
                    {"the weights of '" + kSd15 + "'", "MiB", "only 1.0 MiB", "MemAvailable"}));
  }
  // The same availability check passes with enough memory (the real model is ~30 MiB).
  EXPECT_NO_THROW(StableDiffusionPipeline::load(kSd15, {}, fake_memory(dir, 1 << 20)));
}

TEST(LoadHostile, RandomWeightsForAHugeConfigAreRefusedBeforeAllocating) {
  // A config-only folder asking for a UNet far larger than memory: refused at the first tensor
  // that does not fit in what is left, before it is allocated, naming the config.
  TempDir dir;
  const std::string p = dir / "config-only";
  for (const auto& e : fs::recursive_directory_iterator(kSd15))
    if (e.is_regular_file() && e.path().extension() != ".safetensors") {
      const fs::path to = fs::path(p) / fs::relative(e.path(), kSd15);
      fs::create_directories(to.parent_path());
      fs::copy_file(e.path(), to);
    }
  PipelineOptions o;
  o.random_weights = true;
  const MemorySources memory = fake_memory(dir, 64 * 1024);  // 64 MiB
  EXPECT_NO_THROW(StableDiffusionPipeline::load(p, o, memory));

  nlohmann::json unet = read_json_file(p + "/unet/config.json");
  unet["block_out_channels"] = {4096, 4096, 4096, 4096};
  unet["norm_num_groups"] = 32;
  testing::write_file(p + "/unet/config.json", unet.dump());
  EXPECT_TRUE(throws_with([&] { StableDiffusionPipeline::load(p, o, memory); },
                          {"random weights for '" + p + "/unet/config.json'", "needs",
                           "of the memory available is left"}));
}

}  // namespace
}  // namespace sdfast
