// A read-only memory mapping of a whole file (RAII), or an owned in-memory image of one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sdfast {

class MappedFile {
 public:
  // Maps `path` read-only; throws Error naming the path when it cannot be opened or mapped, or
  // is not a regular file (symbolic links are followed; FIFOs and devices are refused without
  // blocking).
  static std::shared_ptr<MappedFile> open(const std::string& path);
  // An in-memory image (tests, fuzzing); `label` plays the role of the path in messages.
  static std::shared_ptr<MappedFile> from_bytes(std::vector<uint8_t> bytes, std::string label);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Tells the kernel that [offset, offset+len) will not be needed again (drops it from RSS).
  void release(size_t offset, size_t len) const;

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::vector<uint8_t> owned_;
};

}  // namespace sdfast
