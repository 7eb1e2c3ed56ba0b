#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace sdfast {

namespace {

// Renames `from` to `to` without replacing an existing `to` (atomic where the kernel allows).
bool rename_noreplace(const std::string& from, const std::string& to) {
#ifdef SYS_renameat2
  if (::syscall(SYS_renameat2, AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), 1 /*RENAME_NOREPLACE*/) == 0)
    return true;
  if (errno == EEXIST) return false;
#endif
  if (::link(from.c_str(), to.c_str()) != 0) return false;
  ::unlink(from.c_str());
  return true;
}

}  // namespace

void write_file_atomically(const std::string& path, bool overwrite, const char* what,
                           const std::function<bool(FILE* f, std::string* error)>& write) {
  if (!overwrite && std::filesystem::exists(path)) fail("'", path, "' already exists (not overwritten)");
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail("cannot write '", path, "': ", std::strerror(errno));
  FILE* f = ::fdopen(fd, "wb");
  if (!f) {
    ::close(fd);
    ::unlink(tmp.c_str());
    fail("cannot write '", path, "'");
  }
  std::string error;
  bool ok = false;
  try {
    ok = write(f, &error);
  } catch (...) {
    std::fclose(f);
    ::unlink(tmp.c_str());
    throw;
  }
  ok = (std::fflush(f) == 0) && (::fsync(::fileno(f)) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    ::unlink(tmp.c_str());
    fail("cannot write ", what, " '", path, "'", error.empty() ? "" : ": " + error);
  }
  ::chmod(tmp.c_str(), 0644);
  const bool renamed = overwrite ? std::rename(tmp.c_str(), path.c_str()) == 0 : rename_noreplace(tmp, path);
  if (!renamed) {
    const int e = errno;
    ::unlink(tmp.c_str());
    if (!overwrite && std::filesystem::exists(path)) fail("'", path, "' already exists (not overwritten)");
    fail("cannot move the ", what, " into '", path, "': ", std::strerror(e));
  }
}

}  // namespace sdfast
