// Strict UTF-8 validation (no overlong forms, no surrogates, nothing above U+10FFFF).
#pragma once

#include <cstddef>
#include <string_view>

namespace sdfast {

// True when `s` is valid UTF-8; otherwise false and *bad_offset (if given) is the first bad byte.
bool is_valid_utf8(std::string_view s, size_t* bad_offset = nullptr);

}  // namespace sdfast
