// One loaded Pipeline, several runs at the same time: two generate() calls on different threads
// (different prompts, seeds, sizes, schedulers' step counts and thread counts) give bit-identical
// results to the same calls run one after the other. Also built alone as
// sdfast_concurrency_test for the ThreadSanitizer stage (scripts/tsan.sh).
#include <gtest/gtest.h>

#include <cstdlib>
#include <exception>
#include <string>
#include <thread>

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

// Threads of the two runs; SDFAST_CONCURRENCY_THREADS=1 runs both with one (the ThreadSanitizer
// stage may ask for that to keep the run short).
void run_pair(const PipelineOptions& options, int threads_a, int threads_b) {
  const auto pipe = Pipeline::from_pretrained(kSd15, options);
  const GenerateRequest ra = request_a(threads_a), rb = request_b(threads_b);
  const GenerateResult a1 = pipe->generate(ra);
  const GenerateResult b1 = pipe->generate(rb);
  ASSERT_EQ(a1.images.size(), 1u);
  ASSERT_EQ(b1.images.size(), 2u);

  GenerateResult a2, b2;
  std::exception_ptr ea, eb;
  std::thread ta([&] {
    try {
      a2 = pipe->generate(ra);
    } catch (...) {
      ea = std::current_exception();
    }
  });
  std::thread tb([&] {
    try {
      b2 = pipe->generate(rb);
    } catch (...) {
      eb = std::current_exception();
    }
  });
  ta.join();
  tb.join();
  if (ea) std::rethrow_exception(ea);
  if (eb) std::rethrow_exception(eb);
  expect_same(a1, a2, "run a (64x64, 1 prompt)");
  expect_same(b1, b2, "run b (56x40, 2 prompts)");
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

TEST(ConcurrentRuns, BadThreadCountIsRefused) {
  const auto pipe = Pipeline::from_pretrained(kSd15);
  GenerateRequest r = request_a(-1);
  EXPECT_THROW(pipe->generate(r), InvalidArgument);
}

}  // namespace
}  // namespace sdfast
