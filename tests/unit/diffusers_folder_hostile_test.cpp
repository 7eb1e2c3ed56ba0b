// Hostile Diffusers folders (ENGINEERING.md section 4, items 8 and 9, and the folder-level half
// of items 1-2): each case damages a copy of the golden pipeline (made of symbolic links) and
// checks that opening it fails with a message naming the file, the component and the problem.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "hostile_test_util.h"
#include "io/diffusers_folder.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "io/weights.h"

namespace sdfast {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::throws_with;
using testing::write_file;

const std::string kSd15 = std::string(SDFAST_TEST_DATA) + "/golden/models/tiny-sd15-pipeline";

std::string link_pipeline(const TempDir& tmp) {
  const std::string dst = tmp / "pipe";
  for (const auto& entry : fs::recursive_directory_iterator(kSd15)) {
    const fs::path rel = fs::relative(entry.path(), kSd15);
    if (entry.is_directory()) {
      fs::create_directories(fs::path(dst) / rel);
    } else {
      fs::create_directories((fs::path(dst) / rel).parent_path());
      fs::create_symlink(entry.path(), fs::path(dst) / rel);
    }
  }
  return dst;
}

std::string model_index(const std::string& extra_or_replacements) {
  return R"({"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.26.3",)" +
         extra_or_replacements + "}";
}
const std::string kRest =
    R"("scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
       "tokenizer": ["transformers", "CLIPTokenizer"], "vae": ["diffusers", "AutoencoderKL"])";
const std::string kUnet = R"("unet": ["diffusers", "UNet2DConditionModel"])";

// A case: damage the linked pipeline at `p`, then the action must throw with `expect` (where
// "{p}" in an expected part stands for the pipeline folder).
struct BadFolder {
  const char* name;
  std::function<void(const std::string& p)> damage;
  std::vector<std::string> expect;
  std::function<void(const std::string& p)> action = [](const std::string& p) {
    DiffusersFolder::open(p);
  };
};

void set_index(const std::string& p, const std::string& text) {
  fs::remove(p + "/model_index.json");
  write_file(p + "/model_index.json", text);
}
void replace(const std::string& path, const std::string& text) {
  fs::remove(path);
  write_file(path, text);
}
std::string shard_index_json(const std::string& weight_map) {
  return R"({"metadata": {"total_size": 1}, "weight_map": )" + weight_map + "}";
}
// Replaces the UNet's single file by a shard index with the given weight_map text.
void unet_index(const std::string& p, const std::string& weight_map) {
  fs::remove(p + "/unet/diffusion_pytorch_model.safetensors");
  write_file(p + "/unet/diffusion_pytorch_model.safetensors.index.json",
             shard_index_json(weight_map));
}

std::vector<BadFolder> bad_folders() {
  const std::string idx = "{p}/model_index.json";
  return {
      // 8. model_index.json: classes
      {"UnknownUnetClass",
       [](auto p) {
         set_index(p, model_index(kRest + R"(, "unet": ["diffusers", "UNet3DConditionModel"])"));
       },
       {idx, "component 'unet'", "\"UNet3DConditionModel\"", "supported: UNet2DConditionModel"}},
      {"UnknownVaeClass",
       [](auto p) {
         set_index(p, model_index(kUnet + R"(, "scheduler": ["diffusers", "PNDMScheduler"],
           "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
           "vae": ["diffusers", "AutoencoderOobleck"])"));
       },
       {idx, "component 'vae'", "AutoencoderOobleck", "AutoencoderKL, AutoencoderTiny"}},
      {"UnknownSchedulerClass",
       [](auto p) {
         set_index(
             p,
             model_index(kUnet + R"(, "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
           "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
           "vae": ["diffusers", "AutoencoderKL"])"));
       },
       {idx, "component 'scheduler'", "FlowMatchEulerDiscreteScheduler", "LCMScheduler"}},
      {"UnknownTextEncoderClass",
       [](auto p) {
         set_index(p, model_index(kUnet + R"(, "scheduler": ["diffusers", "PNDMScheduler"],
           "text_encoder": ["transformers", "T5EncoderModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
           "vae": ["diffusers", "AutoencoderKL"])"));
       },
       {idx, "component 'text_encoder'", "T5EncoderModel", "CLIPTextModel"}},
      {"SdxlPipeline",
       [](auto p) {
         set_index(
             p, R"({"_class_name": "StableDiffusionXLPipeline", "text_encoder_2": ["transformers",
           "CLIPTextModelWithProjection"], "tokenizer_2": ["transformers", "CLIPTokenizer"], )" +
                    kUnet + ", " + kRest + "}");
       },
       {idx, "StableDiffusionXLPipeline", "not supported", "StableDiffusionPipeline", "SDXL"}},
      {"UpscalePipeline",
       [](auto p) {
         set_index(p, R"({"_class_name": "StableDiffusionUpscalePipeline", )" + kUnet + ", " +
                          kRest + "}");
       },
       {idx, "StableDiffusionUpscalePipeline", "not supported", "StableDiffusionInpaintPipeline"}},
      {"SecondTextEncoderInSdPipeline",
       [](auto p) {
         set_index(
             p,
             model_index(kUnet + ", " + kRest +
                         R"(, "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"])"));
       },
       {idx, "unknown component 'text_encoder_2'", "SDXL"}},
      {"MissingPipelineClass",
       [](auto p) { set_index(p, "{" + kUnet + ", " + kRest + "}"); },
       {idx, "_class_name"}},
      {"PipelineClassNotString",
       [](auto p) { set_index(p, R"({"_class_name": 7, )" + kUnet + ", " + kRest + "}"); },
       {idx, "_class_name"}},
      {"MissingScheduler",
       [](auto p) {
         set_index(p, model_index(kUnet + R"(, "text_encoder": ["transformers", "CLIPTextModel"],
           "tokenizer": ["transformers", "CLIPTokenizer"], "vae": ["diffusers", "AutoencoderKL"])"));
       },
       {idx, "no 'scheduler' component"}},
      {"NullUnet",
       [](auto p) { set_index(p, model_index(kRest + R"(, "unet": [null, null])")); },
       {idx, "no 'unet' component"}},
      {"EntryOneElement",
       [](auto p) { set_index(p, model_index(kRest + R"(, "unet": ["diffusers"])")); },
       {idx, "component 'unet' must be [library, class]"}},
      {"EntryNumbers",
       [](auto p) { set_index(p, model_index(kRest + R"(, "unet": [1, 2])")); },
       {idx, "component 'unet' must be [library, class] strings"}},
      {"EntryHalfNull",
       [](auto p) { set_index(p, model_index(kRest + R"(, "unet": ["diffusers", null])")); },
       {idx, "component 'unet' must be [library, class] strings"}},
      {"ModelIndexNotObject",
       [](auto p) { set_index(p, "[1, 2]"); },
       {idx, "expected a JSON object"}},
      {"ModelIndexBadJson",
       [](auto p) { set_index(p, "{\"_class_name\": "); },
       {idx, "invalid JSON"}},
      {"ModelIndexDuplicateKey",
       [](auto p) { set_index(p, model_index(kUnet + ", " + kRest + ", " + kUnet)); },
       {idx, "duplicate key 'unet'"}},
      {"ModelIndexNotUtf8",
       [](auto p) { set_index(p, "{\"_class_name\": \"\xff\"}"); },
       {idx, "not valid UTF-8"}},
      // 8. model_index.json: component names that could leave the folder
      {"ComponentDotDot",
       [](auto p) {
         set_index(p, model_index(kUnet + ", " + kRest +
                                  R"(, "..": ["diffusers", "UNet2DConditionModel"])"));
       },
       {idx, "component name \"..\"", "not a plain folder name"}},
      {"ComponentParentPath",
       [](auto p) {
         set_index(p, model_index(kUnet + ", " + kRest +
                                  R"(, "../../etc": ["diffusers", "AutoencoderKL"])"));
       },
       {idx, "component name \"../../etc\""}},
      {"ComponentSlash",
       [](auto p) {
         set_index(
             p, model_index(kUnet + ", " + kRest + R"(, "vae/x": ["diffusers", "AutoencoderKL"])"));
       },
       {idx, "\"vae/x\"", "not a plain folder name"}},
      {"ComponentAbsolute",
       [](auto p) {
         set_index(
             p, model_index(kUnet + ", " + kRest + R"(, "/tmp": ["diffusers", "AutoencoderKL"])"));
       },
       {idx, "\"/tmp\""}},
      {"ComponentEmptyName",
       [](auto p) {
         set_index(p,
                   model_index(kUnet + ", " + kRest + R"(, "": ["diffusers", "AutoencoderKL"])"));
       },
       {idx, "component name \"\""}},
      {"ComponentNulByte",
       [](auto p) {
         set_index(p, model_index(kUnet + ", " + kRest +
                                  R"(, "vae\u0000": ["diffusers", "AutoencoderKL"])"));
       },
       {idx, "\"vae\\u0000\""}},
      {"ComponentDot",
       [](auto p) {
         set_index(p,
                   model_index(kUnet + ", " + kRest + R"(, ".": ["diffusers", "AutoencoderKL"])"));
       },
       {idx, "component name \".\""}},
      // 9. pickle weights
      {"PickleOnlyUnet",
       [](auto p) {
         fs::remove(p + "/unet/diffusion_pytorch_model.safetensors");
         fs::remove(p + "/unet/diffusion_pytorch_model.fp16.safetensors");
         write_file(p + "/unet/diffusion_pytorch_model.bin", "\x80\x02}q\x00.");
       },
       {"{p}/unet", "only PyTorch pickle weights", "diffusion_pytorch_model.bin", "arbitrary code",
        "safetensors"}},
      {"PickleOnlyTextEncoderSharded",
       [](auto p) {
         fs::remove(p + "/text_encoder/model.safetensors");
         write_file(p + "/text_encoder/pytorch_model-00001-of-00002.bin", "x");
         write_file(p + "/text_encoder/pytorch_model.bin.index.json", "{}");
       },
       {"{p}/text_encoder", "pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json",
        "arbitrary code"}},
      {"CkptGivenDirectly",
       [](auto p) { write_file(p + "/model.ckpt", "PK\x03\x04"); },
       {"{p}/model.ckpt", "pickle checkpoint", "arbitrary code"},
       [](const std::string& p) { inspect_model_path(p + "/model.ckpt"); }},
      {"PtGivenDirectly",
       [](auto p) { write_file(p + "/model.PT", "x"); },
       {"{p}/model.PT", "pickle"},
       [](const std::string& p) { DiffusersFolder::open(p + "/model.PT"); }},
      {"PthComponentGivenDirectly",
       [](auto p) { write_file(p + "/vae.pth", "x"); },
       {"{p}/vae.pth", "pickle"},
       [](const std::string& p) { open_component_folder(p + "/vae.pth"); }},
      {"FolderOfCkptOnly",
       [](auto p) { write_file(p + "/only/sd-v1-5.ckpt", "x"); },
       {"{p}/only", "only PyTorch pickle weights", "sd-v1-5.ckpt"},
       [](const std::string& p) { DiffusersFolder::open(p + "/only"); }},
      {"ShardIndexNamesPickleShard",
       [](auto p) {
         unet_index(p, R"({"conv_in.bias": "diffusion_pytorch_model-00001-of-00001.bin"})");
       },
       {"{p}/unet/diffusion_pytorch_model.safetensors.index.json", "pickle", "conv_in.bias"}},
      // config.json and weights
      {"MissingUnetConfig",
       [](auto p) { fs::remove(p + "/unet/config.json"); },
       {"component 'unet'", "{p}/unet", "has no config.json", "model_index.json"}},
      {"MissingSchedulerConfig",
       [](auto p) { fs::remove(p + "/scheduler/scheduler_config.json"); },
       {"component 'scheduler'", "has no scheduler_config.json"}},
      {"MissingComponentFolder",
       [](auto p) { fs::remove_all(p + "/vae"); },
       {idx, "component 'vae'", "{p}/vae", "does not exist"}},
      {"UnetConfigBadJson",
       [](auto p) { replace(p + "/unet/config.json", "{\"in_channels\": 4,"); },
       {"{p}/unet/config.json", "invalid JSON"}},
      {"UnetConfigNotObject",
       [](auto p) { replace(p + "/unet/config.json", "[4]"); },
       {"{p}/unet/config.json", "expected a JSON object"}},
      {"UnetConfigTooDeep",
       [](auto p) {
         replace(p + "/unet/config.json", std::string(1000, '[') + std::string(1000, ']'));
       },
       {"{p}/unet/config.json", "nested deeper than 128"}},
      {"VaeConfigClassMismatch",
       [](auto p) { replace(p + "/vae/config.json", R"({"_class_name": "AutoencoderTiny"})"); },
       {"{p}/vae/config.json", "AutoencoderTiny", "component 'vae'", "AutoencoderKL"}},
      {"SchedulerConfigIsFifo",
       [](auto p) {
         fs::remove(p + "/scheduler/scheduler_config.json");
         ::mkfifo((p + "/scheduler/scheduler_config.json").c_str(), 0600);
       },
       {"{p}/scheduler/scheduler_config.json", "not a regular file"}},
      {"MissingUnetWeights",
       [](auto p) {
         fs::remove(p + "/unet/diffusion_pytorch_model.safetensors");
         fs::remove(p + "/unet/diffusion_pytorch_model.fp16.safetensors");
       },
       {"component 'unet'", "{p}/unet", "has no weights", "diffusion_pytorch_model.safetensors"}},
      {"OnlyVariantWeightsWithoutVariant",
       [](auto p) { fs::remove(p + "/unet/diffusion_pytorch_model.safetensors"); },
       {"component 'unet'", "has no weights", "diffusion_pytorch_model.fp16.safetensors",
        "ask for variant 'fp16'"}},
      {"MissingTokenizerVocab",
       [](auto p) { fs::remove(p + "/tokenizer/vocab.json"); },
       {"component 'tokenizer'", "{p}/tokenizer", "vocab.json"}},
      {"DanglingWeightSymlink",
       [](auto p) {
         fs::remove(p + "/vae/diffusion_pytorch_model.safetensors");
         fs::create_symlink(p + "/../blobs/missing",
                            p + "/vae/diffusion_pytorch_model.safetensors");
       },
       {"{p}/vae/diffusion_pytorch_model.safetensors", "symbolic link to a missing file"}},
      {"WeightNameIsAFolder",
       [](auto p) {
         fs::remove(p + "/vae/diffusion_pytorch_model.safetensors");
         fs::create_directories(p + "/vae/diffusion_pytorch_model.safetensors");
       },
       {"{p}/vae/diffusion_pytorch_model.safetensors", "not a regular file"}},
      {"CorruptWeightFile",
       [](auto p) {
         replace(p + "/vae/diffusion_pytorch_model.safetensors",
                 std::string("\x10\0\0\0\0\0\0\0{}", 10));
       },
       {"{p}/vae/diffusion_pytorch_model.safetensors", "header length 16 runs past the end"},
       [](const std::string& p) { DiffusersFolder::open(p).component("vae").open_weights(); }},
      {"BadVariantName",
       [](auto) {},
       {"weight variant '../fp16'"},
       [](const std::string& p) {
         FolderOptions o;
         o.variant = "../fp16";
         DiffusersFolder::open(p, o);
       }},
      // sharded weights
      {"ShardMissing",
       [](auto p) {
         unet_index(p, R"({"conv_in.bias": "diffusion_pytorch_model-00001-of-00002.safetensors"})");
       },
       {"{p}/unet/diffusion_pytorch_model.safetensors.index.json",
        "diffusion_pytorch_model-00001-of-00002.safetensors", "does not exist"}},
      {"ShardOutsideFolder",
       [](auto p) {
         unet_index(p, R"({"conv_in.bias": "../vae/diffusion_pytorch_model.safetensors"})");
       },
       {"diffusion_pytorch_model.safetensors.index.json", "'conv_in.bias'",
        "not a plain file name"}},
      {"ShardAbsolutePath",
       [](auto p) { unet_index(p, R"({"conv_in.bias": "/etc/passwd.safetensors"})"); },
       {"not a plain file name"}},
      {"ShardInSubfolder",
       [](auto p) { unet_index(p, R"({"conv_in.bias": "sub/x.safetensors"})"); },
       {"not a plain file name"}},
      {"ShardNotSafetensors",
       [](auto p) { unet_index(p, R"({"conv_in.bias": "weights.gguf"})"); },
       {"'weights.gguf'", "not a .safetensors file"}},
      {"ShardNameNotString",
       [](auto p) { unet_index(p, R"({"conv_in.bias": 1})"); },
       {"weight_map entry for tensor 'conv_in.bias'", "expected a shard file name"}},
      {"ShardMapEmpty", [](auto p) { unet_index(p, "{}"); }, {"lists no tensors"}},
      {"ShardMapNotObject",
       [](auto p) { unet_index(p, "[]"); },
       {"\"weight_map\" must be an object"}},
      {"ShardIndexNoWeightMap",
       [](auto p) {
         fs::remove(p + "/unet/diffusion_pytorch_model.safetensors");
         write_file(p + "/unet/diffusion_pytorch_model.safetensors.index.json",
                    "{\"metadata\": {}}");
       },
       {"no \"weight_map\""}},
      {"TensorInTwoShards",
       [](auto p) {
         write_safetensors(p + "/unet/a.safetensors", {{"conv_in.bias", Tensor::zeros({32})}});
         write_safetensors(p + "/unet/b.safetensors", {{"conv_in.bias", Tensor::zeros({32})}});
         unet_index(p, R"({"conv_in.bias": "a.safetensors", "x": "b.safetensors"})");
       },
       {"'conv_in.bias'", "in both", "{p}/unet/a.safetensors", "{p}/unet/b.safetensors"},
       [](const std::string& p) { DiffusersFolder::open(p).component("unet").open_weights(); }},
      {"TensorInOtherShardThanIndexed",
       [](auto p) {
         write_safetensors(p + "/unet/a.safetensors", {{"conv_in.bias", Tensor::zeros({32})}});
         write_safetensors(p + "/unet/b.safetensors", {{"conv_in.weight", Tensor::zeros({2})}});
         unet_index(p, R"({"conv_in.bias": "b.safetensors", "conv_in.weight": "a.safetensors"})");
       },
       {"lists tensor 'conv_in.bias'", "{p}/unet/b.safetensors", "but it is in",
        "{p}/unet/a.safetensors"},
       [](const std::string& p) { DiffusersFolder::open(p).component("unet").open_weights(); }},
      {"IndexedTensorMissingFromShard",
       [](auto p) {
         write_safetensors(p + "/unet/a.safetensors", {{"conv_in.bias", Tensor::zeros({32})}});
         unet_index(p, R"({"conv_in.bias": "a.safetensors", "ghost": "a.safetensors"})");
       },
       {"lists tensor 'ghost'", "which does not hold it"},
       [](const std::string& p) { DiffusersFolder::open(p).component("unet").open_weights(); }},
      {"ShardTensorNotIndexed",
       [](auto p) {
         write_safetensors(p + "/unet/a.safetensors", {{"conv_in.bias", Tensor::zeros({32})},
                                                       {"stowaway", Tensor::zeros({1})}});
         unet_index(p, R"({"conv_in.bias": "a.safetensors"})");
       },
       {"tensor 'stowaway'", "is not listed in"},
       [](const std::string& p) { DiffusersFolder::open(p).component("unet").open_weights(); }},
      // paths given by the user
      {"PathMissing",
       [](auto) {},
       {"{p}/nothing", "does not exist"},
       [](const std::string& p) { DiffusersFolder::open(p + "/nothing"); }},
      {"SingleSafetensorsFile",
       [](auto p) {
         write_safetensors(p + "/sd15.safetensors", {{"x", Tensor::zeros({1})}});
       },
       {"{p}/sd15.safetensors", "single safetensors file", "from_single_file"},
       [](const std::string& p) { DiffusersFolder::open(p + "/sd15.safetensors"); }},
      {"ModelIndexFileGiven",
       [](auto) {},
       {"{p}/model_index.json", "give the folder that contains it"},
       [](const std::string& p) { DiffusersFolder::open(p + "/model_index.json"); }},
      {"EmptyFolder",
       [](auto p) { fs::create_directories(p + "/empty"); },
       {"{p}/empty", "neither a Diffusers pipeline folder"},
       [](const std::string& p) { DiffusersFolder::open(p + "/empty"); }},
      {"ComponentFolderGivenAsPipeline",
       [](auto) {},
       {"{p}/vae", "component folder", "no model_index.json"},
       [](const std::string& p) { DiffusersFolder::open(p + "/vae"); }},
      {"PipelineGivenAsComponent",
       [](auto) {},
       {"{p}", "is a pipeline folder"},
       [](const std::string& p) { open_component_folder(p); }},
      {"UnknownComponentClassOnItsOwn",
       [](auto p) {
         write_file(p + "/controlnet/config.json", R"({"_class_name": "ControlNetModel"})");
       },
       {"{p}/controlnet/config.json", "ControlNetModel", "cannot load as a component",
        "AutoencoderTiny"},
       [](const std::string& p) { open_component_folder(p + "/controlnet"); }},
      {"ComponentWithoutClassOnItsOwn",
       [](auto p) { write_file(p + "/x/config.json", "{}"); },
       {"{p}/x/config.json", "names no class"},
       [](const std::string& p) { open_component_folder(p + "/x"); }},
  };
}

class FolderHostile : public ::testing::TestWithParam<BadFolder> {};

TEST_P(FolderHostile, RefusedWithMessageNamingFileAndProblem) {
  TempDir tmp;
  const std::string p = link_pipeline(tmp);
  const BadFolder& bad = GetParam();
  bad.damage(p);
  std::vector<std::string> parts;
  for (std::string part : bad.expect) {
    if (auto at = part.find("{p}"); at != std::string::npos) part.replace(at, 3, p);
    parts.push_back(part);
  }
  EXPECT_TRUE(throws_with([&] { bad.action(p); }, parts));
}

INSTANTIATE_TEST_SUITE_P(Cases, FolderHostile, ::testing::ValuesIn(bad_folders()),
                         [](const ::testing::TestParamInfo<BadFolder>& info) {
                           return info.param.name;
                         });

TEST(FolderHostileCount, DistinctBadInputs) { EXPECT_EQ(bad_folders().size(), 68u); }

TEST(FolderHostile, UndamagedCopyOpens) {
  // The baseline every case damages is itself fine (so each case fails for its own reason).
  TempDir tmp;
  EXPECT_NO_THROW(DiffusersFolder::open(link_pipeline(tmp)));
}

}  // namespace
}  // namespace sdfast
