// DeepCache feature caching for UNet2DConditionModel (Ma et al., "DeepCache: Accelerating
// Diffusion Models for Free", CVPR 2024), with the semantics of the reference implementation's
// DeepCacheSDHelper in uniform mode (horseee/DeepCache, DeepCache/extension/deepcache.py):
//
// * Schedule. A UNet call is *full* when (step - first_step) % cache_interval == 0, where step is
//   the index of the FIRST entry of scheduler.timesteps equal to the call's timestep (PNDM's and
//   Heun's duplicated timesteps map to one index; it is not a call counter) and first_step is the
//   step of the run's first call. Every other call is *partial*.
// * Branch. cache_branch_id = 3 * B + L. On a partial call these modules reuse their output from
//   the last full call instead of running: every down block > B; in down block B its layers
//   j >= L (layer j < num_resnets is resnet j with attention j, layer num_resnets the
//   downsampler; L == 0: the whole block); the mid block; every up block whose index counted from
//   the output side (n - 1 - i for up_blocks[i]) is > B; in that up block B the resnets/attentions
//   whose reversed index (num_resnets - 1 - j) is > L. conv_in, the time embedding, everything
//   shallower and the output head always run.
//
// Equivalently (what the engine stores): everything a partial call reuses reaches the fresh part
// of the network through two places only, the skip connections produced by the cached down
// modules and the hidden state entering the first up layer that runs. A full call stores those;
// a partial call runs the shallow down prefix, appends the stored skips, and resumes the up path
// from the stored hidden state. The cache belongs to one run (one denoising loop), not to the
// model, which stays read-only and shareable.
//
// What L means per layout. SD 1.x/2.x (2 resnets + downsampler per down block, 3 resnets per up
// block): L = 0 reuses all of down block B and up resnets 0-1 of up block B (resnet 2 runs);
// L = 1 runs down layer 0 and up resnets 1-2; L = 2 runs down layers 0-1 (the downsampler is
// reused) and all of up block B. BK-SDM (layers_per_block 1: 1 resnet + downsampler per down
// block, 2 resnets per up block, no mid block): L = 0 reuses all of down block B and up resnet 0;
// L = 1 runs down resnet 0 (downsampler reused) and all of up block B; L = 2 runs all of down
// block B and up block B, so only the blocks deeper than B are reused. With no mid block there is
// nothing to reuse there (the reference helper itself cannot run on such a UNet: it wraps
// `unet.mid_block.forward` and mid_block is None).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace sdfast::models {

// The UNet's block structure as far as DeepCache is concerned (down and up blocks in their
// Diffusers order).
struct UNetBlockLayout {
  struct Block {
    int resnets = 0;
    bool attentions = false;  // one Transformer2DModel per resnet
    bool sampler = false;     // downsampler / upsampler
  };
  std::vector<Block> down;
  bool mid_block = false;
  std::vector<Block> up;
};

// Which parts of the UNet run on a partial call, for one cache_branch_id.
struct DeepCachePlan {
  int branch_id = 0;
  int block = 0;  // B = branch_id / 3
  int layer = 0;  // L = branch_id % 3
  // Down path: blocks [0, down_full_blocks) run whole; then down block down_full_blocks (when it
  // exists) runs its first down_partial_layers layers; everything after is reused.
  int down_full_blocks = 0;
  int down_partial_layers = 0;
  // Skip connections computed on a partial call (conv_in's output and the fresh down layers'); the
  // ones after them are reused.
  size_t fresh_skips = 0;
  // Up path: up_blocks[0, up_block) are reused whole; up_blocks[up_block] resumes at resnet
  // up_first_layer from the stored hidden state; everything after runs.
  int up_block = 0;
  int up_first_layer = 0;
  // The hidden state there is the fresh down path's output, not a reused one: the UNet has no mid
  // block and the shallow branch starts at the very first up layer (BK-SDM's deepest branches).
  bool up_input_fresh = false;
};

// The plan for `branch_id` on `layout`; throws InvalidArgument unless 0 <= branch_id <
// deepcache_max_branch_id(layout) + 1.
DeepCachePlan make_deepcache_plan(const UNetBlockLayout& layout, int branch_id);
// 3 * (number of down blocks) - 1: the deepest branch whose block exists.
int deepcache_max_branch_id(const UNetBlockLayout& layout);

// The modules a partial call reuses instead of running, by their Diffusers names, in the order the
// forward pass meets them ("down_blocks.1.resnets.1", "down_blocks.2", "mid_block", "up_blocks.0",
// "up_blocks.2.attentions.0", ...; a whole block is named once).
std::vector<std::string> deepcache_reused_modules(const UNetBlockLayout& layout,
                                                  const DeepCachePlan& plan);

// The uniform schedule of one run: which UNet calls are full.
class DeepCacheSchedule {
 public:
  // `timesteps`: the scheduler's timestep array (scheduler.timesteps); interval >= 1.
  DeepCacheSchedule(int interval, std::vector<double> timesteps);
  // Whether the call at timestep `t` is full. The first call fixes first_step. Throws when `t` is
  // not in the timestep array.
  bool next_call_is_full(double t);

 private:
  int interval_;
  std::vector<double> timesteps_;
  long first_step_ = -1;
};

// The per-run cache: the plan and the features the last full call stored.
struct UNetDeepCache {
  explicit UNetDeepCache(DeepCachePlan p) : plan(p) {}
  DeepCachePlan plan;
  std::vector<Tensor> deep_skips;  // skip connections after plan.fresh_skips
  Tensor up_input;                 // hidden state entering up_blocks[up_block] at up_first_layer
  Shape sample_shape;              // the UNet input of that call
  bool filled() const { return up_input.defined(); }
};

}  // namespace sdfast::models
