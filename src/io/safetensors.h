// safetensors reader: memory-mapped, zero-copy, validated like the reference reader.
//
// Format: u64 little-endian header length N (at most 100 MB), N bytes of UTF-8 JSON object
// { name: {"dtype": str, "shape": [u64...], "data_offsets": [begin, end]}, "__metadata__": {str:
// str} }, then the data section. Offsets are relative to the data section, must start at 0, be
// contiguous without gaps or overlaps, and end exactly at the end of the file; end - begin must
// equal numel x dtype size. Duplicate keys anywhere in the header are an error. Tensor data is read
// in place from the mapping (zero-copy until converted) and may have any alignment.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/mapped_file.h"

namespace sdfast {

struct TensorInfo {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0;  // byte offsets in the data section
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Largest header accepted, as in the reference reader.
  static constexpr uint64_t kMaxHeaderBytes = 100'000'000;

  // Opens and validates `path`; throws Error naming the file and the problem.
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  // Validates a mapped or in-memory (MappedFile::from_bytes) image; errors name file->path().
  static std::shared_ptr<SafetensorsFile> parse(std::shared_ptr<MappedFile> file);
  // Validates `size` bytes of a whole file without keeping them; throws Error prefixed by `label`.
  // On success fills `tensors` (sorted by offset) and `metadata` when given. Used by the fuzzer.
  static void validate_bytes(const uint8_t* data, size_t size, const std::string& label,
                             std::vector<TensorInfo>* tensors = nullptr,
                             std::map<std::string, std::string>* metadata = nullptr);

  const std::string& path() const { return file_->path(); }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in data order
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Throws Error naming the file when `name` is absent.
  const TensorInfo& info(const std::string& name) const;
  // Raw bytes of a tensor, in the file (not necessarily aligned).
  const uint8_t* bytes(const TensorInfo& t) const { return data_start_ + t.begin; }
  // A copy of the tensor converted to `dtype` (F32, F16, BF16, F64; integers only as themselves
  // or to F32), 64-byte aligned.
  Tensor load(const std::string& name, DType dtype) const;
  Tensor load(const TensorInfo& t, DType dtype) const;
  // Drops the tensor's pages from memory (after it was converted into the model).
  void release(const TensorInfo& t) const;

 private:
  std::shared_ptr<MappedFile> file_;
  const uint8_t* data_start_ = nullptr;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors (float32 or any DType, as given) into a safetensors file (used by tests and
// tools).
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace sdfast
