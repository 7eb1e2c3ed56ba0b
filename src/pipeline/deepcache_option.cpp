// parse_deepcache (include/sdfast/pipeline.h): the text form "N[:BRANCH]" of the DeepCache
// request options (the CLI's --deepcache).
#include <charconv>
#include <string>
#include <string_view>

#include "sdfast/pipeline.h"

namespace sdfast {

namespace {

// A decimal integer in [lo, hi], nothing else (no sign, no spaces); `what` names it in messages.
int parse_bounded(std::string_view digits, int lo, int hi, const char* what,
                  const std::string& text) {
  int value = 0;
  const char* end = digits.data() + digits.size();
  const auto [stop, ec] = std::from_chars(digits.data(), end, value);
  const bool plain = !digits.empty() && digits[0] >= '0' && digits[0] <= '9';
  if (!plain || ec != std::errc() || stop != end || value < lo || value > hi)
    throw InvalidArgument("--deepcache '" + text + "': " + what + " must be an integer from " +
                          std::to_string(lo) + " to " + std::to_string(hi) +
                          " (the form is N or N:BRANCH, e.g. 3 or 3:0)");
  return value;
}

}  // namespace

DeepCacheSetting parse_deepcache(const std::string& text) {
  const std::string_view s(text);
  const size_t colon = s.find(':');
  DeepCacheSetting d;
  d.interval = parse_bounded(s.substr(0, colon), 1, 1000, "the cache interval N", text);
  if (colon != std::string_view::npos)
    d.branch_id = parse_bounded(s.substr(colon + 1), 0, 99, "the branch id", text);
  return d;
}

}  // namespace sdfast
