// libFuzzer harness: arbitrary text through parse_deepcache ("N[:BRANCH]", the CLI's
// --deepcache). It must either return values inside the documented ranges, consistent with the
// text, or throw InvalidArgument; never crash or throw anything else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sdfast/pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const sdfast::DeepCacheSetting d = sdfast::parse_deepcache(text);
    if (d.interval < 1 || d.interval > 1000 || d.branch_id < 0 || d.branch_id > 99)
      __builtin_trap();
    // Accepted text is exactly the canonical digits (no sign, spaces, or trailing bytes).
    const std::string canonical = std::to_string(d.interval);
    const std::string with_branch = text.find(':') == std::string::npos
                                        ? canonical
                                        : canonical + ":" + std::to_string(d.branch_id);
    const auto strip_zeros = [](const std::string& s) {  // "03" is accepted as 3
      std::string out;
      bool leading = true;
      for (char c : s) {
        if (c == ':') leading = true;
        if (leading && c == '0') continue;
        if (c != ':') leading = false;
        out += c;
      }
      return out;
    };
    if (strip_zeros(text) != strip_zeros(with_branch)) __builtin_trap();
  } catch (const sdfast::InvalidArgument&) {
  }
  return 0;
}
