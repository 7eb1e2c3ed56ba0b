#include "bench/child_process.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/measure.h"
#include "core/error.h"
#include "io/json.h"

extern char** environ;

namespace sdfast::bench {

namespace {

// A fresh empty file in the temporary folder, removed when this goes out of scope.
class TempFile {
 public:
  TempFile() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sdfast-bench-XXXXXX.json").string();
    const int fd = mkstemps(pattern.data(), 5);
    if (fd < 0) fail("cannot create a temporary file '", pattern, "': ", std::strerror(errno));
    ::close(fd);
    path_ = pattern;
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace

ChildOutcome run_in_child(const std::vector<std::string>& command, const Job& job) {
  if (command.empty()) fail("bench: no command to run a measurement with (child_command)");
  TempFile result_file;
  std::vector<std::string> args = command;
  args.insert(args.end(), {"--one", job.to_json().dump(), "--result", result_file.path()});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  ChildOutcome out;
  Stopwatch sw;
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
  if (rc != 0) fail("bench: cannot start '", command[0], "': ", std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      fail("bench: waiting for measurement '", job.id, "': ", std::strerror(errno));
  }
  out.wall_s = sw.wall_s();

  const std::string text = read_text(result_file.path());
  nlohmann::json result;
  if (!text.empty()) {
    try {
      result = parse_json(text, "result of bench job '" + job.id + "'");
    } catch (const Error& e) {
      out.error = e.what();
    }
  }
  const bool exited_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (exited_ok && result.is_object() && !result.contains("error")) {
    out.ok = true;
    out.result = std::move(result);
    return out;
  }
  if (result.is_object() && result.contains("error") && result["error"].is_string())
    out.error = result["error"].get<std::string>();
  std::string how;
  if (WIFEXITED(status))
    how = str_cat("exit status ", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    how = str_cat("killed by signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
  if (out.error.empty()) out.error = "no result written";
  out.error = how.empty() ? out.error : how + ": " + out.error;
  return out;
}

}  // namespace sdfast::bench
