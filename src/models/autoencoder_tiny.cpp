// Reference: diffusers/src/diffusers/models/autoencoders/autoencoder_tiny.py (AutoencoderTiny).
#include "models/autoencoder_tiny.h"

#include <cmath>

#include "core/error.h"
#include "models/config_checks.h"
#include "ops/elementwise.h"

namespace sdfast::models {

namespace {

constexpr int kMaxChannels = 16384;

// EncoderTiny's stride-2 convolutions and DecoderTiny's stage convolutions map a stage's channel
// count to itself, so a model Diffusers can run has one channel count across the stages.
void check_uniform(const Config& c, const std::string& key, const std::vector<int>& channels) {
  for (int ch : channels)
    if (ch != channels[0])
      c.fail_key(key, str_cat("must hold one channel count (", channels[0], " then ", ch,
                              "): each stage's convolution keeps its channel count"));
}

bool is_encoder_tensor(const std::string& name) { return name.starts_with("encoder."); }
bool is_decoder_tensor(const std::string& name) { return name.starts_with("decoder."); }

Tensor to_activation(Runtime& rt, const Tensor& x, int channels, const char* what) {
  SDFAST_CHECK(
      x.ndim() == 4 && x.dim(1) == channels && x.dim(0) > 0 && x.dim(2) > 0 && x.dim(3) > 0,
      "AutoencoderTiny::", what, ": expected NCHW input with ", channels, " channels, got ",
      x.describe());
  return ops::nchw_to_nhwc(x, rt.activation());
}

}  // namespace

AutoencoderTinyConfig AutoencoderTinyConfig::from_config(const Config& c) {
  config_check_class(c, "AutoencoderTiny");
  AutoencoderTinyConfig k;
  k.in_channels = config_int(c, "in_channels", 3, 1, 1024);
  k.out_channels = config_int(c, "out_channels", 3, 1, 1024);
  k.latent_channels = config_int(c, "latent_channels", 4, 1, 1024);
  k.encoder_block_out_channels = config_int_list(c, "encoder_block_out_channels",
                                                 k.encoder_block_out_channels, 1, kMaxChannels, 8);
  k.decoder_block_out_channels = config_int_list(c, "decoder_block_out_channels",
                                                 k.decoder_block_out_channels, 1, kMaxChannels, 8);
  k.num_encoder_blocks = config_int_list(c, "num_encoder_blocks", k.num_encoder_blocks, 0, 64, 8);
  k.num_decoder_blocks = config_int_list(c, "num_decoder_blocks", k.num_decoder_blocks, 0, 64, 8);
  config_check_length(c, "encoder_block_out_channels", k.encoder_block_out_channels.size(),
                      k.num_encoder_blocks.size(), "num_encoder_blocks");
  config_check_length(c, "decoder_block_out_channels", k.decoder_block_out_channels.size(),
                      k.num_decoder_blocks.size(), "num_decoder_blocks");
  check_uniform(c, "encoder_block_out_channels", k.encoder_block_out_channels);
  check_uniform(c, "decoder_block_out_channels", k.decoder_block_out_channels);
  const std::string act = c.get<std::string>("act_fn", "relu");
  const std::optional<ActFn> act_fn = act_fn_from_name(act);
  if (!act_fn) c.fail_key("act_fn", "is '" + act + "'; supported: relu, silu, swish, gelu");
  k.act_fn = *act_fn;
  const std::string upsample = c.get<std::string>("upsample_fn", "nearest");
  if (upsample != "nearest") c.fail_key("upsample_fn", "is '" + upsample + "'; supported: nearest");
  k.upsampling_scaling_factor = config_int(c, "upsampling_scaling_factor", 2, 1, 8);
  k.latent_magnitude = config_positive(c, "latent_magnitude", 3.0);
  k.latent_shift = c.get<double>("latent_shift", 0.5);
  if (!std::isfinite(k.latent_shift)) c.fail_key("latent_shift", "must be finite");
  k.scaling_factor = float(config_positive(c, "scaling_factor", 1.0));
  k.force_upcast = c.get<bool>("force_upcast", false);
  return k;
}

AutoencoderTiny::AutoencoderTiny(Runtime& rt, WeightSource& weights,
                                 const AutoencoderTinyConfig& config, AutoencoderParts parts)
    : config_(config), parts_(parts) {
  if (!parts.encoder && !parts.decoder)
    fail_argument("AutoencoderTiny: asked to load neither half");
  const Weights w(weights);
  if (parts.encoder) {
    VaeTinyCoderConfig ec;
    ec.in_channels = config.in_channels;
    ec.out_channels = config.latent_channels;
    ec.num_blocks = config.num_encoder_blocks;
    ec.block_out_channels = config.encoder_block_out_channels;
    ec.act_fn = config.act_fn;
    encoder_ = EncoderTiny(rt, w["encoder"], ec);
  }
  if (parts.decoder) {
    VaeTinyCoderConfig dc;
    dc.in_channels = config.latent_channels;
    dc.out_channels = config.out_channels;
    dc.num_blocks = config.num_decoder_blocks;
    dc.block_out_channels = config.decoder_block_out_channels;
    dc.act_fn = config.act_fn;
    dc.upsampling_scaling_factor = config.upsampling_scaling_factor;
    decoder_ = DecoderTiny(rt, w["decoder"], dc);
  }
  weights.check_all_used(!parts.encoder   ? is_encoder_tensor
                         : !parts.decoder ? is_decoder_tensor
                                          : nullptr);
}

AutoencoderTiny AutoencoderTiny::from_pretrained(Runtime& rt, const std::string& dir,
                                                 const std::vector<std::string>& weight_files,
                                                 AutoencoderParts parts) {
  const AutoencoderTinyConfig config =
      AutoencoderTinyConfig::from_config(load_component_config(dir));
  SafetensorsWeights weights(
      component_weight_files(dir, weight_files, "diffusion_pytorch_model.safetensors"));
  return AutoencoderTiny(rt, weights, config, parts);
}

Tensor AutoencoderTiny::encode(Runtime& rt, const Tensor& image) const {
  if (!parts_.encoder) fail("AutoencoderTiny::encode: the model was loaded without its encoder");
  return ops::nhwc_to_nchw(
      encoder_.forward(rt, to_activation(rt, image, config_.in_channels, "encode")));
}

Tensor AutoencoderTiny::encode_sample(Runtime& rt, const Tensor& image, const DrawNormal&) const {
  return encode(rt, image).to(DType::F32);
}

Tensor AutoencoderTiny::decode(Runtime& rt, const Tensor& latents) const {
  if (!parts_.decoder) fail("AutoencoderTiny::decode: the model was loaded without its decoder");
  return ops::nhwc_to_nchw(
      decoder_.forward(rt, to_activation(rt, latents, config_.latent_channels, "decode")));
}

}  // namespace sdfast::models
