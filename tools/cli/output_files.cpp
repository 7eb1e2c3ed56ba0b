#include "output_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "sdfast/error.h"

namespace sdfast::cli {

namespace fs = std::filesystem;

OutputFolder::OutputFolder(const std::string& dir, ImageFormat format) : dir_(dir), format_(format) {
  std::error_code ec;
  fs::path missing = fs::path(dir).lexically_normal();
  if (missing.filename().empty()) missing = missing.parent_path();  // "out/" -> "out"
  for (; !missing.empty() && !fs::exists(missing, ec); missing = missing.parent_path()) {
    created_.push_back(missing.string());
    if (missing == missing.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (!fs::is_directory(dir)) {
    remove_created();
    throw InvalidArgument("output folder '" + dir + "' cannot be created" + (ec ? ": " + ec.message() : ""));
  }
  const std::string probe = (fs::path(dir) / ".sdfast-write-test-XXXXXX").string();
  std::string tmpl = probe;
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) {
    const int err = errno;
    remove_created();
    throw InvalidArgument("output folder '" + dir + "' is not writable: " + std::strerror(err));
  }
  ::close(fd);
  ::unlink(tmpl.c_str());
  const std::regex numbered("([0-9]{5,})-.*\\.(png|jpg|webp)");
  for (const auto& e : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, numbered)) next_ = std::max(next_, std::stoi(m[1].str().substr(0, 9)) + 1);
  }
}

OutputFolder::~OutputFolder() { remove_created(); }

void OutputFolder::remove_created() const {
  std::error_code ec;
  for (const std::string& d : created_)
    if (!fs::remove(d, ec)) break;  // not empty (or not removable): leave it and its parents
}

std::string OutputFolder::write(const Image& image, const std::string& suffix, const std::vector<PngText>& text) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    char name[64];
    std::snprintf(name, sizeof name, "%05d-", next_++);
    const std::string path = (fs::path(dir_) / (name + suffix + image_format_extension(format_))).string();
    // Taken, whatever it is: a symbolic link (even a dangling one) is never written through.
    auto taken = [&path] {
      std::error_code ec;
      return fs::exists(fs::symlink_status(path, ec));
    };
    if (taken()) continue;
    try {
      save_image(image, path, format_, text, /*overwrite=*/false);
      return path;
    } catch (const Error&) {
      if (!taken()) throw;  // a real write error; else another process took the name
    }
  }
  throw Error("no free file name in '" + dir_ + "'");
}

void write_text_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw Error("cannot write '" + path + "'");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("cannot write '" + path + "': " + std::strerror(errno));
  }
}

}  // namespace sdfast::cli
