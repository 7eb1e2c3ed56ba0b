// The UNet's block interfaces and Diffusers' factories get_down_block / get_mid_block /
// get_up_block (unets/unet_2d_blocks.py) for the block types the engine implements:
//   down: CrossAttnDownBlock2D, DownBlock2D
//   mid:  UNetMidBlock2DCrossAttn, UNetMidBlock2D
//   up:   CrossAttnUpBlock2D, UpBlock2D
// Each block type is its own class in its own file; the UNet holds them through these interfaces.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/runtime.h"
#include "io/weights.h"
#include "models/resnet_block_2d.h"
#include "models/transformer_2d_model.h"

namespace sdfast::models {

// What get_*_block receives from UNet2DConditionModel (the arguments Diffusers passes).
struct UNetBlockConfig {
  int in_channels = 0;
  int out_channels = 0;
  int prev_output_channel = 0;  // up blocks: channels of the hidden state coming from below
  int temb_channels = 0;
  int num_layers = 1;          // resnets (up blocks: layers_per_block + 1)
  int transformer_layers = 1;  // BasicTransformerBlocks per Transformer2DModel
  bool add_sample = false;     // add_downsample / add_upsample
  float resnet_eps = 1e-5f;
  int resnet_groups = 32;
  float output_scale_factor = 1.0f;  // resnets' output scale (mid blocks: mid_block_scale_factor)
  int downsample_padding = 1;
  int64_t cross_attention_dim = 0;
  int num_attention_heads = 1;  // head dim = out_channels / num_attention_heads
  bool use_linear_projection = false;
  bool only_cross_attention = false;
  bool upcast_attention = false;
};

// The ResnetBlock2D a block builds (in -> out channels, the block's groups/eps/time embedding).
ResnetBlock2DConfig block_resnet_config(const UNetBlockConfig& c, int in_channels,
                                        int out_channels);
// The Transformer2DModel a cross-attention block builds over `channels`:
// num_attention_heads heads of channels / num_attention_heads each.
Transformer2DModelConfig block_transformer_config(const UNetBlockConfig& c, int channels);

// A down block: x [N, H, W, in] -> [N, H', W', out]; appends its outputs (one per resnet, and the
// downsampler's) to `skips`, Diffusers' `res_samples`. Its layers, in order: resnet j (with
// attention j) for j < num_resnets(), then the downsampler.
class UNetDownBlock {
 public:
  virtual ~UNetDownBlock() = default;
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor& temb, const Tensor& context,
                 std::vector<Tensor>& skips) const {
    return forward_layers(rt, x, temb, context, skips, num_layers());
  }
  // Runs only the first `layers` layers (DeepCache's shallow branch).
  virtual Tensor forward_layers(Runtime& rt, const Tensor& x, const Tensor& temb,
                                const Tensor& context, std::vector<Tensor>& skips,
                                int layers) const = 0;
  virtual int num_resnets() const = 0;
  virtual bool has_attentions() const = 0;
  virtual bool has_downsampler() const = 0;
  int num_layers() const { return num_resnets() + (has_downsampler() ? 1 : 0); }
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  virtual void collect_layers(ops::LayerSet& out) = 0;
};

// The mid block: x [N, H, W, C] -> [N, H, W, C].
class UNetMidBlock {
 public:
  virtual ~UNetMidBlock() = default;
  virtual Tensor forward(Runtime& rt, const Tensor& x, const Tensor& temb,
                         const Tensor& context) const = 0;
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  virtual void collect_layers(ops::LayerSet& out) = 0;
};

// An up block: takes its num_resnets() skip connections from the back of `skips` (removing them),
// concatenating each to the hidden state's channels before a resnet; then upsamples to
// [upsample_h, upsample_w] (<= 0: twice the size) when it has an upsampler.
class UNetUpBlock {
 public:
  virtual ~UNetUpBlock() = default;
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor& temb, const Tensor& context,
                 std::vector<Tensor>& skips, int64_t upsample_h, int64_t upsample_w) const {
    return forward_layers(rt, x, temb, context, skips, 0, num_resnets(), upsample_h, upsample_w);
  }
  // Runs resnets (with their attentions) [first, end), popping one skip each, then the upsampler
  // when end == num_resnets(): x is the hidden state entering resnet `first` (DeepCache splits
  // the block there).
  virtual Tensor forward_layers(Runtime& rt, const Tensor& x, const Tensor& temb,
                                const Tensor& context, std::vector<Tensor>& skips, int first,
                                int end, int64_t upsample_h, int64_t upsample_w) const = 0;
  // Every Linear/Conv2d layer, for LoRA (mutable access: not while the model runs).
  virtual void collect_layers(ops::LayerSet& out) = 0;
  virtual int num_resnets() const = 0;
  virtual bool has_attentions() const = 0;
  virtual bool has_upsampler() const = 0;
};

// Removes and returns the last skip connection; checks that it has the batch and spatial size of
// `h` ([N, H, W, *]), with which it is concatenated.
Tensor pop_skip(std::vector<Tensor>& skips, const Tensor& h);

// The block type names the factories accept (Diffusers' "UNetRes" prefix is stripped first).
bool is_supported_down_block(const std::string& type);
bool is_supported_mid_block(const std::string& type);
bool is_supported_up_block(const std::string& type);
// "CrossAttnDownBlock2D, DownBlock2D" etc., for error messages.
const char* supported_down_blocks();
const char* supported_mid_blocks();
const char* supported_up_blocks();
// Diffusers strips a leading "UNetRes" from block type names.
std::string strip_unet_res_prefix(const std::string& type);

// The block of `type` with its weights under `w` ("down_blocks.i", "mid_block", "up_blocks.i").
std::unique_ptr<UNetDownBlock> get_down_block(Runtime& rt, const Weights& w,
                                              const std::string& type, const UNetBlockConfig& c);
std::unique_ptr<UNetMidBlock> get_mid_block(Runtime& rt, const Weights& w, const std::string& type,
                                            const UNetBlockConfig& c);
std::unique_ptr<UNetUpBlock> get_up_block(Runtime& rt, const Weights& w, const std::string& type,
                                          const UNetBlockConfig& c);

}  // namespace sdfast::models
