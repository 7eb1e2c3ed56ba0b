// One loaded Pipeline, several runs at the same time: two generate() calls on different threads
// (different prompts, seeds, sizes, schedulers' step counts and thread counts) give bit-identical
// results to the same calls run one after the other. Also built alone as
// sdfast_concurrency_test for the ThreadSanitizer stage (scripts/tsan.sh).
#include <gtest/gtest.h>

#include <cstdlib>
#include <exception>
#include <string>
#include <thread>
#include <utility>

#include "sdfast/pipeline.h"

namespace sdfast {
namespace {

const std::string kSd15 = std::string(SDFAST_TEST_DATA) + "/golden/models/tiny-sd15-pipeline";

GenerateRequest request_a(int threads) {
  GenerateRequest r;
  r.prompts = {"a red circle on a blue background"};
  r.negative_prompts = {"blurry"};
  r.num_inference_steps = 3;
  r.height = r.width = 64;
  r.seeds = {7};
  r.threads = threads;
  r.return_latents = true;
  return r;
}

GenerateRequest request_b(int threads) {
  GenerateRequest r;
  r.prompts = {"two green squares", "a yellow triangle"};
  r.num_inference_steps = 4;
  r.guidance_scale = 5.0;
  r.height = 40;
  r.width = 56;
  r.seeds = {123};
  r.generator = GeneratorKind::Torch;
  r.threads = threads;
  r.return_latents = true;
  return r;
}

void expect_same(const GenerateResult& want, const GenerateResult& got, const char* which) {
  SCOPED_TRACE(which);
  ASSERT_EQ(want.images.size(), got.images.size());
  for (size_t i = 0; i < want.images.size(); ++i) {
    EXPECT_EQ(want.images[i].width, got.images[i].width);
    EXPECT_EQ(want.images[i].height, got.images[i].height);
    EXPECT_TRUE(want.images[i].rgb == got.images[i].rgb) << "image " << i << " differs";
  }
  EXPECT_EQ(want.latents_shape, got.latents_shape);
  ASSERT_EQ(want.latents.size(), got.latents.size());
  size_t differ = 0;
  for (size_t i = 0; i < want.latents.size(); ++i) differ += want.latents[i] != got.latents[i];
  EXPECT_EQ(differ, 0u) << "of " << want.latents.size() << " latent values differ (bit for bit)";
  EXPECT_EQ(want.seeds, got.seeds);
}

// generate(ra) and generate(rb) on two threads at the same time.
std::pair<GenerateResult, GenerateResult> at_once(const Pipeline& pipe, const GenerateRequest& ra,
                                                  const GenerateRequest& rb) {
  GenerateResult a, b;
  std::exception_ptr ea, eb;
  const auto run = [&pipe](const GenerateRequest& r, GenerateResult& out, std::exception_ptr& error) {
    try {
      out = pipe.generate(r);
    } catch (...) {
      error = std::current_exception();
    }
  };
  std::thread ta(run, std::cref(ra), std::ref(a), std::ref(ea));
  std::thread tb(run, std::cref(rb), std::ref(b), std::ref(eb));
  ta.join();
  tb.join();
  if (ea) std::rethrow_exception(ea);
  if (eb) std::rethrow_exception(eb);
  return {std::move(a), std::move(b)};
}

// The two requests at once on `pipe` give what they gave one after the other.
void run_pair(const Pipeline& pipe, const GenerateRequest& ra, const GenerateRequest& rb) {
  const GenerateResult a1 = pipe.generate(ra);
  const GenerateResult b1 = pipe.generate(rb);
  ASSERT_EQ(a1.images.size(), ra.prompts.size() * size_t(ra.num_images_per_prompt));
  ASSERT_EQ(b1.images.size(), rb.prompts.size() * size_t(rb.num_images_per_prompt));

  const auto [a2, b2] = at_once(pipe, ra, rb);
  expect_same(a1, a2, "run a");
  expect_same(b1, b2, "run b");
}

// Threads of the two runs; SDFAST_CONCURRENCY_THREADS=1 runs both with one (the ThreadSanitizer
// stage may ask for that to keep the run short).
void run_pair(const PipelineOptions& options, int threads_a, int threads_b) {
  const auto pipe = Pipeline::from_pretrained(kSd15, options);
  run_pair(*pipe, request_a(threads_a), request_b(threads_b));
}

// A 64x64 picture with some structure (img2img's init image).
Image test_picture() {
  Image im{64, 64, std::vector<uint8_t>(64 * 64 * 3)};
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) {
      uint8_t* p = &im.rgb[size_t((y * 64 + x) * 3)];
      p[0] = uint8_t(x * 4);
      p[1] = uint8_t(y * 4);
      p[2] = (x / 16 + y / 16) % 2 ? 220 : 30;
    }
  return im;
}

TEST(ConcurrentRuns, TwoGenerateCallsAtOnceMatchSequentialF32) {
  const bool one = std::getenv("SDFAST_CONCURRENCY_THREADS") && std::string(std::getenv("SDFAST_CONCURRENCY_THREADS")) == "1";
  run_pair(PipelineOptions{}, 1, one ? 1 : 2);
}

TEST(ConcurrentRuns, TwoGenerateCallsAtOnceMatchSequentialBf16) {
  PipelineOptions o;
  o.dtype = Precision::BF16;
  run_pair(o, 1, 1);
}

// What else a run carries: img2img (the VAE encoder, built lazily by the first run that needs it,
// here by both at once), its own scheduler, DeepCache's features, and an unmerged LoRA's adapters
// shared by both runs.
TEST(ConcurrentRuns, Img2ImgDeepCacheSchedulersAndAnUnmergedLoraAtOnce) {
  const auto make = [] {
    auto pipe = Pipeline::from_pretrained(kSd15);
    pipe->load_lora(std::string(SDFAST_TEST_DATA) + "/golden/cases/lora-kohya-sd15/lora_kohya.safetensors",
                    0.8, /*merge=*/false);
    return pipe;
  };
  GenerateRequest edit = request_a(1);
  edit.image = test_picture();
  edit.strength = 0.75;
  edit.num_inference_steps = 4;
  edit.scheduler = "euler";
  GenerateRequest cached = request_b(1);
  cached.deepcache_interval = 2;
  cached.scheduler = "ddim";
  // A fresh pipeline each way, so that the lazily built encoder is first built inside the pair.
  const auto sequential = make();
  const GenerateResult a1 = sequential->generate(edit), b1 = sequential->generate(cached);
  const auto pipe = make();
  const auto [a2, b2] = at_once(*pipe, edit, cached);
  EXPECT_EQ(a1.scheduler, "EulerDiscreteScheduler");
  EXPECT_EQ(b1.scheduler, "DDIMScheduler");
  expect_same(a1, a2, "img2img, euler, unmerged LoRA");
  expect_same(b1, b2, "DeepCache N=2, ddim, unmerged LoRA");
}

TEST(ConcurrentRuns, BadThreadCountIsRefused) {
  const auto pipe = Pipeline::from_pretrained(kSd15);
  GenerateRequest r = request_a(-1);
  EXPECT_THROW(pipe->generate(r), InvalidArgument);
}

}  // namespace
}  // namespace sdfast
