// `sdfast serve`: standard base64 (RFC 4648, with padding), for images in JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sdfast::server {

std::string base64_encode(std::string_view bytes);
// Decodes padded or unpadded standard base64; ASCII whitespace is skipped. Nothing when the text
// has another character, a bad length or bad padding.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace sdfast::server
