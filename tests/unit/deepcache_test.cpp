// DeepCache (models/unet_deep_cache.h): which UNet calls are full for DDIM / PNDM / Heun-like
// timestep arrays, which modules a partial call reuses for each branch id on the SD1.5 and
// BK-SDM layouts (expected lists written by hand from the reference helper's is_skip_step
// rule), the UNet's partial calls on the tiny golden models, and the --deepcache parser. The
// golden cases (tests/golden/cases/deepcache-*) check the numbers against the reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "core/runtime.h"
#include "models/unet_2d_condition_model.h"
#include "models/unet_deep_cache.h"
#include "tensor_test_util.h"
#include "sdfast/pipeline.h"

namespace sdfast::models {
namespace {

using Names = std::vector<std::string>;

const std::string kModels = std::string(SDFAST_TEST_DATA) + "/golden/models";

// The full-call indices of `calls` UNet calls whose timesteps are `call_timesteps`.
std::vector<int> full_calls(int interval, const std::vector<double>& timesteps,
                            const std::vector<double>& call_timesteps) {
  DeepCacheSchedule s(interval, timesteps);
  std::vector<int> out;
  for (size_t i = 0; i < call_timesteps.size(); ++i)
    if (s.next_call_is_full(call_timesteps[i])) out.push_back(int(i));
  return out;
}

TEST(DeepCacheSchedule, DdimEveryNthStep) {
  const std::vector<double> t = {901, 801, 701, 601, 501, 401, 301, 201, 101, 1};
  EXPECT_EQ(full_calls(3, t, t), (std::vector<int>{0, 3, 6, 9}));
  EXPECT_EQ(full_calls(2, t, t), (std::vector<int>{0, 2, 4, 6, 8}));
  EXPECT_EQ(full_calls(5, t, t), (std::vector<int>{0, 5}));
  EXPECT_EQ(full_calls(1, t, t), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(DeepCacheSchedule, PndmDuplicatedTimestepCountsAsOneIndex) {
  // PNDM (skip_prk_steps): 10 steps give 11 calls, the second timestep twice. Calls map to the
  // FIRST index of their timestep: 0, 1, 1, 3, 4, ..., 10 (not the call counter 0..10).
  const std::vector<double> t = {901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1};
  EXPECT_EQ(full_calls(2, t, t), (std::vector<int>{0, 4, 6, 8, 10}));
  EXPECT_EQ(full_calls(3, t, t), (std::vector<int>{0, 3, 6, 9}));
}

TEST(DeepCacheSchedule, HeunLikeRepeatedTimesteps) {
  // Heun: [t0, t1, t1, t2, t2, t3, t3] -> indices 0, 1, 1, 3, 3, 5, 5. With N = 2 only the first
  // call is full (every later index is odd), as in the reference.
  const std::vector<double> t = {999, 666, 666, 333, 333, 1, 1};
  EXPECT_EQ(full_calls(2, t, t), (std::vector<int>{0}));
  EXPECT_EQ(full_calls(3, t, t), (std::vector<int>{0, 3, 4}));
}

TEST(DeepCacheSchedule, FirstCallSetsTheStartAndUnknownTimestepsAreRefused) {
  // A run starting inside the array (img2img strength): the first call is full, counting from it.
  const std::vector<double> t = {901, 801, 701, 601, 501, 401};
  EXPECT_EQ(full_calls(2, t, {701, 601, 501, 401}), (std::vector<int>{0, 2}));
  DeepCacheSchedule s(2, t);
  EXPECT_THROW(s.next_call_is_full(900), Error);
  EXPECT_THROW(DeepCacheSchedule(0, t), InvalidArgument);
}

UNetBlockLayout sd15_layout() {
  UNetBlockLayout l;
  l.down = {{2, true, true}, {2, true, true}, {2, true, true}, {2, false, false}};
  l.mid_block = true;
  l.up = {{3, false, true}, {3, true, true}, {3, true, true}, {3, true, false}};
  return l;
}

UNetBlockLayout bk_small_layout() {
  UNetBlockLayout l;
  l.down = {{1, true, true}, {1, true, true}, {1, true, true}, {1, false, false}};
  l.mid_block = false;
  l.up = {{2, false, true}, {2, true, true}, {2, true, true}, {2, true, false}};
  return l;
}

Names reused(const UNetBlockLayout& l, int branch) {
  return deepcache_reused_modules(l, make_deepcache_plan(l, branch));
}

TEST(DeepCachePlan, Sd15Branches) {
  const UNetBlockLayout l = sd15_layout();
  // Branch 0 (the reference's default): only conv_in, down nothing, up block 3's last resnet.
  EXPECT_EQ(reused(l, 0), (Names{"down_blocks.0", "down_blocks.1", "down_blocks.2", "down_blocks.3",
                                 "mid_block", "up_blocks.0", "up_blocks.1", "up_blocks.2",
                                 "up_blocks.3.resnets.0", "up_blocks.3.attentions.0",
                                 "up_blocks.3.resnets.1", "up_blocks.3.attentions.1"}));
  const DeepCachePlan p0 = make_deepcache_plan(l, 0);
  EXPECT_EQ(p0.fresh_skips, 1u);
  EXPECT_EQ(p0.up_block, 3);
  EXPECT_EQ(p0.up_first_layer, 2);
  // Branch 2: down block 0's two layers run, its downsampler is reused; up block 3 runs whole.
  EXPECT_EQ(reused(l, 2),
            (Names{"down_blocks.0.downsamplers.0", "down_blocks.1", "down_blocks.2",
                   "down_blocks.3", "mid_block", "up_blocks.0", "up_blocks.1", "up_blocks.2"}));
  EXPECT_EQ(make_deepcache_plan(l, 2).fresh_skips, 3u);
  // Branch 4 (B = 1, L = 1), the dpmpp golden case's.
  EXPECT_EQ(reused(l, 4), (Names{"down_blocks.1.resnets.1", "down_blocks.1.attentions.1",
                                 "down_blocks.1.downsamplers.0", "down_blocks.2", "down_blocks.3",
                                 "mid_block", "up_blocks.0", "up_blocks.1", "up_blocks.2.resnets.0",
                                 "up_blocks.2.attentions.0"}));
  const DeepCachePlan p4 = make_deepcache_plan(l, 4);
  EXPECT_EQ(p4.fresh_skips, 5u);  // conv_in, down block 0's 3, down block 1's first
  EXPECT_EQ(p4.up_block, 2);
  EXPECT_EQ(p4.up_first_layer, 1);
  // Branch 11: everything runs but the mid block (down block 3 has no downsampler).
  EXPECT_EQ(reused(l, 11), (Names{"mid_block"}));
  EXPECT_EQ(make_deepcache_plan(l, 11).fresh_skips, 12u);
  try {
    make_deepcache_plan(l, 12);
    ADD_FAILURE() << "branch 12 accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("between 0 and 11"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_deepcache_plan(l, -1), InvalidArgument);
}

TEST(DeepCachePlan, BkSdmBranches) {
  const UNetBlockLayout l = bk_small_layout();
  EXPECT_EQ(reused(l, 0), (Names{"down_blocks.0", "down_blocks.1", "down_blocks.2", "down_blocks.3",
                                 "up_blocks.0", "up_blocks.1", "up_blocks.2",
                                 "up_blocks.3.resnets.0", "up_blocks.3.attentions.0"}));
  EXPECT_EQ(reused(l, 1), (Names{"down_blocks.0.downsamplers.0", "down_blocks.1", "down_blocks.2",
                                 "down_blocks.3", "up_blocks.0", "up_blocks.1", "up_blocks.2"}));
  // L = 2 with one resnet per block: all of down block 0 and up block 3 run.
  EXPECT_EQ(reused(l, 2), (Names{"down_blocks.1", "down_blocks.2", "down_blocks.3", "up_blocks.0",
                                 "up_blocks.1", "up_blocks.2"}));
  EXPECT_EQ(reused(l, 3),
            (Names{"down_blocks.1", "down_blocks.2", "down_blocks.3", "up_blocks.0", "up_blocks.1",
                   "up_blocks.2.resnets.0", "up_blocks.2.attentions.0"}));
  // No mid block: the deepest branches reuse nothing at all; the up path then starts from the
  // fresh output of the down path.
  EXPECT_EQ(reused(l, 11), Names{});
  EXPECT_EQ(reused(l, 10), Names{});
  EXPECT_TRUE(make_deepcache_plan(l, 10).up_input_fresh);
  EXPECT_EQ(reused(l, 9), (Names{"down_blocks.3", "up_blocks.0.resnets.0"}));
  EXPECT_FALSE(make_deepcache_plan(l, 9).up_input_fresh);
  EXPECT_FALSE(make_deepcache_plan(sd15_layout(), 11).up_input_fresh);
}

TEST(DeepCachePlan, LayoutsOfTheTinyModels) {
  Runtime rt;
  const auto sd =
      UNet2DConditionModel::from_config_random(rt, kModels + "/tiny-sd15-pipeline/unet", 1);
  const auto bk = UNet2DConditionModel::from_config_random(
      rt, kModels + "/tiny-bk-small-taesd-pipeline/unet", 1);
  const auto same = [](const UNetBlockLayout& a, const UNetBlockLayout& b) {
    const auto eq = [](const std::vector<UNetBlockLayout::Block>& x,
                       const std::vector<UNetBlockLayout::Block>& y) {
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (x[i].resnets != y[i].resnets || x[i].attentions != y[i].attentions ||
            x[i].sampler != y[i].sampler)
          return false;
      return true;
    };
    return eq(a.down, b.down) && eq(a.up, b.up) && a.mid_block == b.mid_block;
  };
  EXPECT_TRUE(same(sd.block_layout(), sd15_layout()));
  EXPECT_TRUE(same(bk.block_layout(), bk_small_layout()));
}

using test::max_abs_diff;
using test::randn;

// A partial call on the inputs of the full call that filled the cache recomputes the shallow
// branch on the same values, so it must reproduce the full output; on another timestep it
// must differ from a full evaluation there (something was reused) yet stay close.
void check_partial_calls(const std::string& folder, const std::vector<int>& branches) {
  Runtime rt;
  const auto unet = UNet2DConditionModel::from_config_random(rt, folder, 7);
  const int64_t batch = 2;  // a CFG pair
  const Tensor x = randn({batch, 4, 16, 16}, 1);
  const Tensor ctx = randn({batch, 77, 32}, 2);
  const Tensor full_500 = unet.forward(rt, x, 500.0, ctx);
  const Tensor full_400 = unet.forward(rt, x, 400.0, ctx);
  for (int branch : branches) {
    SCOPED_TRACE("branch " + std::to_string(branch));
    UNetDeepCache cache(make_deepcache_plan(unet.block_layout(), branch));
    EXPECT_THROW(unet.forward(rt, x, {500.0}, ctx, cache, false), Error);  // nothing stored yet
    EXPECT_EQ(max_abs_diff(unet.forward(rt, x, {500.0}, ctx, cache, true), full_500), 0.0);
    EXPECT_EQ(max_abs_diff(unet.forward(rt, x, {500.0}, ctx, cache, false), full_500), 0.0);
    const double d = max_abs_diff(unet.forward(rt, x, {400.0}, ctx, cache, false), full_400);
    if (!deepcache_reused_modules(unet.block_layout(), cache.plan).empty()) {
      EXPECT_GT(d, 0.0);
    } else {
      EXPECT_EQ(d, 0.0);
    }
    EXPECT_THROW(unet.forward(rt, x.slice0(0, 1), {400.0}, ctx.slice0(0, 1), cache, false), Error);
  }
}

TEST(DeepCacheUNet, PartialCallsSd15Layout) {
  check_partial_calls(kModels + "/tiny-sd15-pipeline/unet", {0, 1, 2, 4, 8, 11});
}

TEST(DeepCacheUNet, PartialCallsBkSmallLayout) {
  check_partial_calls(kModels + "/tiny-bk-small-taesd-pipeline/unet", {0, 1, 2, 5, 9, 10, 11});
}

TEST(DeepCacheOption, ParsesAndRefuses) {
  EXPECT_EQ(parse_deepcache("3").interval, 3);
  EXPECT_EQ(parse_deepcache("3").branch_id, 0);
  EXPECT_EQ(parse_deepcache("5:4").interval, 5);
  EXPECT_EQ(parse_deepcache("5:4").branch_id, 4);
  EXPECT_EQ(parse_deepcache("1").interval, 1);
  for (const char* bad : {"", "0", "-3", "+3", " 3", "3 ", "3:", ":3", "3:-1", "3:100", "1001",
                          "3:1:2", "3.5", "x", "3:x", "99999999999999999999"}) {
    SCOPED_TRACE(bad);
    try {
      parse_deepcache(bad);
      ADD_FAILURE() << "accepted";
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("--deepcache"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace sdfast::models
