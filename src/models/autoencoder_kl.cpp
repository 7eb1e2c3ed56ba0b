// Reference: diffusers/src/diffusers/models/autoencoders/autoencoder_kl.py (AutoencoderKL),
// autoencoders/vae.py (DiagonalGaussianDistribution), modeling_utils.py
// (_convert_deprecated_attention_blocks).
#include "models/autoencoder_kl.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "io/renamed_weights.h"
#include "models/config_checks.h"
#include "ops/elementwise.h"

namespace sdfast::models {

namespace {

constexpr int kMaxChannels = 16384;

void check_block_types(const Config& c, const std::string& key, const std::string& type, size_t n) {
  const std::vector<std::string> types = c.get<std::vector<std::string>>(key, {type});
  config_check_length(c, key, types.size(), n, "block_out_channels");
  for (const std::string& t : types)
    if (t != type)
      c.fail_key(key,
                 "has unsupported block type '" + t + "' (AutoencoderKL supports '" + type + "')");
}

// Older checkpoints name the mid-block attention projections query/key/value/proj_attn; Diffusers
// renames them to to_q/to_k/to_v/to_out.0 when loading. This is the one place that does it here.
std::string stored_attention_name(const WeightSource& source, const std::string& name) {
  static const std::pair<std::string, std::string> kDeprecated[] = {
      {"to_q.", "query."}, {"to_k.", "key."}, {"to_v.", "value."}, {"to_out.0.", "proj_attn."}};
  static const std::string kAttentions = "mid_block.attentions.";
  if (source.contains(name)) return name;
  const size_t at = name.find(kAttentions);
  if (at == std::string::npos) return name;
  const size_t index_end = name.find('.', at + kAttentions.size());
  if (index_end == std::string::npos) return name;
  const std::string head = name.substr(0, index_end + 1), tail = name.substr(index_end + 1);
  for (const auto& [current, deprecated] : kDeprecated) {
    if (tail.compare(0, current.size(), current) != 0) continue;
    const std::string old = head + deprecated + tail.substr(current.size());
    if (source.contains(old)) return old;
  }
  return name;
}

bool is_encoder_tensor(const std::string& name) {
  return name.starts_with("encoder.") || name.starts_with("quant_conv.");
}
bool is_decoder_tensor(const std::string& name) {
  return name.starts_with("decoder.") || name.starts_with("post_quant_conv.");
}

// NCHW model input -> NHWC activations, after checking the channel count.
Tensor to_activation(Runtime& rt, const Tensor& x, int channels, const char* what) {
  SDFAST_CHECK(
      x.ndim() == 4 && x.dim(1) == channels && x.dim(0) > 0 && x.dim(2) > 0 && x.dim(3) > 0,
      "AutoencoderKL::", what, ": expected NCHW input with ", channels, " channels, got ",
      x.describe());
  return ops::nchw_to_nhwc(x, rt.activation());
}

}  // namespace

AutoencoderKLConfig AutoencoderKLConfig::from_config(const Config& c) {
  config_check_class(c, "AutoencoderKL");
  AutoencoderKLConfig k;
  k.in_channels = config_int(c, "in_channels", 3, 1, 1024);
  k.out_channels = config_int(c, "out_channels", 3, 1, 1024);
  k.latent_channels = config_int(c, "latent_channels", 4, 1, 1024);
  k.block_out_channels = config_int_list(c, "block_out_channels", {64}, 1, kMaxChannels, 8);
  k.layers_per_block = config_int(c, "layers_per_block", 1, 1, 64);
  k.norm_num_groups = config_int(c, "norm_num_groups", 32, 1, kMaxChannels);
  for (int ch : k.block_out_channels)
    if (ch % k.norm_num_groups != 0)
      c.fail_key("norm_num_groups", str_cat(k.norm_num_groups, " groups do not divide the ", ch,
                                            " channels of a block in \"block_out_channels\""));
  check_block_types(c, "down_block_types", "DownEncoderBlock2D", k.block_out_channels.size());
  check_block_types(c, "up_block_types", "UpDecoderBlock2D", k.block_out_channels.size());
  const std::string act = c.get<std::string>("act_fn", "silu");
  if (act != "silu" && act != "swish")
    c.fail_key("act_fn", "is '" + act + "'; AutoencoderKL supports 'silu' (or its alias 'swish')");
  k.scaling_factor = float(config_positive(c, "scaling_factor", 0.18215));
  k.force_upcast = c.get<bool>("force_upcast", true);
  k.use_quant_conv = c.get<bool>("use_quant_conv", true);
  k.use_post_quant_conv = c.get<bool>("use_post_quant_conv", true);
  k.mid_block_add_attention = c.get<bool>("mid_block_add_attention", true);
  return k;
}

AutoencoderKL::AutoencoderKL(Runtime& rt, WeightSource& weights, const AutoencoderKLConfig& config,
                             AutoencoderParts parts)
    : config_(config), parts_(parts) {
  if (!parts.encoder && !parts.decoder) fail_argument("AutoencoderKL: asked to load neither half");
  RenamedWeights source(weights, stored_attention_name);
  const Weights w(source);
  const int latent = config.latent_channels;
  VaeCoderConfig coder;
  coder.block_out_channels = config.block_out_channels;
  coder.layers_per_block = config.layers_per_block;
  coder.norm_num_groups = config.norm_num_groups;
  coder.mid_block_add_attention = config.mid_block_add_attention;
  if (parts.encoder) {
    coder.in_channels = config.in_channels;
    coder.out_channels = latent;
    coder.double_z = true;
    encoder_ = Encoder(rt, w["encoder"], coder);
    if (config.use_quant_conv)
      quant_conv_ = ops::Conv2d(rt, w["quant_conv"], {2 * latent, 2 * latent, 1, 1, 0});
  }
  if (parts.decoder) {
    coder.in_channels = latent;
    coder.out_channels = config.out_channels;
    decoder_ = Decoder(rt, w["decoder"], coder);
    if (config.use_post_quant_conv)
      post_quant_conv_ = ops::Conv2d(rt, w["post_quant_conv"], {latent, latent, 1, 1, 0});
  }
  source.check_all_used(!parts.encoder   ? is_encoder_tensor
                        : !parts.decoder ? is_decoder_tensor
                                         : nullptr);
}

AutoencoderKL AutoencoderKL::from_pretrained(Runtime& rt, const std::string& dir,
                                             const std::vector<std::string>& weight_files,
                                             AutoencoderParts parts) {
  const AutoencoderKLConfig config = AutoencoderKLConfig::from_config(load_component_config(dir));
  SafetensorsWeights weights(
      component_weight_files(dir, weight_files, "diffusion_pytorch_model.safetensors"));
  return AutoencoderKL(rt, weights, config, parts);
}

DiagonalGaussianDistribution AutoencoderKL::encode(Runtime& rt, const Tensor& image) const {
  if (!parts_.encoder) fail("AutoencoderKL::encode: the model was loaded without its encoder");
  Tensor h = encoder_.forward(rt, to_activation(rt, image, config_.in_channels, "encode"));
  if (config_.use_quant_conv) h = quant_conv_.forward(rt, h);
  const Tensor moments = ops::nhwc_to_nchw(h);  // [N, 2L, h, w]
  const int64_t n = moments.dim(0), l = config_.latent_channels;
  const int64_t plane = moments.dim(2) * moments.dim(3);
  DiagonalGaussianDistribution d;
  d.mean = Tensor::empty({n, l, moments.dim(2), moments.dim(3)});
  d.logvar = Tensor::empty(d.mean.shape());
  const float* src = moments.data<float>();
  float* mean = d.mean.data<float>();
  float* logvar = d.logvar.data<float>();
  for (int64_t b = 0; b < n; ++b) {
    const float* m = src + b * 2 * l * plane;
    std::copy(m, m + l * plane, mean + b * l * plane);
    for (int64_t i = 0; i < l * plane; ++i)
      logvar[b * l * plane + i] = std::clamp(m[l * plane + i], -30.0f, 20.0f);
  }
  return d;
}

// DiagonalGaussianDistribution.sample: mean + exp(0.5 * logvar) * randn, in float32.
Tensor AutoencoderKL::encode_sample(Runtime& rt, const Tensor& image, const DrawNormal& draw) const {
  const DiagonalGaussianDistribution d = encode(rt, image);
  const Tensor eps = draw(d.mean.shape());
  SDFAST_CHECK(eps.dtype() == DType::F32 && eps.shape() == d.mean.shape(),
               "AutoencoderKL::encode_sample: drew ", eps.describe(), " for ", shape_str(d.mean.shape()));
  Tensor out = Tensor::empty(d.mean.shape());
  const float* mean = d.mean.data<float>();
  const float* logvar = d.logvar.data<float>();
  const float* e = eps.data<float>();
  float* o = out.data<float>();
  for (int64_t i = 0; i < out.numel(); ++i) {
    const float std = std::exp(0.5f * logvar[i]);
    const float scaled = std * e[i];
    o[i] = mean[i] + scaled;
  }
  return out;
}

Tensor AutoencoderKL::decode(Runtime& rt, const Tensor& latents) const {
  if (!parts_.decoder) fail("AutoencoderKL::decode: the model was loaded without its decoder");
  Tensor z = to_activation(rt, latents, config_.latent_channels, "decode");
  if (config_.use_post_quant_conv) z = post_quant_conv_.forward(rt, z);
  return ops::nhwc_to_nchw(decoder_.forward(rt, z));
}

}  // namespace sdfast::models
