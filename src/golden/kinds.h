// The golden case kinds the engine implements: one handler per kind, each in its own file.
// A handler runs the case through the engine and reports every output with run.check().
#pragma once

#include "golden/golden_case.h"

namespace sdfast::golden {

using KindHandler = void (*)(CaseRun& run);

// The handler for `kind`, or nullptr when the kind is not implemented (reported UNSUPPORTED).
KindHandler find_kind(const std::string& kind);

void run_unet(CaseRun& run);  // kind_unet.cpp

}  // namespace sdfast::golden
