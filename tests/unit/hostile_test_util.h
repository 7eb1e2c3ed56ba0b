// Helpers for tests that build bad files: temporary folders, raw byte files, and a check that an
// Error was thrown whose message contains given parts (the problem and the file).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "sdfast/error.h"

namespace sdfast::testing {

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sdfast-test-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A copy of the folder tree `src` at `dst` made of symbolic links to the files (cheap; a test
// damages the copy by replacing links with files).
inline void link_tree(const std::string& src, const std::string& dst) {
  namespace fs = std::filesystem;
  fs::create_directories(dst);
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    const fs::path rel = fs::relative(entry.path(), src);
    if (entry.is_directory()) {
      fs::create_directories(fs::path(dst) / rel);
    } else {
      fs::create_directories((fs::path(dst) / rel).parent_path());
      fs::create_symlink(entry.path(), fs::path(dst) / rel);
    }
  }
}

// Writes `bytes` to `path`. A symbolic link there (see link_tree) is replaced, never written
// through.
inline void write_file(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  if (std::filesystem::is_symlink(path)) std::filesystem::remove(path);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::string u64_le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = char(uint8_t(v >> (8 * i)));
  return s;
}

// A safetensors image: length prefix, `header` verbatim, then `data_bytes` bytes (0, 1, 2, ...).
inline std::string safetensors_bytes(const std::string& header, size_t data_bytes) {
  std::string s = u64_le(header.size()) + header;
  for (size_t i = 0; i < data_bytes; ++i) s.push_back(char(i & 0xff));
  return s;
}

// Passes when `fn` throws sdfast::Error (or a subclass) whose message contains every part.
inline ::testing::AssertionResult throws_with(const std::function<void()>& fn,
                                              const std::vector<std::string>& parts) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (std::getenv("SDFAST_SHOW_ERRORS")) std::printf("    error: %s\n", msg.c_str());
    for (const std::string& p : parts)
      if (msg.find(p) == std::string::npos)
        return ::testing::AssertionFailure() << "message lacks \"" << p << "\": " << msg;
    return ::testing::AssertionSuccess() << msg;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-sdfast exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace sdfast::testing
