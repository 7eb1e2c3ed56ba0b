// Reference: huggingface/safetensors safetensors/src/tensor.rs (SafeTensors::read_metadata,
// Metadata::validate). Same acceptance rules (offsets sorted then required to tile the data
// section exactly, unknown fields in an entry ignored, "__metadata__": null allowed), stricter in
// three places: a repeated tensor name or metadata key is an error (the reference keeps the last
// one), every partial element count must fit in int64 (our Shape type), and at most 8 dimensions.
#include "io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/utf8.h"
#include "io/file_names.h"

namespace sdfast {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; loading on a big-endian host needs byte swaps");

namespace {

using nlohmann::json;

// Valid safetensors dtypes that sdfast does not read (for a clearer message than "unknown").
constexpr std::string_view kOtherSafetensorsDtypes[] = {
    "U16", "U32", "U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"};

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A hint appended to "bad header length" errors when the file looks like a PyTorch checkpoint.
std::string pickle_hint(const uint8_t* data, size_t size) {
  const bool zip = size >= 4 && std::memcmp(data, "PK\x03\x04", 4) == 0;
  const bool pickle = size >= 2 && data[0] == 0x80 && data[1] >= 2 && data[1] <= 5;
  if (!zip && !pickle) return "";
  return str_cat(" (the file starts like a ", zip ? "zip archive" : "Python pickle",
                 ", i.e. a PyTorch .bin/.ckpt/.pt checkpoint renamed; those can run arbitrary code "
                 "when loaded and are not read: convert the model to safetensors)");
}

std::string dims_str(const std::vector<uint64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Streaming (SAX) validator of the header JSON. It never builds a DOM, rejects a bad header at
// the first offending token, and keeps only one TensorInfo per tensor, so a hostile 100 MB header
// costs neither deep recursion nor a large amount of memory.
class HeaderParser {
 public:
  HeaderParser(const std::string& label, uint64_t data_size)
      : label_(label), data_size_(data_size) {}

  std::vector<TensorInfo> tensors;
  std::map<std::string, std::string> metadata;
  std::string error;  // set when a callback returned false

  // --- nlohmann SAX interface ---
  bool null() { return scalar("null"); }
  bool boolean(bool) { return scalar("a boolean"); }
  bool number_integer(int64_t v) {
    if (v >= 0) return number_unsigned(uint64_t(v));
    return scalar("a negative integer (" + std::to_string(v) + ")");
  }
  bool number_unsigned(uint64_t v) {
    if (state_ == State::InShape) {
      if (dims_.size() == kMaxDims)
        return bad(entry(), "shape has more than ", kMaxDims, " dimensions");
      dims_.push_back(v);
      return true;
    }
    if (state_ == State::InOffsets) {
      if (offsets_.size() == 2) return bad(entry(), "data_offsets has more than two values");
      offsets_.push_back(v);
      return true;
    }
    return scalar("an integer (" + std::to_string(v) + ")");
  }
  bool number_float(double, const std::string& text) {
    return scalar("a non-integer number (" + printable(text, 40) + ")");
  }
  bool string(std::string& s) {
    if (state_ == State::MetaValue) {
      metadata[meta_key_] = std::move(s);
      state_ = State::InMeta;
      return true;
    }
    if (state_ == State::DtypeValue) {
      dtype_name_ = s;
      state_ = State::InEntry;
      return true;
    }
    return scalar("a string");
  }
  bool binary(json::binary_t&) { return scalar("binary data"); }
  bool start_object(size_t) {
    switch (state_) {
      case State::Top:
        state_ = State::InHeader;
        return true;
      case State::MetadataValue:
        state_ = State::InMeta;
        return true;
      case State::EntryValue:
        state_ = State::InEntry;
        fields_.clear();
        dims_.clear();
        offsets_.clear();
        dtype_name_.clear();
        return true;
      case State::Skip:
        ++skip_depth_;
        return true;
      default:
        return scalar("an object");
    }
  }
  bool start_array(size_t) {
    switch (state_) {
      case State::ShapeValue:
        state_ = State::InShape;
        return true;
      case State::OffsetsValue:
        state_ = State::InOffsets;
        return true;
      case State::Skip:
        ++skip_depth_;
        return true;
      default:
        return scalar("an array");
    }
  }
  bool end_array() {
    switch (state_) {
      case State::InShape:
        state_ = State::InEntry;
        return true;
      case State::InOffsets:
        if (offsets_.size() != 2)
          return bad(entry(), "data_offsets has ", offsets_.size(),
                     " value(s), expected [begin, end]");
        state_ = State::InEntry;
        return true;
      case State::Skip:
        return leave_skipped();
      default:
        return bad(label_, ": unexpected end of array");  // unreachable: the parser pairs them
    }
  }
  bool end_object() {
    switch (state_) {
      case State::InHeader:
        state_ = State::Done;
        return true;
      case State::InMeta:
        state_ = State::InHeader;
        return true;
      case State::InEntry:
        return finish_entry();
      case State::Skip:
        return leave_skipped();
      default:
        return bad(label_, ": unexpected end of object");
    }
  }
  bool key(std::string& k) {
    switch (state_) {
      case State::InHeader:
        if (!names_.insert(k).second)
          return bad(label_, ": header has duplicate key '", printable(k), "'");
        if (k == "__metadata__") {
          state_ = State::MetadataValue;
        } else {
          name_ = k;
          state_ = State::EntryValue;
        }
        return true;
      case State::InMeta:
        if (metadata.count(k))
          return bad(label_, ": __metadata__ has duplicate key '", printable(k), "'");
        meta_key_ = k;
        state_ = State::MetaValue;
        return true;
      case State::InEntry:
        if (!fields_.insert(k).second) return bad(entry(), "duplicate key '", printable(k), "'");
        if (k == "dtype") {
          state_ = State::DtypeValue;
        } else if (k == "shape") {
          state_ = State::ShapeValue;
        } else if (k == "data_offsets") {
          state_ = State::OffsetsValue;
        } else {  // unknown fields are ignored, as the reference reader does
          state_ = State::Skip;
          skip_depth_ = 0;
        }
        return true;
      case State::Skip:
        return true;
      default:
        return bad(label_, ": unexpected key '", printable(k), "'");
    }
  }
  bool parse_error(size_t position, const std::string&, const json::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..." -> tail
    if (auto p = what.find(": "); p != std::string::npos) what = what.substr(p + 2);
    return bad(label_, ": header is not valid JSON (at header byte ", position, ": ", what, ")");
  }

 private:
  static constexpr size_t kMaxDims = 8;
  enum class State {
    Top,
    InHeader,
    MetadataValue,
    InMeta,
    MetaValue,
    EntryValue,
    InEntry,
    DtypeValue,
    ShapeValue,
    InShape,
    OffsetsValue,
    InOffsets,
    Skip,
    Done
  };

  template <class... Args>
  bool bad(Args&&... args) {
    error = str_cat(std::forward<Args>(args)...);
    return false;
  }
  std::string entry() const { return label_ + ": tensor '" + printable(name_) + "': "; }

  // A scalar (or container start, when `what` is "an object"/"an array") in state_.
  bool scalar(const std::string& what) {
    switch (state_) {
      case State::Top:
        return bad(label_, ": header is JSON but not an object (it is ", what, ")");
      case State::MetadataValue:
        if (what == "null") {  // "__metadata__": null is an absent map, as in the reference
          state_ = State::InHeader;
          return true;
        }
        return bad(label_, ": __metadata__ is ", what, ", expected an object of strings");
      case State::MetaValue:
        return bad(label_, ": __metadata__ value for '", printable(meta_key_), "' is ", what,
                   ", expected a string");
      case State::EntryValue:
        return bad(entry(), "entry is ", what, ", expected an object {dtype, shape, data_offsets}");
      case State::DtypeValue:
        return bad(entry(), "dtype is ", what, ", expected a string");
      case State::ShapeValue:
        return bad(entry(), "shape is ", what, ", expected an array of non-negative integers");
      case State::InShape:
        return bad(entry(), "shape has a dimension that is ", what,
                   ", expected a non-negative integer");
      case State::OffsetsValue:
        return bad(entry(), "data_offsets is ", what, ", expected [begin, end]");
      case State::InOffsets:
        return bad(entry(), "data_offsets has a value that is ", what,
                   ", expected a non-negative integer");
      case State::Skip:
        if (skip_depth_ == 0) state_ = State::InEntry;
        return true;
      default:
        return bad(label_, ": unexpected ", what, " in the header");
    }
  }
  bool leave_skipped() {
    if (--skip_depth_ == 0) state_ = State::InEntry;
    return true;
  }

  bool finish_entry() {
    for (const char* f : {"dtype", "shape", "data_offsets"})
      if (!fields_.count(f)) return bad(entry(), "missing field '", f, "'");
    TensorInfo t;
    t.name = name_;
    const auto dt = dtype_from_name(dtype_name_);
    if (!dt) {
      const bool known =
          std::find(std::begin(kOtherSafetensorsDtypes), std::end(kOtherSafetensorsDtypes),
                    dtype_name_) != std::end(kOtherSafetensorsDtypes);
      return bad(
          entry(), "dtype '", printable(dtype_name_, 40), "' is ",
          known ? "a safetensors dtype that sdfast does not read" : "not a safetensors dtype",
          " (sdfast reads F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
    }
    t.dtype = *dt;
    // Element count: each partial product must stay within int64 (Shape is int64_t).
    constexpr uint64_t kMax = uint64_t(std::numeric_limits<int64_t>::max());
    uint64_t numel = 1;
    for (uint64_t d : dims_) {
      if (d > kMax || (d != 0 && numel > kMax / d))
        return bad(entry(), "shape ", dims_str(dims_), " overflows the element count");
      numel *= d;
      t.shape.push_back(int64_t(d));
    }
    const uint64_t esize = dtype_size(t.dtype);
    if (numel > kMax / esize)
      return bad(entry(), "shape ", dims_str(dims_), " of ", dtype_name_,
                 " overflows the byte count");
    const uint64_t nbytes = numel * esize;
    t.begin = offsets_[0];
    t.end = offsets_[1];
    const std::string offs = dims_str(offsets_);
    if (t.end < t.begin) return bad(entry(), "data_offsets ", offs, " end before they begin");
    if (t.end - t.begin != nbytes)
      return bad(entry(), "data_offsets ", offs, " hold ", t.end - t.begin, " bytes but shape ",
                 dims_str(dims_), " of ", dtype_name_, " needs ", nbytes);
    if (t.end > data_size_)
      return bad(entry(), "data_offsets ", offs,
                 " run past the end of the file (the data section is ", data_size_, " bytes)");
    tensors.push_back(std::move(t));
    state_ = State::InHeader;
    return true;
  }

  const std::string& label_;
  const uint64_t data_size_;
  State state_ = State::Top;
  std::set<std::string> names_;   // top-level keys
  std::set<std::string> fields_;  // keys of the current entry
  std::string name_, meta_key_, dtype_name_;
  std::vector<uint64_t> dims_, offsets_;
  uint64_t skip_depth_ = 0;
};

}  // namespace

void SafetensorsFile::validate_bytes(const uint8_t* data, size_t size, const std::string& label,
                                     std::vector<TensorInfo>* out_tensors,
                                     std::map<std::string, std::string>* out_metadata) {
  if (size < 8)
    fail(label, ": file is ", size,
         " bytes, too short for a safetensors header (needs at least 8)");
  const uint64_t n = read_u64_le(data);
  if (n > kMaxHeaderBytes)
    fail(label, ": header length ", n, " exceeds the limit of ", kMaxHeaderBytes, " bytes",
         pickle_hint(data, size));
  // n <= 100 MB, so 8 + n cannot overflow; compare without forming it anyway.
  if (n > size - 8)
    fail(label, ": header length ", n, " runs past the end of the file (", size, " bytes)",
         pickle_hint(data, size));
  const std::string_view text(reinterpret_cast<const char*>(data + 8), size_t(n));
  size_t bad = 0;
  if (!is_valid_utf8(text, &bad))
    fail(label, ": header is not valid UTF-8 (at file byte ", 8 + bad, ")");

  const uint64_t data_size = size - 8 - n;
  HeaderParser parser(label, data_size);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &parser);
  } catch (const json::exception& e) {  // defensive: the SAX parser reports through parse_error
    fail(label, ": header is not valid JSON (", e.what(), ")");
  }
  if (!ok) fail(parser.error.empty() ? label + ": header is not valid JSON" : parser.error);

  std::vector<TensorInfo>& tensors = parser.tensors;
  std::stable_sort(tensors.begin(), tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expect = 0;
  for (const TensorInfo& t : tensors) {
    if (t.begin < expect)
      fail(label, ": tensor '", printable(t.name), "' data_offsets [", t.begin, ", ", t.end,
           "] overlap the previous tensor (which ends at ", expect, ")");
    if (t.begin > expect && expect == 0)
      fail(label, ": data_offsets do not start at 0 (the first tensor, '", printable(t.name),
           "', begins at ", t.begin, ")");
    if (t.begin > expect)
      fail(label, ": gap in the data section before tensor '", printable(t.name), "' (bytes ",
           expect, " to ", t.begin, " belong to no tensor)");
    expect = t.end;
  }
  if (expect != data_size)
    fail(label, ": ", data_size - expect, " trailing bytes after the last tensor (data section is ",
         data_size, " bytes, tensors end at ", expect, ")");
  if (out_tensors) *out_tensors = std::move(tensors);
  if (out_metadata) *out_metadata = std::move(parser.metadata);
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
  if (it == index_.end())
    fail("safetensors file '", path(), "' has no tensor '", printable(name), "'");
  return tensors_[it->second];
}

Tensor SafetensorsFile::load(const std::string& name, DType dtype) const {
  return load(info(name), dtype);
}

Tensor SafetensorsFile::load(const TensorInfo& t, DType dtype) const {
  const bool convertible =
      dtype == t.dtype || dtype == DType::F32 || (dtype_is_float(dtype) && dtype_is_float(t.dtype));
  if (!convertible)
    fail("safetensors file '", path(), "': tensor '", printable(t.name), "' is ",
         dtype_name(t.dtype), " and cannot be converted to ", dtype_name(dtype));
  Tensor out = Tensor::empty(t.shape, dtype);
  const size_t n = size_t(out.numel());
  const uint8_t* src = bytes(t);  // any alignment: the converters read through memcpy
  if (n == 0) return out;
  if (dtype == t.dtype) {
    std::memcpy(out.raw_data(), src, out.nbytes());
  } else if (dtype == DType::F32) {
    convert_to_f32(src, t.dtype, out.data<float>(), n);
  } else {
    // Float to another float type through float32, in chunks to keep the scratch buffer small.
    constexpr size_t kChunk = size_t(1) << 14;
    std::vector<float> tmp(std::min(n, kChunk));
    const size_t in_size = dtype_size(t.dtype), out_size = dtype_size(dtype);
    auto* dst = static_cast<uint8_t*>(out.raw_data());
    for (size_t i = 0; i < n; i += kChunk) {
      const size_t m = std::min(kChunk, n - i);
      convert_to_f32(src + i * in_size, t.dtype, tmp.data(), m);
      convert_from_f32(tmp.data(), dst + i * out_size, dtype, m);
    }
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
  bool ok =
      std::fwrite(len, 1, 8, f) == 8 && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  for (const auto& [name, t] : tensors)
    ok = ok && (t.nbytes() == 0 || std::fwrite(t.raw_data(), 1, t.nbytes(), f) == t.nbytes());
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    fail("cannot write '", path, "'");
  }
}

}  // namespace sdfast
