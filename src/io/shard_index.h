// The index of a sharded checkpoint (`*.safetensors.index.json`, as transformers and diffusers
// write it): {"metadata": {...}, "weight_map": {"tensor.name":
// "shard-00001-of-00002.safetensors"}}.
//
// Shard names must be plain file names next to the index (no folders, no "..", no leading dot),
// and must be safetensors files: pickle shards (.bin) are refused with an explanation.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sdfast {

struct ShardIndex {
  std::string path;                               // the index file
  std::map<std::string, std::string> weight_map;  // tensor name -> shard path (folder/shard)
  std::vector<std::string> shards;                // distinct shard paths, sorted

  // Reads and checks `index_path`; every shard must exist (symbolic links are followed).
  static ShardIndex load(const std::string& index_path);
  // Checks an already parsed index; shard paths are `folder`/name. Does not touch the disk.
  // `label` names the index in errors.
  static ShardIndex parse(const nlohmann::json& j, const std::string& folder,
                          const std::string& label);
};

}  // namespace sdfast
