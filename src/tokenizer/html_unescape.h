// Python's html.unescape on a code point string.
//
// Reference: CPython Lib/html/__init__.py. Character references are found left to right as
// &#digits;? , &#x hex;? or &name;? (name: 1-32 characters other than tab, LF, FF, space, '<',
// '&', '#', ';'). Numeric references follow HTML5's replacements (0x80-0x9F as windows-1252, NUL,
// surrogates and values past U+10FFFF to U+FFFD, non-characters and most controls removed). A name
// is replaced when it is one of the 2231 HTML5 entity names (the 106 legacy names also without
// ';'), else its longest known prefix of at least 2 characters is replaced and the rest kept,
// else the text is left as it was. Replacements are not scanned again.
#pragma once

#include <string>
#include <string_view>

namespace sdfast {

std::u32string html_unescape(std::u32string_view s);

}  // namespace sdfast
