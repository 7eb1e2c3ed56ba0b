// Files written whole or not at all: the content goes to a temporary file in the target's folder,
// is flushed to disk, and is renamed into place (without replacing an existing file unless asked).
#pragma once

#include <cstdio>
#include <functional>
#include <string>

namespace sdfast {

// Calls `write` with a FILE* open on a temporary file next to `path`; when it returns true and the
// data reached the disk, renames the file to `path`. Otherwise removes it and throws Error naming
// `path` and `what` ("PNG", "JPEG", ...), with `*error` when `write` set it. Unless `overwrite`, an
// existing `path` is never replaced (Error naming it).
void write_file_atomically(const std::string& path, bool overwrite, const char* what,
                           const std::function<bool(FILE* f, std::string* error)>& write);

}  // namespace sdfast
