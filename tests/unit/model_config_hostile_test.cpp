// Absurd or inconsistent config files, through the whole loading path: each case copies a tiny
// golden pipeline (symbolic links), sets one key of one component's config to a bad value (zero or
// negative sizes, lists of different lengths, group counts that do not divide channels, huge
// values, wrong JSON types, NaN/Infinity, unknown block and activation types), and checks that
// Pipeline::from_pretrained refuses it with a message naming the file and the key. Huge values
// must be refused by the config checks or by the first tensor that does not fit, before anything
// large is allocated (a case that tried would exhaust memory instead of passing).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "hostile_test_util.h"
#include "io/json.h"
#include "sdfast/pipeline.h"

namespace sdfast {
namespace {

using testing::TempDir;
using testing::throws_with;

const std::string kModels = std::string(SDFAST_TEST_DATA) + "/golden/models/";
const char* kSd15 = "tiny-sd15-pipeline";
const char* kTaesd = "tiny-bk-small-taesd-pipeline";

struct BadConfig {
  const char* name;
  const char* pipeline;  // folder under tests/golden/models
  const char* file;      // the config file, relative to the pipeline folder
  std::string key;       // the key whose value is replaced
  std::string value;     // its new value as JSON text (Python's NaN/Infinity allowed)
  // Message parts besides the config file's path; empty: the key, quoted as errors quote it.
  // "{weights}" stands for the component's weights file, which is then named instead of the
  // config (for values the checks allow that the weights do not fit).
  std::vector<std::string> expect = {};
};

void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.name; }

const char* kUnet = "unet/config.json";
const char* kVae = "vae/config.json";
const char* kText = "text_encoder/config.json";
const char* kSched = "scheduler/scheduler_config.json";
const char* kTok = "tokenizer/tokenizer_config.json";
const char* kSpecial = "tokenizer/special_tokens_map.json";

// The weights file of the component a config file belongs to.
std::string weights_of(const std::string& config_file) {
  if (config_file == kText) return "text_encoder/model.safetensors";
  return config_file.substr(0, config_file.find('/')) + "/diffusion_pytorch_model.safetensors";
}

std::vector<BadConfig> bad_configs() {
  return {
      // ---- UNet2DConditionModel
      // zero or negative sizes
      {"UnetZeroChannels", kSd15, kUnet, "block_out_channels", "[32, 0, 64, 64]"},
      {"UnetNegativeChannels", kSd15, kUnet, "block_out_channels", "[-32, 64, 64, 64]"},
      {"UnetZeroInChannels", kSd15, kUnet, "in_channels", "0"},
      {"UnetNegativeOutChannels", kSd15, kUnet, "out_channels", "-4"},
      {"UnetZeroCrossAttentionDim", kSd15, kUnet, "cross_attention_dim", "0"},
      {"UnetZeroHeads", kSd15, kUnet, "attention_head_dim", "0"},
      {"UnetNegativeGroups", kSd15, kUnet, "norm_num_groups", "-32"},
      {"UnetZeroLayers", kSd15, kUnet, "layers_per_block", "0"},
      {"UnetZeroSampleSize", kSd15, kUnet, "sample_size", "0"},
      {"UnetZeroNormEps", kSd15, kUnet, "norm_eps", "0"},
      // lists of different lengths
      {"UnetChannelsListShort", kSd15, kUnet, "block_out_channels", "[32, 64, 64]"},
      {"UnetUpBlocksListShort", kSd15, kUnet, "up_block_types",
       R"(["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"])"},
      {"UnetLayersListShort", kSd15, kUnet, "layers_per_block", "[2, 2, 2]"},
      {"UnetHeadsListShort", kSd15, kUnet, "attention_head_dim", "[8, 8]"},
      {"UnetCrossAttnDimListLong", kSd15, kUnet, "cross_attention_dim", "[32, 32, 32, 32, 32]"},
      {"UnetOnlyCrossListShort", kSd15, kUnet, "only_cross_attention", "[false]"},
      {"UnetTransformerLayersListShort", kSd15, kUnet, "transformer_layers_per_block", "[1, 1]"},
      {"UnetNoBlocks", kSd15, kUnet, "down_block_types", "[]"},
      // group counts that do not divide the channels
      {"UnetGroupsDoNotDivide", kSd15, kUnet, "norm_num_groups", "24"},
      {"UnetGroupsAboveChannels", kSd15, kUnet, "norm_num_groups", "64"},
      {"UnetMoreHeadsThanChannels", kSd15, kUnet, "attention_head_dim", "64"},
      // huge values
      {"UnetHugeChannels", kSd15, kUnet, "block_out_channels", "[32, 64, 64, 1073741824]"},
      {"UnetChannelsBeyondInt", kSd15, kUnet, "block_out_channels",
       "[32, 64, 64, 9223372036854775807]"},
      {"UnetChannelsBeyondInt64", kSd15, kUnet, "block_out_channels", "[32, 64, 64, 1e300]"},
      {"UnetHugeLayers", kSd15, kUnet, "layers_per_block", "1000000"},
      {"UnetHugeTransformerLayers", kSd15, kUnet, "transformer_layers_per_block", "100000"},
      {"UnetHugeSampleSize", kSd15, kUnet, "sample_size", "1073741824"},
      {"UnetHugeCrossAttentionDim", kSd15, kUnet, "cross_attention_dim", "1073741824"},
      {"UnetHugeTimeEmbedding", kSd15, kUnet, "time_embedding_dim", "1073741824"},
      {"UnetHugeKernel", kSd15, kUnet, "conv_in_kernel", "4097"},
      {"UnetHugeInChannels", kSd15, kUnet, "in_channels", "1000000000000000"},
      // Largest values the checks allow: the first tensor does not fit, nothing large is made.
      {"UnetLargestChannelsAllowed",
       kSd15,
       kUnet,
       "block_out_channels",
       "[65536, 65536, 65536, 65536]",
       {"conv_in.weight", "[32, 4, 3, 3]", "expected [65536, 4, 3, 3]", "{weights}"}},
      {"UnetLargestLayersAllowed",
       kSd15,
       kUnet,
       "layers_per_block",
       "256",
       {"missing tensor", "down_blocks.0.resnets.2.", "{weights}"}},
      // wrong JSON types
      {"UnetLayersString", kSd15, kUnet, "layers_per_block", "\"2\""},
      {"UnetChannelsString", kSd15, kUnet, "block_out_channels", "\"32,64,64,64\""},
      {"UnetChannelsObject", kSd15, kUnet, "block_out_channels", R"({"0": 32})"},
      {"UnetChannelsFloat", kSd15, kUnet, "block_out_channels", "[32, 64.5, 64, 64]"},
      {"UnetInChannelsBool", kSd15, kUnet, "in_channels", "true"},
      {"UnetInChannelsNull", kSd15, kUnet, "in_channels", "null"},
      {"UnetLinearProjectionString", kSd15, kUnet, "use_linear_projection", "\"true\""},
      {"UnetBlockTypesString", kSd15, kUnet, "down_block_types", "\"CrossAttnDownBlock2D\""},
      {"UnetBlockTypesNumbers", kSd15, kUnet, "down_block_types", "[1, 2, 3, 4]"},
      {"UnetNormEpsString", kSd15, kUnet, "norm_eps", "\"1e-5\""},
      {"UnetActFnNumber", kSd15, kUnet, "act_fn", "3"},
      {"UnetNestedTransformerLayers", kSd15, kUnet, "transformer_layers_per_block",
       "[[1], [1], [1], [1]]"},
      // NaN / Infinity
      {"UnetNormEpsNaN", kSd15, kUnet, "norm_eps", "NaN"},
      {"UnetNormEpsInfinity", kSd15, kUnet, "norm_eps", "Infinity"},
      {"UnetFreqShiftNaN", kSd15, kUnet, "freq_shift", "NaN"},
      {"UnetFreqShiftMinusInfinity", kSd15, kUnet, "freq_shift", "-Infinity"},
      {"UnetMidScaleInfinity", kSd15, kUnet, "mid_block_scale_factor", "Infinity"},
      {"UnetInChannelsNaN", kSd15, kUnet, "in_channels", "NaN"},
      {"UnetLayersInfinity", kSd15, kUnet, "layers_per_block", "Infinity"},
      {"UnetChannelsNaN", kSd15, kUnet, "block_out_channels", "[32, NaN, 64, 64]"},
      // unknown block and activation types
      {"UnetUnknownDownBlock", kSd15, kUnet, "down_block_types",
       R"(["AttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"])"},
      {"UnetUnknownUpBlock", kSd15, kUnet, "up_block_types",
       R"(["UpBlock2D", "SimpleCrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"])"},
      {"UnetUnknownMidBlock", kSd15, kUnet, "mid_block_type", "\"UNetMidBlock2DSimpleCrossAttn\""},
      {"UnetUnknownActFn", kSd15, kUnet, "act_fn", "\"mish\""},
      {"UnetUnknownTimePostAct", kSd15, kUnet, "timestep_post_act", "\"swishy\""},
      {"UnetUnknownTimeEmbedding", kSd15, kUnet, "time_embedding_type", "\"fourier\""},
      {"UnetUnknownScaleShift", kSd15, kUnet, "resnet_time_scale_shift", "\"scale_shift\""},
      {"UnetUnknownAttentionType", kSd15, kUnet, "attention_type", "\"gated\""},
      {"UnetClassMismatch",
       kSd15,
       kUnet,
       "_class_name",
       "\"UNet3DConditionModel\"",
       {"UNet3DConditionModel", "UNet2DConditionModel"}},
      {"BkUnetBlockTypesMismatch", kTaesd, kUnet, "up_block_types",
       R"(["UpBlock2D", "UpBlock2D", "CrossAttnUpBlock2D"])"},

      // ---- AutoencoderKL
      {"VaeKlZeroChannels", kSd15, kVae, "block_out_channels", "[32, 0, 64, 64]"},
      {"VaeKlNegativeLatents", kSd15, kVae, "latent_channels", "-4"},
      {"VaeKlZeroInChannels", kSd15, kVae, "in_channels", "0"},
      {"VaeKlZeroOutChannels", kSd15, kVae, "out_channels", "0"},
      {"VaeKlZeroLayers", kSd15, kVae, "layers_per_block", "0"},
      {"VaeKlZeroGroups", kSd15, kVae, "norm_num_groups", "0"},
      {"VaeKlChannelsListShort",
       kSd15,
       kVae,
       "block_out_channels",
       "[32, 32, 64]",
       {"\"down_block_types\""}},
      {"VaeKlDownBlocksListShort", kSd15, kVae, "down_block_types",
       R"(["DownEncoderBlock2D", "DownEncoderBlock2D"])"},
      {"VaeKlUpBlocksListLong", kSd15, kVae, "up_block_types",
       R"(["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D",
           "UpDecoderBlock2D"])"},
      {"VaeKlNoBlocks", kSd15, kVae, "block_out_channels", "[]"},
      {"VaeKlGroupsDoNotDivide", kSd15, kVae, "norm_num_groups", "24"},
      {"VaeKlHugeChannels", kSd15, kVae, "block_out_channels", "[32, 32, 64, 1073741824]"},
      {"VaeKlHugeLayers", kSd15, kVae, "layers_per_block", "1000000"},
      {"VaeKlHugeLatents", kSd15, kVae, "latent_channels", "1073741824"},
      {"VaeKlLargestChannelsAllowed",
       kSd15,
       kVae,
       "block_out_channels",
       "[16384, 16384, 16384, 16384]",
       {"decoder.conv_in.weight", "expected [16384, 4, 3, 3]", "{weights}"}},
      {"VaeKlScalingString", kSd15, kVae, "scaling_factor", "\"0.18215\""},
      {"VaeKlChannelsString", kSd15, kVae, "block_out_channels", "\"32\""},
      {"VaeKlForceUpcastString", kSd15, kVae, "force_upcast", "\"yes\""},
      {"VaeKlLayersFloat", kSd15, kVae, "layers_per_block", "1.5"},
      {"VaeKlScalingZero", kSd15, kVae, "scaling_factor", "0"},
      {"VaeKlScalingNaN", kSd15, kVae, "scaling_factor", "NaN"},
      {"VaeKlScalingInfinity", kSd15, kVae, "scaling_factor", "Infinity"},
      {"VaeKlScalingMinusInfinity", kSd15, kVae, "scaling_factor", "-Infinity"},
      {"VaeKlLatentsNaN", kSd15, kVae, "latent_channels", "NaN"},
      {"VaeKlUnknownDownBlock", kSd15, kVae, "down_block_types",
       R"(["DownBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"])"},
      {"VaeKlUnknownUpBlock", kSd15, kVae, "up_block_types",
       R"(["UpDecoderBlock2D", "UpDecoderBlock2D", "AttnUpDecoderBlock2D", "UpDecoderBlock2D"])"},
      {"VaeKlUnknownActFn", kSd15, kVae, "act_fn", "\"gelu\""},

      // ---- AutoencoderTiny
      {"VaeTinyZeroChannels", kTaesd, kVae, "decoder_block_out_channels", "[0, 0, 0, 0]"},
      {"VaeTinyNegativeChannels", kTaesd, kVae, "decoder_block_out_channels",
       "[-64, -64, -64, -64]"},
      {"VaeTinyNegativeBlocks", kTaesd, kVae, "num_decoder_blocks", "[3, -1, 3, 1]"},
      {"VaeTinyZeroLatents", kTaesd, kVae, "latent_channels", "0"},
      {"VaeTinyZeroUpsampling", kTaesd, kVae, "upsampling_scaling_factor", "0"},
      {"VaeTinyEncoderListsDiffer", kTaesd, kVae, "encoder_block_out_channels", "[64, 64, 64]"},
      {"VaeTinyDecoderListsDiffer",
       kTaesd,
       kVae,
       "num_decoder_blocks",
       "[3, 3, 3]",
       {"\"decoder_block_out_channels\""}},
      {"VaeTinyChannelsNotUniform", kTaesd, kVae, "decoder_block_out_channels", "[64, 64, 32, 64]"},
      {"VaeTinyHugeChannels", kTaesd, kVae, "decoder_block_out_channels",
       "[1073741824, 1073741824, 1073741824, 1073741824]"},
      {"VaeTinyHugeBlocks", kTaesd, kVae, "num_decoder_blocks", "[1000, 3, 3, 1]"},
      {"VaeTinyHugeUpsampling", kTaesd, kVae, "upsampling_scaling_factor", "100"},
      {"VaeTinyLargestChannelsAllowed",
       kTaesd,
       kVae,
       "decoder_block_out_channels",
       "[16384, 16384, 16384, 16384]",
       {"decoder.layers.0.weight", "expected [16384, 4, 3, 3]", "{weights}"}},
      {"VaeTinyBlocksString", kTaesd, kVae, "num_decoder_blocks", "\"3,3,3,1\""},
      {"VaeTinyForceUpcastNumber", kTaesd, kVae, "force_upcast", "1"},
      {"VaeTinyScalingString", kTaesd, kVae, "scaling_factor", "\"1\""},
      {"VaeTinyMagnitudeZero", kTaesd, kVae, "latent_magnitude", "0"},
      {"VaeTinyMagnitudeNaN", kTaesd, kVae, "latent_magnitude", "NaN"},
      {"VaeTinyMagnitudeInfinity", kTaesd, kVae, "latent_magnitude", "Infinity"},
      {"VaeTinyShiftNaN", kTaesd, kVae, "latent_shift", "NaN"},
      {"VaeTinyShiftInfinity", kTaesd, kVae, "latent_shift", "-Infinity"},
      {"VaeTinyScalingNaN", kTaesd, kVae, "scaling_factor", "NaN"},
      {"VaeTinyUnknownActFn", kTaesd, kVae, "act_fn", "\"mish\""},
      {"VaeTinyUnknownUpsample", kTaesd, kVae, "upsample_fn", "\"bilinear\""},

      // ---- CLIPTextModel
      {"TextZeroHidden", kSd15, kText, "hidden_size", "0"},
      {"TextNegativeHidden", kSd15, kText, "hidden_size", "-32"},
      {"TextZeroHeads", kSd15, kText, "num_attention_heads", "0"},
      {"TextHeadsDoNotDivide", kSd15, kText, "num_attention_heads", "5"},
      {"TextZeroLayers", kSd15, kText, "num_hidden_layers", "0"},
      {"TextNegativeMlp", kSd15, kText, "intermediate_size", "-1"},
      {"TextZeroVocab", kSd15, kText, "vocab_size", "0"},
      {"TextZeroPositions", kSd15, kText, "max_position_embeddings", "0"},
      {"TextHugeVocab", kSd15, kText, "vocab_size", "1073741824"},
      {"TextHugeHidden", kSd15, kText, "hidden_size", "1048576"},
      {"TextHugeLayers", kSd15, kText, "num_hidden_layers", "100000"},
      {"TextHugePositions", kSd15, kText, "max_position_embeddings", "1073741824"},
      {"TextLargestVocabAllowed",
       kSd15,
       kText,
       "vocab_size",
       "4194304",
       {"text_model.embeddings.token_embedding.weight", "expected [4194304, 32]", "{weights}"}},
      {"TextHiddenString", kSd15, kText, "hidden_size", "\"32\""},
      {"TextEpsString", kSd15, kText, "layer_norm_eps", "\"1e-5\""},
      {"TextActNumber", kSd15, kText, "hidden_act", "3"},
      {"TextEosString", kSd15, kText, "eos_token_id", "\"2\""},
      {"TextEpsNaN", kSd15, kText, "layer_norm_eps", "NaN"},
      {"TextEpsInfinity", kSd15, kText, "layer_norm_eps", "Infinity"},
      {"TextLayersNaN", kSd15, kText, "num_hidden_layers", "NaN"},
      {"TextUnknownAct", kSd15, kText, "hidden_act", "\"gelu_new\""},
      {"TextUnknownModelType", kSd15, kText, "model_type", "\"t5\""},

      // ---- the scheduler (PNDMScheduler)
      {"SchedZeroTrainSteps", kSd15, kSched, "num_train_timesteps", "0"},
      {"SchedNegativeTrainSteps", kSd15, kSched, "num_train_timesteps", "-1"},
      {"SchedHugeTrainSteps", kSd15, kSched, "num_train_timesteps", "1000000000"},
      {"SchedNegativeBetaStart", kSd15, kSched, "beta_start", "-0.1"},
      {"SchedBetaEndAboveOne", kSd15, kSched, "beta_end", "1.5"},
      {"SchedBetaStartNaN", kSd15, kSched, "beta_start", "NaN"},
      {"SchedBetaEndInfinity", kSd15, kSched, "beta_end", "Infinity"},
      {"SchedBetaStartString", kSd15, kSched, "beta_start", "\"0.00085\""},
      {"SchedTrainStepsString", kSd15, kSched, "num_train_timesteps", "\"1000\""},
      {"SchedTrainStepsFloat", kSd15, kSched, "num_train_timesteps", "1000.5"},
      {"SchedStepsOffsetNegative", kSd15, kSched, "steps_offset", "-1"},
      {"SchedStepsOffsetHuge", kSd15, kSched, "steps_offset", "1000000000000"},
      {"SchedTrainedBetasShort", kSd15, kSched, "trained_betas", "[0.1, 0.2]"},
      {"SchedTrainedBetasString", kSd15, kSched, "trained_betas", "\"0.1\""},
      {"SchedSkipPrkNumber", kSd15, kSched, "skip_prk_steps", "1"},
      {"SchedUnknownBetaSchedule", kSd15, kSched, "beta_schedule", "\"cosine\""},
      {"SchedUnknownPrediction", kSd15, kSched, "prediction_type", "\"x0\""},
      {"SchedUnknownSpacing", kSd15, kSched, "timestep_spacing", "\"uniform\""},

      // ---- the tokenizer's config (against the text encoder it feeds)
      {"TokMaxLengthOne", kSd15, kTok, "model_max_length", "1", {"model_max_length", "found 1"}},
      {"TokMaxLengthString", kSd15, kTok, "model_max_length", "\"77\"", {"model_max_length"}},
      {"TokMaxLengthNaN", kSd15, kTok, "model_max_length", "NaN", {"model_max_length", "NaN"}},
      {"TokMaxLengthAbovePositions",
       kSd15,
       kTok,
       "model_max_length",
       "100",
       {"model_max_length", "100", "max_position_embeddings", "77"}},
      {"TokPadTokenNotInVocab",
       kSd15,
       kSpecial,
       "pad_token",
       "\"<|pad|>\"",
       {"pad_token", "<|pad|>"}},
      {"TokEosTokenNumber", kSd15, kSpecial, "eos_token", "7", {"eos_token"}},
      {"TokUnkTokenObjectWithoutContent",
       kSd15,
       kSpecial,
       "unk_token",
       R"({"lstrip": false})",
       {"unk_token"}},
  };
}

// Sets `key` of the JSON file at `path` to the JSON text `value` (written as text, so that
// Python's NaN / Infinity tokens can be used).
void set_key(const std::string& path, const std::string& key, const std::string& value) {
  nlohmann::json j = read_json_file(path);
  const std::string marker = "@@sdfast-test-value@@";
  j[key] = marker;
  std::string text = j.dump(2);
  const std::string quoted = "\"" + marker + "\"";
  text.replace(text.find(quoted), quoted.size(), value);
  testing::write_file(path, text);
}

class ConfigHostile : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ConfigHostile, FromPretrainedNamesFileAndKey) {
  const BadConfig& bad = GetParam();
  TempDir tmp;
  const std::string p = tmp / "pipe";
  testing::link_tree(kModels + bad.pipeline, p);
  const std::string file = p + "/" + bad.file;
  set_key(file, bad.key, bad.value);
  std::vector<std::string> parts = bad.expect;
  if (parts.empty()) parts.push_back("\"" + bad.key + "\"");
  bool names_weights = false;
  for (std::string& part : parts)
    if (part == "{weights}") {
      part = p + "/" + weights_of(bad.file);
      names_weights = true;
    }
  if (!names_weights) parts.push_back(file);
  EXPECT_TRUE(throws_with([&] { Pipeline::from_pretrained(p); }, parts));
}

INSTANTIATE_TEST_SUITE_P(Cases, ConfigHostile, ::testing::ValuesIn(bad_configs()),
                         [](const ::testing::TestParamInfo<BadConfig>& info) {
                           return info.param.name;
                         });

TEST(ConfigHostileCount, DistinctBadInputs) {
  const std::vector<BadConfig> cases = bad_configs();
  EXPECT_EQ(cases.size(), 160u);
  size_t unet = 0, vae = 0, text = 0, sched = 0, tok = 0;
  for (const BadConfig& c : cases) {
    const std::string f = c.file;
    unet += f == kUnet;
    vae += f == kVae;
    text += f == kText;
    sched += f == kSched;
    tok += f == kTok || f == kSpecial;
  }
  std::printf("bad configs: unet %zu, vae %zu, text_encoder %zu, scheduler %zu, tokenizer %zu\n",
              unet, vae, text, sched, tok);
}

// Malformed tokenizer files in a pipeline folder (ENGINEERING.md section 4, item 10; the parsers'
// own cases are in tokenizer_test.cpp): the error names the file and the line.
TEST(TokenizerFilesHostile, FromPretrainedNamesFileAndLine) {
  struct Bad {
    const char* file;
    std::string text;
    std::vector<std::string> expect;
  };
  const std::string merges_head = "#version: 0.2\ni n\nt h\n";
  const std::vector<Bad> cases = {
      {"vocab.json", "[1, 2]", {"line 1", "JSON object"}},
      {"vocab.json", "{\"a\": 1,\n\"b\": 1.5}", {"line 2", "non-negative integer"}},
      {"vocab.json", "{\"a\": 1,\n\"b\": 1}", {"id 1", "already used"}},
      {"vocab.json", "{\"a\": 0}", {"byte-level symbol"}},
      {"vocab.json", "", {"line 1"}},
      {"merges.txt", "", {"empty"}},
      {"merges.txt", "i n\n", {"line 1", "#version"}},
      {"merges.txt", merges_head + "a b c\n", {"line 4", "two symbols", "found 3"}},
      {"merges.txt", merges_head + "q \xff\n", {"line 4", "UTF-8"}},
      {"merges.txt", merges_head + "zz qq\n", {"line 4", "\"zzqq\" is not in"}},
  };
  for (const Bad& bad : cases) {
    TempDir tmp;
    const std::string p = tmp / "pipe";
    testing::link_tree(kModels + kSd15, p);
    const std::string file = p + "/tokenizer/" + bad.file;
    testing::write_file(file, bad.text);
    std::vector<std::string> parts = bad.expect;
    parts.push_back(file);
    EXPECT_TRUE(throws_with([&] { Pipeline::from_pretrained(p); }, parts)) << bad.text;
  }
}

}  // namespace
}  // namespace sdfast
