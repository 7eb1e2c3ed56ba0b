// Reference: huggingface/transformers modeling_utils.py (load of `*.safetensors.index.json`) and
// diffusers models/model_loading_utils.py (_fetch_index_file / _merge_sharded_checkpoints).
#include "io/shard_index.h"

#include <filesystem>
#include <set>

#include "core/error.h"
#include "io/file_names.h"
#include "io/json.h"

namespace sdfast {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
std::string short_json(const nlohmann::json& v) {
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}
}  // namespace

ShardIndex ShardIndex::parse(const nlohmann::json& j, const std::string& folder,
                             const std::string& label) {
  if (!j.is_object()) fail(label, ": a shard index must be a JSON object, got ", j.type_name());
  auto it = j.find("weight_map");
  if (it == j.end()) fail(label, ": shard index has no \"weight_map\"");
  if (!it->is_object())
    fail(label, ": \"weight_map\" must be an object {tensor name: shard file}, got ",
         it->type_name());
  if (it->empty()) fail(label, ": \"weight_map\" lists no tensors");
  ShardIndex index;
  std::set<std::string> shards;
  for (const auto& [tensor, file] : it->items()) {
    if (!file.is_string())
      fail(label, ": weight_map entry for tensor '", printable(tensor), "' is ", short_json(file),
           ", expected a shard file name");
    const std::string& name = file.get_ref<const std::string&>();
    if (!is_plain_file_name(name))
      fail(label, ": weight_map entry for tensor '", printable(tensor), "' names shard '",
           printable(name),
           "', which is not a plain file name in the index's folder (folders, '..' and absolute "
           "paths are refused)");
    if (is_pickle_file_name(name))
      fail(label, ": shard '", name, "' (tensor '", printable(tensor),
           "') is a PyTorch pickle file. ", kPickleRefusal);
    if (!ends_with(name, ".safetensors"))
      fail(label, ": shard '", name, "' (tensor '", printable(tensor),
           "') is not a .safetensors file");
    const std::string path = folder.empty() ? name : folder + "/" + name;
    index.weight_map[tensor] = path;
    shards.insert(path);
  }
  index.shards.assign(shards.begin(), shards.end());
  return index;
}

ShardIndex ShardIndex::load(const std::string& index_path) {
  const std::string folder = std::filesystem::path(index_path).parent_path().string();
  ShardIndex index = parse(read_json_file(index_path), folder, "'" + index_path + "'");
  index.path = index_path;
  for (const std::string& shard : index.shards) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(shard, ec)) {
      const bool dangling = std::filesystem::is_symlink(std::filesystem::symlink_status(shard, ec));
      fail("'", index_path, "' lists shard '", std::filesystem::path(shard).filename().string(),
           "', but '", shard, "' ",
           dangling ? "is a symbolic link to a missing file" : "does not exist",
           " (incomplete download?)");
    }
  }
  return index;
}

}  // namespace sdfast
