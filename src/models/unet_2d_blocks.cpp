// Reference: diffusers/src/diffusers/models/unets/unet_2d_blocks.py (get_down_block,
// get_mid_block, get_up_block), v0.26.3.
#include "models/unet_2d_blocks.h"

#include "core/error.h"
#include "models/cross_attn_down_block_2d.h"
#include "models/cross_attn_up_block_2d.h"
#include "models/down_block_2d.h"
#include "models/unet_mid_block_2d.h"
#include "models/unet_mid_block_2d_cross_attn.h"
#include "models/up_block_2d.h"

namespace sdfast::models {

ResnetBlock2DConfig block_resnet_config(const UNetBlockConfig& c, int in_channels,
                                        int out_channels) {
  ResnetBlock2DConfig r;
  r.in_channels = in_channels;
  r.out_channels = out_channels;
  r.temb_channels = c.temb_channels;
  r.groups = c.resnet_groups;
  r.eps = c.resnet_eps;
  r.output_scale_factor = c.output_scale_factor;
  return r;
}

Transformer2DModelConfig block_transformer_config(const UNetBlockConfig& c, int channels) {
  Transformer2DModelConfig t;
  t.num_attention_heads = c.num_attention_heads;
  t.attention_head_dim = c.num_attention_heads > 0 ? channels / c.num_attention_heads : 0;
  t.in_channels = channels;
  t.num_layers = c.transformer_layers;
  t.cross_attention_dim = c.cross_attention_dim;
  t.norm_num_groups = c.resnet_groups;
  t.use_linear_projection = c.use_linear_projection;
  t.only_cross_attention = c.only_cross_attention;
  t.upcast_attention = c.upcast_attention;
  return t;
}

Tensor pop_skip(std::vector<Tensor>& skips, const Tensor& h) {
  SDFAST_CHECK(!skips.empty(), "UNet up block: no skip connection left for ", h.describe());
  Tensor skip = std::move(skips.back());
  skips.pop_back();
  SDFAST_CHECK(skip.ndim() == 4 && h.ndim() == 4 && skip.dim(0) == h.dim(0) &&
                   skip.dim(1) == h.dim(1) && skip.dim(2) == h.dim(2),
               "UNet up block: skip connection ", skip.describe(),
               " does not match the hidden state ", h.describe());
  return skip;
}

std::string strip_unet_res_prefix(const std::string& type) {
  const std::string prefix = "UNetRes";
  return type.rfind(prefix, 0) == 0 ? type.substr(prefix.size()) : type;
}

bool is_supported_down_block(const std::string& type) {
  return type == "CrossAttnDownBlock2D" || type == "DownBlock2D";
}
bool is_supported_mid_block(const std::string& type) {
  return type == "UNetMidBlock2DCrossAttn" || type == "UNetMidBlock2D";
}
bool is_supported_up_block(const std::string& type) {
  return type == "CrossAttnUpBlock2D" || type == "UpBlock2D";
}
const char* supported_down_blocks() { return "CrossAttnDownBlock2D, DownBlock2D"; }
const char* supported_mid_blocks() { return "UNetMidBlock2DCrossAttn, UNetMidBlock2D, null"; }
const char* supported_up_blocks() { return "CrossAttnUpBlock2D, UpBlock2D"; }

std::unique_ptr<UNetDownBlock> get_down_block(Runtime& rt, const Weights& w,
                                              const std::string& type, const UNetBlockConfig& c) {
  const std::string t = strip_unet_res_prefix(type);
  if (t == "CrossAttnDownBlock2D") return std::make_unique<CrossAttnDownBlock2D>(rt, w, c);
  if (t == "DownBlock2D") return std::make_unique<DownBlock2D>(rt, w, c);
  fail("unsupported down block type '", type, "' (supported: ", supported_down_blocks(), ")");
}

namespace {

// mid_block_type "UNetMidBlock2D" as UNet2DConditionModel builds it: num_layers 0, no attention,
// the time embedding passed to its one ResnetBlock2D.
class UNetMidBlock2DWithTemb final : public UNetMidBlock {
 public:
  UNetMidBlock2DWithTemb(Runtime& rt, const Weights& w, const UNetBlockConfig& c)
      : block_(rt, w, mid_config(c)) {}
  Tensor forward(Runtime& rt, const Tensor& x, const Tensor& temb, const Tensor&) const override {
    return block_.forward(rt, x, &temb);
  }
  // Diffusers 0.26 calls this block as mid_block(sample, emb): its resnet runs without the LoRA scale.
  void collect_layers(ops::LayerSet& out) override {
    ops::LayerSet layers;
    block_.collect_layers(layers);
    out.add_unscaled(layers);
  }

 private:
  static UNetMidBlock2DConfig mid_config(const UNetBlockConfig& c) {
    UNetMidBlock2DConfig m;
    m.in_channels = c.in_channels;
    m.num_layers = 0;
    m.add_attention = false;
    m.resnet_groups = c.resnet_groups;
    m.resnet_eps = c.resnet_eps;
    m.output_scale_factor = c.output_scale_factor;
    m.temb_channels = c.temb_channels;
    return m;
  }
  UNetMidBlock2D block_;
};

}  // namespace

std::unique_ptr<UNetMidBlock> get_mid_block(Runtime& rt, const Weights& w, const std::string& type,
                                            const UNetBlockConfig& c) {
  if (type == "UNetMidBlock2DCrossAttn") return std::make_unique<UNetMidBlock2DCrossAttn>(rt, w, c);
  if (type == "UNetMidBlock2D") return std::make_unique<UNetMidBlock2DWithTemb>(rt, w, c);
  fail("unsupported mid block type '", type, "' (supported: ", supported_mid_blocks(), ")");
}

std::unique_ptr<UNetUpBlock> get_up_block(Runtime& rt, const Weights& w, const std::string& type,
                                          const UNetBlockConfig& c) {
  const std::string t = strip_unet_res_prefix(type);
  if (t == "CrossAttnUpBlock2D") return std::make_unique<CrossAttnUpBlock2D>(rt, w, c);
  if (t == "UpBlock2D") return std::make_unique<UpBlock2D>(rt, w, c);
  fail("unsupported up block type '", type, "' (supported: ", supported_up_blocks(), ")");
}

}  // namespace sdfast::models
