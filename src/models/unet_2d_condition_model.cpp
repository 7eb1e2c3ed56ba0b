// Reference: diffusers/src/diffusers/models/unets/unet_2d_condition.py (UNet2DConditionModel:
// __init__, _check_config, _set_time_proj, get_time_embed, forward), v0.26.3.
#include "models/unet_2d_condition_model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "ops/elementwise.h"

namespace sdfast::models {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---- config.json access with Diffusers' defaults ----------------------------------------------
// An absent key takes the constructor's default; a key that is present but null is passed to the
// constructor as None (which for most keys Diffusers cannot use either).

bool present(const Config& cfg, const std::string& key) { return cfg.json().contains(key); }
bool is_null(const Config& cfg, const std::string& key) {
  return present(cfg, key) && cfg.json().at(key).is_null();
}

// Key that must not be null when present.
void require_not_null(const Config& cfg, const std::string& key) {
  if (is_null(cfg, key)) cfg.fail_key(key, "must not be null");
}

template <class T>
T value(const Config& cfg, const std::string& key, T fallback) {
  require_not_null(cfg, key);
  return cfg.get<T>(key, fallback);
}

int positive_int(const Config& cfg, const std::string& key, int fallback, int min = 1) {
  const int v = value<int>(cfg, key, fallback);
  if (v < min) cfg.fail_key(key, str_cat("must be at least ", min, ", got ", v));
  return v;
}

// A key that must hold `off` (or be absent/null) because the engine does not implement the rest.
void require_off(const Config& cfg, const std::string& key, const std::string& why) {
  if (!present(cfg, key) || is_null(cfg, key)) return;
  cfg.fail_key(key, str_cat("= ", cfg.json().at(key).dump(), " is not supported (", why, ")"));
}

// int or list of ints, one per block; default `fallback` for every block when absent.
std::vector<int> per_block_ints(const Config& cfg, const std::string& key, int n, int fallback,
                                int min) {
  require_not_null(cfg, key);
  std::vector<int> out;
  if (!present(cfg, key)) {
    out.assign(size_t(n), fallback);
  } else if (cfg.json().at(key).is_array()) {
    for (const json& e : cfg.json().at(key))
      if (e.is_array())
        cfg.fail_key(key, "has nested lists (per-layer values), which are not supported");
    out = cfg.get<std::vector<int>>(key);
    if (int(out.size()) != n)
      cfg.fail_key(key,
                   str_cat("has ", out.size(), " entries but down_block_types has ", n, " blocks"));
  } else {
    out.assign(size_t(n), cfg.get<int>(key));
  }
  for (int v : out)
    if (v < min) cfg.fail_key(key, str_cat("values must be at least ", min, ", got ", v));
  return out;
}

// bool or list of bools, one per block.
std::vector<bool> per_block_bools(const Config& cfg, const std::string& key, int n, bool fallback) {
  require_not_null(cfg, key);
  if (!present(cfg, key)) return std::vector<bool>(size_t(n), fallback);
  const json& v = cfg.json().at(key);
  if (v.is_boolean()) return std::vector<bool>(size_t(n), v.get<bool>());
  if (!v.is_array()) cfg.fail_key(key, "must be true/false or a list of them, got " + v.dump());
  if (int(v.size()) != n)
    cfg.fail_key(key,
                 str_cat("has ", v.size(), " entries but down_block_types has ", n, " blocks"));
  std::vector<bool> out;
  for (const json& e : v) {
    if (!e.is_boolean()) cfg.fail_key(key, "must be a list of true/false, got " + v.dump());
    out.push_back(e.get<bool>());
  }
  return out;
}

std::vector<std::string> string_list(const Config& cfg, const std::string& key,
                                     std::vector<std::string> fallback) {
  require_not_null(cfg, key);
  return present(cfg, key) ? cfg.get<std::vector<std::string>>(key) : fallback;
}

// "" for null, else a supported activation name.
std::string optional_activation(const Config& cfg, const std::string& key) {
  if (!present(cfg, key) || is_null(cfg, key)) return "";
  const std::string act = cfg.get<std::string>(key);
  if (!is_supported_activation(act))
    cfg.fail_key(key, "= \"" + act + "\" is not supported (supported: silu, swish, gelu, relu)");
  return act;
}

double finite_number(const Config& cfg, const std::string& key, double fallback) {
  const double v = value<double>(cfg, key, fallback);
  if (!std::isfinite(v)) cfg.fail_key(key, str_cat("must be finite, got ", v));
  return v;
}

}  // namespace

UNet2DConditionModelConfig UNet2DConditionModelConfig::from_json(const Config& cfg) {
  UNet2DConditionModelConfig c;
  c.label = cfg.label();
  if (present(cfg, "_class_name") && cfg.json().at("_class_name").is_string() &&
      cfg.get<std::string>("_class_name") != "UNet2DConditionModel")
    cfg.fail_key("_class_name", "is \"" + cfg.get<std::string>("_class_name") +
                                    "\", expected \"UNet2DConditionModel\"");

  // Features outside the SD 1.x/2.x UNet.
  require_off(cfg, "class_embed_type", "class embeddings");
  require_off(cfg, "num_class_embeds", "class embeddings");
  require_off(cfg, "addition_embed_type", "additional embeddings");
  require_off(cfg, "encoder_hid_dim", "encoder_hidden_states projection");
  require_off(cfg, "encoder_hid_dim_type", "encoder_hidden_states projection");
  require_off(cfg, "reverse_transformer_layers_per_block", "asymmetric transformer depths");
  if (value<bool>(cfg, "dual_cross_attention", false))
    cfg.fail_key("dual_cross_attention", "= true is not supported");
  if (value<bool>(cfg, "class_embeddings_concat", false))
    cfg.fail_key("class_embeddings_concat", "= true is not supported (class embeddings)");
  if (const std::string t = value<std::string>(cfg, "time_embedding_type", "positional");
      t != "positional")
    cfg.fail_key("time_embedding_type", "= \"" + t + "\" is not supported (supported: positional)");
  if (const std::string s = value<std::string>(cfg, "resnet_time_scale_shift", "default");
      s != "default")
    cfg.fail_key("resnet_time_scale_shift",
                 "= \"" + s + "\" is not supported (supported: default)");
  if (const std::string a = value<std::string>(cfg, "attention_type", "default"); a != "default")
    cfg.fail_key("attention_type", "= \"" + a + "\" is not supported (supported: default)");
  if (const std::string act = value<std::string>(cfg, "act_fn", "silu");
      act != "silu" && act != "swish")
    cfg.fail_key("act_fn", "= \"" + act + "\" is not supported (supported: silu, swish)");

  // Blocks.
  c.down_block_types = string_list(
      cfg, "down_block_types",
      {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"});
  c.up_block_types =
      string_list(cfg, "up_block_types",
                  {"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"});
  for (std::string& t : c.down_block_types) {
    t = strip_unet_res_prefix(t);
    if (!is_supported_down_block(t))
      cfg.fail_key("down_block_types", str_cat("has unsupported block type \"", t,
                                               "\" (supported: ", supported_down_blocks(), ")"));
  }
  for (std::string& t : c.up_block_types) {
    t = strip_unet_res_prefix(t);
    if (!is_supported_up_block(t))
      cfg.fail_key("up_block_types", str_cat("has unsupported block type \"", t,
                                             "\" (supported: ", supported_up_blocks(), ")"));
  }
  if (!present(cfg, "mid_block_type")) {
    c.mid_block_type = "UNetMidBlock2DCrossAttn";
  } else if (!is_null(cfg, "mid_block_type")) {
    c.mid_block_type = cfg.get<std::string>("mid_block_type");
    if (!is_supported_mid_block(c.mid_block_type))
      cfg.fail_key("mid_block_type",
                   str_cat("= \"", c.mid_block_type,
                           "\" is not supported (supported: ", supported_mid_blocks(), ")"));
  }
  const int n = int(c.down_block_types.size());
  if (n == 0) cfg.fail_key("down_block_types", "must name at least one block");
  if (int(c.up_block_types.size()) != n)
    cfg.fail_key("up_block_types",
                 str_cat("has ", c.up_block_types.size(), " blocks but down_block_types has ", n));
  c.block_out_channels = present(cfg, "block_out_channels")
                             ? value<std::vector<int>>(cfg, "block_out_channels", {})
                             : std::vector<int>{320, 640, 1280, 1280};
  if (int(c.block_out_channels.size()) != n)
    cfg.fail_key("block_out_channels", str_cat("has ", c.block_out_channels.size(),
                                               " entries but down_block_types has ", n, " blocks"));
  for (int ch : c.block_out_channels)
    if (ch <= 0) cfg.fail_key("block_out_channels", str_cat("has a non-positive entry ", ch));

  c.in_channels = positive_int(cfg, "in_channels", 4);
  c.out_channels = positive_int(cfg, "out_channels", 4);
  c.center_input_sample = value<bool>(cfg, "center_input_sample", false);
  c.flip_sin_to_cos = value<bool>(cfg, "flip_sin_to_cos", true);
  c.freq_shift = finite_number(cfg, "freq_shift", 0.0);
  c.downsample_padding = positive_int(cfg, "downsample_padding", 1, 0);
  c.mid_block_scale_factor = finite_number(cfg, "mid_block_scale_factor", 1.0);
  if (c.mid_block_scale_factor == 0)
    cfg.fail_key("mid_block_scale_factor", "must not be 0 (the mid block divides by it)");
  finite_number(cfg, "resnet_out_scale_factor", 1.0);  // not used by these block types (Diffusers)
  if (is_null(cfg, "norm_num_groups"))
    cfg.fail_key("norm_num_groups", "= null is not supported (the resnets need group norms)");
  c.norm_num_groups = positive_int(cfg, "norm_num_groups", 32);
  c.norm_eps = finite_number(cfg, "norm_eps", 1e-5);
  if (c.norm_eps <= 0) cfg.fail_key("norm_eps", str_cat("must be positive, got ", c.norm_eps));
  for (int ch : c.block_out_channels)
    if (ch % c.norm_num_groups != 0)
      cfg.fail_key("norm_num_groups", str_cat("= ", c.norm_num_groups,
                                              " does not divide block_out_channels entry ", ch));
  c.use_linear_projection = value<bool>(cfg, "use_linear_projection", false);
  c.upcast_attention = value<bool>(cfg, "upcast_attention", false);
  c.conv_in_kernel = positive_int(cfg, "conv_in_kernel", 3);
  c.conv_out_kernel = positive_int(cfg, "conv_out_kernel", 3);

  c.layers_per_block = per_block_ints(cfg, "layers_per_block", n, 2, 1);
  c.transformer_layers_per_block = per_block_ints(cfg, "transformer_layers_per_block", n, 1, 0);
  c.only_cross_attention = per_block_bools(cfg, "only_cross_attention", n, false);
  {
    std::vector<int> dims = per_block_ints(cfg, "cross_attention_dim", n, 1280, 1);
    c.cross_attention_dim.assign(dims.begin(), dims.end());
  }
  // Diffusers: num_attention_heads = num_attention_heads or attention_head_dim (the config key
  // attention_head_dim historically holds the number of heads); the head size is channels / heads.
  // (Diffusers 0.26.3 itself still refuses a non-null num_attention_heads; the engine accepts it
  // with the meaning later versions give it.)
  const std::vector<int> head_dims = per_block_ints(cfg, "attention_head_dim", n, 8, 1);
  const bool heads_given =
      present(cfg, "num_attention_heads") && !is_null(cfg, "num_attention_heads");
  c.num_attention_heads =
      heads_given ? per_block_ints(cfg, "num_attention_heads", n, 8, 1) : head_dims;
  const std::string heads_key = heads_given ? "num_attention_heads" : "attention_head_dim";
  auto check_heads = [&](int block, int channels) {
    const int heads = c.num_attention_heads[size_t(block)];
    if (heads > channels)
      cfg.fail_key(heads_key, str_cat("gives ", heads, " attention heads for a block of ", channels,
                                      " channels (the head size channels/heads would be 0)"));
  };
  for (int i = 0; i < n; ++i)
    if (c.down_block_types[size_t(i)] == "CrossAttnDownBlock2D")
      check_heads(i, c.block_out_channels[size_t(i)]);
  for (int i = 0; i < n; ++i)
    if (c.up_block_types[size_t(i)] == "CrossAttnUpBlock2D")
      check_heads(n - 1 - i, c.block_out_channels[size_t(n - 1 - i)]);
  if (c.mid_block_type == "UNetMidBlock2DCrossAttn")
    check_heads(n - 1, c.block_out_channels.back());

  // Time embedding.
  if (present(cfg, "time_embedding_dim") && !is_null(cfg, "time_embedding_dim"))
    c.time_embed_dim = positive_int(cfg, "time_embedding_dim", 0);
  else
    c.time_embed_dim = 4 * c.block_out_channels[0];
  c.timestep_post_act = optional_activation(cfg, "timestep_post_act");
  c.time_embedding_act_fn = optional_activation(cfg, "time_embedding_act_fn");
  if (present(cfg, "time_cond_proj_dim") && !is_null(cfg, "time_cond_proj_dim"))
    c.time_cond_proj_dim = positive_int(cfg, "time_cond_proj_dim", 0);
  if (double(c.block_out_channels[0] / 2) == c.freq_shift)
    cfg.fail_key("freq_shift", str_cat("= ", c.freq_shift,
                                       " with block_out_channels[0] = ", c.block_out_channels[0],
                                       " divides the timestep frequencies by zero"));

  return c;
}

UNet2DConditionModelConfig UNet2DConditionModelConfig::load(const std::string& path) {
  return from_json(Config::load(path));
}

UNet2DConditionModel::~UNet2DConditionModel() = default;

UNet2DConditionModel::UNet2DConditionModel(Runtime& rt, const UNet2DConditionModelConfig& config,
                                           WeightSource& weights)
    : config_(config) {
  const UNet2DConditionModelConfig& c = config_;
  const int64_t params_before = weights.parameters_loaded();
  const Weights w(weights, rt.compute());
  const int n = c.num_blocks();
  SDFAST_CHECK(
      n > 0 && int(c.down_block_types.size()) == n && int(c.up_block_types.size()) == n &&
          int(c.layers_per_block.size()) == n && int(c.transformer_layers_per_block.size()) == n &&
          int(c.num_attention_heads.size()) == n && int(c.cross_attention_dim.size()) == n &&
          int(c.only_cross_attention.size()) == n,
      c.label, ": UNet2DConditionModel config has per-block lists of different lengths");
  const int ch0 = c.block_out_channels[0];

  conv_in_ = ops::Conv2d(rt, w["conv_in"],
                         {c.in_channels, ch0, c.conv_in_kernel, 1, (c.conv_in_kernel - 1) / 2});
  time_proj_ = Timesteps(ch0, c.flip_sin_to_cos, c.freq_shift);
  TimestepEmbeddingConfig te;
  te.in_channels = ch0;
  te.time_embed_dim = c.time_embed_dim;
  te.act_fn = "silu";
  te.post_act_fn = c.timestep_post_act;
  te.cond_proj_dim = c.time_cond_proj_dim;
  time_embedding_ = TimestepEmbedding(rt, w["time_embedding"], te);

  UNetBlockConfig base;
  base.temb_channels = c.time_embed_dim;
  base.resnet_eps = float(c.norm_eps);
  base.resnet_groups = c.norm_num_groups;
  base.downsample_padding = c.downsample_padding;
  base.use_linear_projection = c.use_linear_projection;
  base.upcast_attention = c.upcast_attention;

  int output_channel = ch0;
  for (int i = 0; i < n; ++i) {
    UNetBlockConfig b = base;
    b.in_channels = output_channel;
    output_channel = c.block_out_channels[size_t(i)];
    b.out_channels = output_channel;
    b.num_layers = c.layers_per_block[size_t(i)];
    b.transformer_layers = c.transformer_layers_per_block[size_t(i)];
    b.add_sample = i != n - 1;
    b.cross_attention_dim = c.cross_attention_dim[size_t(i)];
    b.num_attention_heads = c.num_attention_heads[size_t(i)];
    b.only_cross_attention = c.only_cross_attention[size_t(i)];
    down_blocks_.push_back(
        get_down_block(rt, w["down_blocks"][i], c.down_block_types[size_t(i)], b));
  }

  if (!c.mid_block_type.empty()) {
    UNetBlockConfig b = base;
    b.in_channels = b.out_channels = c.block_out_channels.back();
    b.num_layers = 1;
    b.transformer_layers = c.transformer_layers_per_block.back();
    b.cross_attention_dim = c.cross_attention_dim.back();
    b.num_attention_heads = c.num_attention_heads.back();
    b.output_scale_factor = float(c.mid_block_scale_factor);
    mid_block_ = get_mid_block(rt, w["mid_block"], c.mid_block_type, b);
  }

  // The up path walks the per-block lists in reverse.
  output_channel = c.block_out_channels.back();
  for (int i = 0; i < n; ++i) {
    const size_t r = size_t(n - 1 - i);  // the matching down block
    UNetBlockConfig b = base;
    b.prev_output_channel = output_channel;
    output_channel = c.block_out_channels[r];
    b.out_channels = output_channel;
    b.in_channels = c.block_out_channels[size_t(std::max(n - 2 - i, 0))];
    b.num_layers = c.layers_per_block[r] + 1;
    b.transformer_layers = c.transformer_layers_per_block[r];
    b.add_sample = i != n - 1;
    b.cross_attention_dim = c.cross_attention_dim[r];
    b.num_attention_heads = c.num_attention_heads[r];
    b.only_cross_attention = c.only_cross_attention[r];
    if (b.add_sample) ++num_upsamplers_;
    up_blocks_.push_back(get_up_block(rt, w["up_blocks"][i], c.up_block_types[size_t(i)], b));
  }

  conv_norm_out_ = ops::GroupNorm(w["conv_norm_out"], c.norm_num_groups, ch0, float(c.norm_eps));
  conv_out_ = ops::Conv2d(rt, w["conv_out"],
                          {ch0, c.out_channels, c.conv_out_kernel, 1, (c.conv_out_kernel - 1) / 2});
  num_parameters_ = weights.parameters_loaded() - params_before;
}

UNet2DConditionModel UNet2DConditionModel::from_pretrained(
    Runtime& rt, const std::string& folder, const std::vector<std::string>& weight_files) {
  const UNet2DConditionModelConfig config =
      UNet2DConditionModelConfig::load((fs::path(folder) / "config.json").string());
  std::vector<std::string> files;
  for (const std::string& f : weight_files)
    files.push_back(fs::path(f).is_absolute() ? f : (fs::path(folder) / f).string());
  if (files.empty()) {
    const fs::path file = fs::path(folder) / "diffusion_pytorch_model.safetensors";
    if (!fs::is_regular_file(file)) {
      std::string found;
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(folder, ec))
        if (e.path().filename().string().rfind("diffusion_pytorch_model", 0) == 0)
          found += (found.empty() ? "" : ", ") + e.path().filename().string();
      fail("'", folder, "' has no diffusion_pytorch_model.safetensors",
           found.empty() ? std::string() : " (found: " + found + "; name the file to load)");
    }
    files.push_back(file.string());
  }
  SafetensorsWeights source(files);
  UNet2DConditionModel model(rt, config, source);
  source.check_all_used(nullptr);
  return model;
}

UNet2DConditionModel UNet2DConditionModel::from_config_random(Runtime& rt,
                                                              const std::string& folder,
                                                              uint64_t seed) {
  RandomWeights source(seed);
  return UNet2DConditionModel(
      rt, UNet2DConditionModelConfig::load((fs::path(folder) / "config.json").string()), source);
}

Tensor UNet2DConditionModel::forward(Runtime& rt, const Tensor& sample,
                                     const std::vector<double>& timesteps,
                                     const Tensor& encoder_hidden_states,
                                     const Tensor* timestep_cond) const {
  const UNet2DConditionModelConfig& c = config_;
  SDFAST_CHECK(sample.ndim() == 4 && sample.dim(1) == c.in_channels && sample.dim(0) > 0 &&
                   sample.dim(2) > 0 && sample.dim(3) > 0,
               "UNet2DConditionModel: sample ", sample.describe(), " is not NCHW [B, ",
               c.in_channels, ", H, W]");
  SDFAST_CHECK(dtype_is_float(sample.dtype()), "UNet2DConditionModel: sample ", sample.describe(),
               " is not floating point");
  const int64_t batch = sample.dim(0), height = sample.dim(2), width = sample.dim(3);
  SDFAST_CHECK(encoder_hidden_states.ndim() == 3 && encoder_hidden_states.dim(0) == batch &&
                   encoder_hidden_states.dim(1) > 0 &&
                   dtype_is_float(encoder_hidden_states.dtype()),
               "UNet2DConditionModel: encoder_hidden_states ", encoder_hidden_states.describe(),
               " is not [", batch, ", L, D]");
  for (size_t i = 0; i < c.cross_attention_dim.size(); ++i) {
    const bool uses =
        c.down_block_types[i] == "CrossAttnDownBlock2D" ||
        c.up_block_types[c.cross_attention_dim.size() - 1 - i] == "CrossAttnUpBlock2D" ||
        (i + 1 == c.cross_attention_dim.size() && c.mid_block_type == "UNetMidBlock2DCrossAttn");
    SDFAST_CHECK(!uses || encoder_hidden_states.dim(2) == c.cross_attention_dim[i],
                 "UNet2DConditionModel: encoder_hidden_states ", encoder_hidden_states.describe(),
                 " has ", encoder_hidden_states.dim(2),
                 " features, the model's cross_attention_dim is ", c.cross_attention_dim[i]);
  }
  SDFAST_CHECK(timesteps.size() == 1 || int64_t(timesteps.size()) == batch,
               "UNet2DConditionModel: ", timesteps.size(), " timesteps for a batch of ", batch,
               " (give one, or one per sample)");
  // Sizes along the down path (a stride-2 3x3 convolution needs 3 pixels with its padding).
  for (int64_t size : {height, width}) {
    const int pad = (c.conv_in_kernel - 1) / 2;
    int64_t s = size + 2 * pad - c.conv_in_kernel + 1;
    SDFAST_CHECK(s >= 1, "UNet2DConditionModel: sample ", sample.describe(),
                 " is too small for conv_in (kernel ", c.conv_in_kernel, ")");
    for (int i = 0; i + 1 < c.num_blocks(); ++i) {
      const int64_t padded = s + 2 * c.downsample_padding + (c.downsample_padding == 0 ? 1 : 0);
      SDFAST_CHECK(padded >= 3, "UNet2DConditionModel: sample ", sample.describe(),
                   " is too small for ", c.num_blocks() - 1, " downsamplings");
      s = (padded - 3) / 2 + 1;
    }
  }

  // 0. center input, NCHW -> NHWC in the activation dtype.
  Tensor x;
  if (c.center_input_sample) {
    Tensor centered = sample.to(DType::F32).clone();
    for (float& v : centered.span<float>()) v = 2.0f * v - 1.0f;
    x = ops::nchw_to_nhwc(centered, rt.activation());
  } else {
    x = ops::nchw_to_nhwc(sample, rt.activation());
  }

  // 1. time
  std::vector<double> t = timesteps;
  if (t.size() == 1) t.assign(size_t(batch), timesteps[0]);
  Tensor emb = time_embedding_.forward(rt, time_proj_.forward(t), timestep_cond);  // [B, temb]
  if (!c.time_embedding_act_fn.empty()) emb = apply_activation(rt, emb, c.time_embedding_act_fn);
  const Tensor context = encoder_hidden_states.to(rt.activation());

  // 2. pre-process
  x = conv_in_.forward(rt, x);

  // 3. down
  std::vector<Tensor> skips{x};
  for (const auto& block : down_blocks_) x = block->forward(rt, x, emb, context, skips);

  // 4. mid
  if (mid_block_) x = mid_block_->forward(rt, x, emb, context);

  // 5. up: when the input size is not a multiple of the total downsampling, each upsampler is told
  // the size of the skip connection it meets next (Diffusers' forward_upsample_size).
  const int64_t factor = int64_t(1) << num_upsamplers_;
  const bool forward_upsample_size = height % factor != 0 || width % factor != 0;
  for (size_t i = 0; i < up_blocks_.size(); ++i) {
    const size_t take = size_t(up_blocks_[i]->num_resnets());
    SDFAST_CHECK(skips.size() >= take, "UNet2DConditionModel: up_blocks.", i, " needs ", take,
                 " skip connections, ", skips.size(), " left");
    int64_t up_h = 0, up_w = 0;
    if (i + 1 < up_blocks_.size() && forward_upsample_size && skips.size() > take) {
      const Tensor& next = skips[skips.size() - take - 1];
      up_h = next.dim(1);
      up_w = next.dim(2);
    }
    x = up_blocks_[i]->forward(rt, x, emb, context, skips, up_h, up_w);
  }

  // 6. post-process
  x = conv_norm_out_.forward(rt, x, /*silu=*/true);
  x = conv_out_.forward(rt, x);
  return ops::nhwc_to_nchw(x);
}

}  // namespace sdfast::models
