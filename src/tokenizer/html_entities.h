// The HTML5 named character references (&amp; &eacute; &NotNestedLessLess; ...), as Python's
// html.unescape knows them.
#pragma once

#include <cstddef>

namespace sdfast {

struct HtmlEntity {
  const char* name;   // without the leading '&'; with the trailing ';' where the name has one
  const char* value;  // UTF-8, one or two code points
};

extern const HtmlEntity kHtmlEntities[];  // sorted by name
extern const size_t kHtmlEntityCount;

}  // namespace sdfast
