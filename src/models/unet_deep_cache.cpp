// Reference: horseee/DeepCache, DeepCache/extension/deepcache.py (DeepCacheSDHelper: set_params,
// is_skip_step, wrap_unet_forward, wrap_modules), uniform skip mode.
#include "models/unet_deep_cache.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace sdfast::models {

namespace {

int down_layers(const UNetBlockLayout::Block& b) { return b.resnets + (b.sampler ? 1 : 0); }

}  // namespace

int deepcache_max_branch_id(const UNetBlockLayout& layout) {
  return 3 * int(layout.down.size()) - 1;
}

DeepCachePlan make_deepcache_plan(const UNetBlockLayout& layout, int branch_id) {
  const int n = int(layout.down.size());
  SDFAST_CHECK(n > 0 && layout.up.size() == layout.down.size(), "DeepCache: a UNet with ",
               layout.down.size(), " down and ", layout.up.size(), " up blocks");
  if (branch_id < 0 || branch_id > deepcache_max_branch_id(layout))
    fail_argument("DeepCache branch id must be between 0 and ", deepcache_max_branch_id(layout),
                  " for this UNet (", n, " blocks, 3 branches each), got ", branch_id);
  DeepCachePlan p;
  p.branch_id = branch_id;
  p.block = branch_id / 3;
  p.layer = branch_id % 3;
  // Down: a module in block B is reused when its layer index is >= L (the block as a whole counts
  // as layer 0), so the first min(L, layers) layers run.
  p.down_full_blocks = p.block;
  p.down_partial_layers = std::min(p.layer, down_layers(layout.down[size_t(p.block)]));
  p.fresh_skips = 1;  // conv_in
  for (int i = 0; i < p.block; ++i) p.fresh_skips += size_t(down_layers(layout.down[size_t(i)]));
  p.fresh_skips += size_t(p.down_partial_layers);
  // Up: up_blocks[i] is block n-1-i counted from the output side; in block B, resnet j is layer
  // resnets-1-j and is reused when that is > L (the block itself and its upsampler are layer 0).
  p.up_block = n - 1 - p.block;
  p.up_first_layer = std::max(0, layout.up[size_t(p.up_block)].resnets - 1 - p.layer);
  p.up_input_fresh = p.up_block == 0 && p.up_first_layer == 0 && !layout.mid_block;
  return p;
}

std::vector<std::string> deepcache_reused_modules(const UNetBlockLayout& layout,
                                                  const DeepCachePlan& plan) {
  std::vector<std::string> out;
  for (int i = 0; i < int(layout.down.size()); ++i) {
    const std::string name = "down_blocks." + std::to_string(i);
    const UNetBlockLayout::Block& b = layout.down[size_t(i)];
    if (i < plan.down_full_blocks) continue;
    if (i > plan.down_full_blocks || plan.down_partial_layers == 0) {
      out.push_back(name);
      continue;
    }
    for (int j = plan.down_partial_layers; j < b.resnets; ++j) {
      out.push_back(name + ".resnets." + std::to_string(j));
      if (b.attentions) out.push_back(name + ".attentions." + std::to_string(j));
    }
    if (b.sampler && plan.down_partial_layers <= b.resnets) out.push_back(name + ".downsamplers.0");
  }
  if (layout.mid_block) out.push_back("mid_block");
  for (int i = 0; i <= plan.up_block; ++i) {
    const std::string name = "up_blocks." + std::to_string(i);
    if (i < plan.up_block) {
      out.push_back(name);
      continue;
    }
    for (int j = 0; j < plan.up_first_layer; ++j) {
      out.push_back(name + ".resnets." + std::to_string(j));
      if (layout.up[size_t(i)].attentions) out.push_back(name + ".attentions." + std::to_string(j));
    }
  }
  return out;
}

DeepCacheSchedule::DeepCacheSchedule(int interval, std::vector<double> timesteps)
    : interval_(interval), timesteps_(std::move(timesteps)) {
  if (interval < 1) fail_argument("DeepCache cache interval must be at least 1, got ", interval);
}

bool DeepCacheSchedule::next_call_is_full(double t) {
  const auto it = std::find(timesteps_.begin(), timesteps_.end(), t);
  SDFAST_CHECK(it != timesteps_.end(), "DeepCache: timestep ", t,
               " is not in the scheduler's timesteps (", timesteps_.size(), " entries)");
  const long step = long(it - timesteps_.begin());
  if (first_step_ < 0) first_step_ = step;
  // Python's % on a negative difference is non-negative; a zero remainder is the same either way.
  return (step - first_step_) % interval_ == 0;
}

}  // namespace sdfast::models
