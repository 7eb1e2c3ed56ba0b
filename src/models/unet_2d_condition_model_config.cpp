// Reference: diffusers/src/diffusers/models/unets/unet_2d_condition.py (UNet2DConditionModel
// __init__ defaults and _check_config), v0.26.3.
#include <cmath>

#include "core/error.h"
#include "models/unet_2d_condition_model.h"

namespace sdfast::models {

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

// Upper bounds far above any real UNet (SD 1.5: 1280 channels, 2 layers per block; SDXL: 10
// transformer layers), so that hostile configs fail here instead of overflowing or exhausting
// memory.
constexpr int kMaxChannels = 1 << 16;
constexpr int kMaxLayers = 256;
constexpr int kMaxKernel = 31;
constexpr int kMaxBlocks = 16;

int positive_int(const Config& cfg, const std::string& key, int fallback, int min = 1,
                 int max = kMaxChannels) {
  const int v = value<int>(cfg, key, fallback);
  if (v < min || v > max)
    cfg.fail_key(key, str_cat("must be between ", min, " and ", max, ", got ", v));
  return v;
}

// A key that must hold `off` (or be absent/null) because the engine does not implement the rest.
void require_off(const Config& cfg, const std::string& key, const std::string& why) {
  if (!present(cfg, key) || is_null(cfg, key)) return;
  cfg.fail_key(key, str_cat("= ", cfg.json().at(key).dump(), " is not supported (", why, ")"));
}

// int or list of ints, one per block; default `fallback` for every block when absent.
std::vector<int> per_block_ints(const Config& cfg, const std::string& key, int n, int fallback,
                                int min, int max = kMaxChannels) {
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
    if (v < min || v > max)
      cfg.fail_key(key, str_cat("values must be between ", min, " and ", max, ", got ", v));
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
  if (n == 0 || n > kMaxBlocks)
    cfg.fail_key("down_block_types", str_cat("must name 1 to ", kMaxBlocks, " blocks, got ", n));
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
    if (ch <= 0 || ch > kMaxChannels)
      cfg.fail_key("block_out_channels",
                   str_cat("entries must be between 1 and ", kMaxChannels, ", got ", ch));

  c.in_channels = positive_int(cfg, "in_channels", 4);
  c.sample_size = positive_int(cfg, "sample_size", 64);
  c.out_channels = positive_int(cfg, "out_channels", 4);
  c.center_input_sample = value<bool>(cfg, "center_input_sample", false);
  c.flip_sin_to_cos = value<bool>(cfg, "flip_sin_to_cos", true);
  c.freq_shift = finite_number(cfg, "freq_shift", 0.0);
  c.downsample_padding = positive_int(cfg, "downsample_padding", 1, 0, kMaxKernel);
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
  c.conv_in_kernel = positive_int(cfg, "conv_in_kernel", 3, 1, kMaxKernel);
  c.conv_out_kernel = positive_int(cfg, "conv_out_kernel", 3, 1, kMaxKernel);

  c.layers_per_block = per_block_ints(cfg, "layers_per_block", n, 2, 1, kMaxLayers);
  c.transformer_layers_per_block =
      per_block_ints(cfg, "transformer_layers_per_block", n, 1, 0, kMaxLayers);
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
    c.time_embed_dim = positive_int(cfg, "time_embedding_dim", 0, 1, 4 * kMaxChannels);
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

}  // namespace sdfast::models
