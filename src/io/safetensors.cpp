// Reference: huggingface/safetensors safetensors/src/tensor.rs (Metadata::validate, read_metadata).
#include "io/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/utf8.h"

namespace sdfast {

using nlohmann::json;

namespace {

// Parses JSON, rejecting duplicate keys at any depth (nlohmann would keep the last silently).
json parse_json_no_duplicates(std::string_view text, const std::string& label) {
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  auto cb = [&](int, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start: keys.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string()) {
          const auto& k = parsed.get_ref<const std::string&>();
          if (!keys.back().insert(k).second && duplicate.empty()) duplicate = k;
        }
        break;
      default: break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), cb);
  } catch (const json::exception& e) {
    fail(label, ": header is not valid JSON (", e.what(), ")");
  }
  if (!duplicate.empty()) fail(label, ": header has duplicate key '", duplicate, "'");
  return j;
}

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

void SafetensorsFile::validate_bytes(const uint8_t* data, size_t size, const std::string& label,
                                     std::vector<TensorInfo>* out_tensors,
                                     std::map<std::string, std::string>* out_metadata) {
  if (size < 8)
    fail(label, ": file is ", size, " bytes, too short for a safetensors header (needs at least 8)");
  const uint64_t n = read_u64_le(data);
  if (n > kMaxHeaderBytes)
    fail(label, ": header length ", n, " exceeds the limit of ", kMaxHeaderBytes, " bytes");
  if (n > size - 8)
    fail(label, ": header length ", n, " runs past the end of the file (", size, " bytes)");
  if (n < 2) fail(label, ": header of ", n, " bytes cannot hold a JSON object");
  std::string_view text(reinterpret_cast<const char*>(data + 8), size_t(n));
  size_t bad = 0;
  if (!is_valid_utf8(text, &bad)) fail(label, ": header is not valid UTF-8 (byte ", 8 + bad, ")");
  const json header = parse_json_no_duplicates(text, label);
  if (!header.is_object()) fail(label, ": header is JSON but not an object");

  const uint64_t data_size = size - 8 - n;
  std::vector<TensorInfo> tensors;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(label, ": __metadata__ must be an object of strings");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string())
          fail(label, ": __metadata__ value for '", k, "' is ", v.type_name(), ", expected a string");
        if (out_metadata) (*out_metadata)[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = label + ": tensor '" + name + "'";
    if (!entry.is_object()) fail(where, ": entry is ", entry.type_name(), ", expected an object");
    for (const char* field : {"dtype", "shape", "data_offsets"})
      if (!entry.contains(field)) fail(where, ": missing field '", field, "'");
    TensorInfo t;
    t.name = name;
    const json& jd = entry["dtype"];
    if (!jd.is_string()) fail(where, ": dtype is ", jd.type_name(), ", expected a string");
    const auto dt = dtype_from_name(jd.get<std::string>());
    if (!dt)
      fail(where, ": unsupported dtype '", jd.get<std::string>(),
           "' (sdfast reads F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
    t.dtype = *dt;
    const json& js = entry["shape"];
    if (!js.is_array()) fail(where, ": shape is ", js.type_name(), ", expected an array");
    if (js.size() > 8) fail(where, ": shape has ", js.size(), " dimensions (at most 8 supported)");
    uint64_t numel = 1;
    for (const json& d : js) {
      if (!d.is_number_unsigned())
        fail(where, ": shape ", js.dump(), " has a dimension that is not a non-negative integer");
      const uint64_t v = d.get<uint64_t>();
      if (v > uint64_t(std::numeric_limits<int64_t>::max()) ||
          (v != 0 && numel > std::numeric_limits<uint64_t>::max() / v))
        fail(where, ": shape ", js.dump(), " overflows the element count");
      numel *= v;
      t.shape.push_back(int64_t(v));
    }
    const uint64_t esize = dtype_size(t.dtype);
    if (numel > std::numeric_limits<uint64_t>::max() / esize ||
        numel > uint64_t(std::numeric_limits<int64_t>::max()))
      fail(where, ": shape ", js.dump(), " x ", esize, " bytes overflows the byte count");
    const json& jo = entry["data_offsets"];
    if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() || !jo[1].is_number_unsigned())
      fail(where, ": data_offsets ", jo.dump(), " must be two non-negative integers [begin, end]");
    t.begin = jo[0].get<uint64_t>();
    t.end = jo[1].get<uint64_t>();
    if (t.end < t.begin) fail(where, ": data_offsets [", t.begin, ", ", t.end, "] end before begin");
    if (t.end - t.begin != numel * esize)
      fail(where, ": data_offsets [", t.begin, ", ", t.end, "] hold ", t.end - t.begin,
           " bytes but shape ", js.dump(), " of ", jd.get<std::string>(), " needs ", numel * esize);
    if (t.end > data_size)
      fail(where, ": data_offsets [", t.begin, ", ", t.end, "] run past the end of the data section (",
           data_size, " bytes)");
    tensors.push_back(std::move(t));
  }
  std::sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expect = 0;
  for (const TensorInfo& t : tensors) {
    if (t.begin < expect)
      fail(label, ": tensor '", t.name, "' data_offsets [", t.begin, ", ", t.end,
           "] overlap the previous tensor (which ends at ", expect, ")");
    if (t.begin > expect)
      fail(label, ": gap in the data section before tensor '", t.name, "' (bytes ", expect, " to ",
           t.begin, " belong to no tensor)");
    expect = t.end;
  }
  if (expect != data_size)
    fail(label, ": ", data_size - expect, " trailing bytes after the last tensor (data section is ",
         data_size, " bytes, tensors end at ", expect, ")");
  if (out_tensors) *out_tensors = std::move(tensors);
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::parse(std::shared_ptr<MappedFile> file) {
  auto st = std::shared_ptr<SafetensorsFile>(new SafetensorsFile());
  const std::string label = "safetensors file '" + file->path() + "'";
  validate_bytes(file->data(), file->size(), label, &st->tensors_, &st->metadata_);
  st->data_start_ = file->data() + 8 + read_u64_le(file->data());
  for (size_t i = 0; i < st->tensors_.size(); ++i) st->index_[st->tensors_[i].name] = i;
  st->file_ = std::move(file);
  return st;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  return parse(MappedFile::open(path));
}

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail("safetensors file '", path(), "' has no tensor '", name, "'");
  return tensors_[it->second];
}

Tensor SafetensorsFile::load(const std::string& name, DType dtype) const {
  return load(info(name), dtype);
}

Tensor SafetensorsFile::load(const TensorInfo& t, DType dtype) const {
  Tensor out = Tensor::empty(t.shape, dtype);
  const size_t n = size_t(out.numel());
  if (dtype == t.dtype) {
    if (n) std::memcpy(out.raw_data(), bytes(t), out.nbytes());
  } else if (dtype == DType::F32) {
    convert_to_f32(bytes(t), t.dtype, out.data<float>(), n);
  } else if (dtype_is_float(dtype) && dtype_is_float(t.dtype)) {
    std::vector<float> tmp(n);
    convert_to_f32(bytes(t), t.dtype, tmp.data(), n);
    convert_from_f32(tmp.data(), out.raw_data(), dtype, n);
  } else {
    fail("safetensors file '", path(), "': tensor '", t.name, "' is ", dtype_name(t.dtype),
         " and cannot be converted to ", dtype_name(dtype));
  }
  return out;
}

void SafetensorsFile::release(const TensorInfo& t) const {
  file_->release(size_t(data_start_ - file_->data()) + t.begin, t.end - t.begin);
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", dtype_name(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  while ((8 + text.size()) % 8) text.push_back(' ');
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("cannot write '", tmp, "'");
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
  bool ok = std::fwrite(len, 1, 8, f) == 8 && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  for (const auto& [name, t] : tensors)
    ok = ok && (t.nbytes() == 0 || std::fwrite(t.raw_data(), 1, t.nbytes(), f) == t.nbytes());
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail("cannot write '", path, "'");
  }
}

}  // namespace sdfast
