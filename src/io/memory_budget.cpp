#include "io/memory_budget.h"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "io/safetensors.h"

namespace sdfast {

namespace {

// cgroup v1 reports "no limit" as a huge page-aligned number (LONG_MAX rounded down).
constexpr uint64_t kUnlimited = uint64_t(1) << 60;

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, size_t(in.gcount()));
    if (text.size() > (1u << 20)) break;  // nothing we read is that large
  }
  return text;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<uint64_t> read_u64_file(const std::string& path) {
  auto text = read_small_file(path);
  return text ? parse_u64(*text) : std::nullopt;
}

// Value of `key` in a "key value" (memory.stat) or "Key: value kB" (meminfo) listing.
std::optional<uint64_t> find_field(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0 || line.size() == key.size()) continue;
    std::string_view rest(line);
    rest.remove_prefix(key.size());
    if (rest.front() == ':') rest.remove_prefix(1);
    if (rest.empty() || (rest.front() != ' ' && rest.front() != '\t')) continue;  // longer key
    uint64_t scale = 1;
    if (rest.size() >= 3 && rest.substr(rest.size() - 3) == " kB") {
      scale = 1024;
      rest.remove_suffix(3);
    }
    auto v = parse_u64(rest);
    if (!v || *v > std::numeric_limits<uint64_t>::max() / scale) return std::nullopt;
    return *v * scale;
  }
  return std::nullopt;
}

// Undoes mountinfo's octal escapes (\040 for a space).
std::string unescape_mount_path(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
        s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(char((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct CgroupMount {
  bool v2 = false;
  std::string root;         // the mount's root inside the hierarchy
  std::string mount_point;  // where it is mounted
};

std::vector<CgroupMount> cgroup_memory_mounts(const std::string& mountinfo) {
  std::vector<CgroupMount> mounts;
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount_point options [optional...] - fstype source super_options
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash < 5 || dash + 1 >= f.size()) continue;
    CgroupMount m;
    m.root = unescape_mount_path(f[3]);
    m.mount_point = unescape_mount_path(f[4]);
    if (f[dash + 1] == "cgroup2") {
      m.v2 = true;
      mounts.push_back(m);
    } else if (f[dash + 1] == "cgroup" && dash + 3 < f.size() &&
               ("," + f[dash + 3] + ",").find(",memory,") != std::string::npos) {
      mounts.push_back(m);
    }
  }
  return mounts;
}

// The cgroup path of this process in the v2 hierarchy ("0::/path") or the v1 memory hierarchy.
std::optional<std::string> cgroup_path(const std::string& self_cgroup, bool v2) {
  std::istringstream in(self_cgroup);
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find(':');
    const size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const bool match = v2 ? (line.compare(0, a, "0") == 0 && controllers.empty())
                          : ("," + controllers + ",").find(",memory,") != std::string::npos;
    if (match) return line.substr(b + 1);
  }
  return std::nullopt;
}

struct Limit {
  uint64_t limit;
  uint64_t available;
  std::string file;
};

// Walks from our cgroup's folder up to the mount point, keeping the tightest limit.
std::optional<Limit> tightest_limit(const CgroupMount& m, const std::string& cg_path) {
  std::string rel = cg_path;
  if (m.root != "/" && rel.compare(0, m.root.size(), m.root) == 0) rel = rel.substr(m.root.size());
  if (rel.find("..") != std::string::npos) rel = "/";  // never walk outside the mount
  std::string dir = m.mount_point + (rel == "/" ? "" : rel);
  std::optional<Limit> best;
  for (;;) {
    const std::string limit_file = dir + (m.v2 ? "/memory.max" : "/memory.limit_in_bytes");
    if (auto limit = read_u64_file(limit_file); limit && *limit < kUnlimited) {
      const auto usage = read_u64_file(dir + (m.v2 ? "/memory.current" : "/memory.usage_in_bytes"));
      uint64_t working = usage.value_or(0);
      if (auto stat = read_small_file(dir + "/memory.stat")) {
        auto inactive = find_field(*stat, m.v2 ? "inactive_file" : "total_inactive_file");
        if (!inactive) inactive = find_field(*stat, "inactive_file");
        if (inactive) working -= std::min(working, *inactive);
      }
      const uint64_t avail = *limit > working ? *limit - working : 0;
      if (!best || avail < best->available) best = Limit{*limit, avail, limit_file};
    }
    if (dir.size() <= m.mount_point.size()) break;
    const size_t slash = dir.rfind('/');
    dir = (slash == std::string::npos || slash < m.mount_point.size()) ? m.mount_point
                                                                       : dir.substr(0, slash);
  }
  return best;
}

}  // namespace

uint64_t estimate_weight_bytes(const std::vector<std::string>& files, DType compute) {
  uint64_t total = 0;
  for (const std::string& path : files) {
    const auto file = SafetensorsFile::open(path);
    for (const TensorInfo& t : file->tensors()) {
      const uint64_t esize = dtype_is_float(t.dtype) ? dtype_size(compute) : dtype_size(t.dtype);
      // Validated: numel * its own size fits in the file, so numel * 8 cannot overflow.
      const uint64_t bytes = (t.end - t.begin) / dtype_size(t.dtype) * esize;
      total = bytes > std::numeric_limits<uint64_t>::max() - total
                  ? std::numeric_limits<uint64_t>::max()
                  : total + bytes;
    }
  }
  return total;
}

std::optional<uint64_t> MemoryAvailability::available() const {
  if (mem_available && cgroup_available) return std::min(*mem_available, *cgroup_available);
  return mem_available ? mem_available : cgroup_available;
}

std::string format_bytes(uint64_t bytes) {
  char buf[64];
  if (bytes >= (uint64_t(1) << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", double(bytes) / double(uint64_t(1) << 30));
  else if (bytes >= (uint64_t(1) << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(bytes) / double(uint64_t(1) << 20));
  else
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

std::string MemoryAvailability::describe() const {
  std::string s;
  if (mem_available) s = "MemAvailable " + format_bytes(*mem_available);
  if (cgroup_limit)
    s += (s.empty() ? "" : "; ") + str_cat("cgroup limit ", format_bytes(*cgroup_limit), " (",
                                           cgroup_file, "), ", format_bytes(*cgroup_available),
                                           " of it free");
  return s.empty() ? "nothing known about available memory" : s;
}

MemoryAvailability read_memory_availability(const MemorySources& sources) {
  MemoryAvailability m;
  if (auto meminfo = read_small_file(sources.meminfo))
    m.mem_available = find_field(*meminfo, "MemAvailable");
  const auto self = read_small_file(sources.self_cgroup);
  const auto mountinfo = read_small_file(sources.mountinfo);
  if (!self || !mountinfo) return m;
  for (const CgroupMount& mount : cgroup_memory_mounts(*mountinfo)) {
    const auto path = cgroup_path(*self, mount.v2);
    if (!path) continue;
    if (auto limit = tightest_limit(mount, *path);
        limit && (!m.cgroup_available || limit->available < *m.cgroup_available)) {
      m.cgroup_limit = limit->limit;
      m.cgroup_available = limit->available;
      m.cgroup_file = limit->file;
    }
  }
  return m;
}

void check_fits_in_memory(uint64_t required_bytes, const MemoryAvailability& available,
                          const std::string& what) {
  const auto avail = available.available();
  if (!avail || required_bytes <= *avail) return;
  fail(what, " need ", format_bytes(required_bytes), ", but only ", format_bytes(*avail),
       " of memory is available (", available.describe(),
       "); loading would get the process killed part-way. Free memory, raise the limit, use a "
       "smaller compute dtype (bf16 halves float32 weights) or a smaller model");
}

}  // namespace sdfast
