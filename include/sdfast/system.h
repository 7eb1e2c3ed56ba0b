// Facts about the process and the installation.
#pragma once

#include <string>

namespace sdfast {

// Peak resident memory of this process so far (VmHWM), in MiB.
double peak_rss_mb();

// The bundled demo model (models/demo/shapes-pipeline in the source tree): $SDFAST_DEMO_MODEL if
// set, else found next to the executable or in the source tree it was built from. Throws Error
// when it cannot be found.
std::string bundled_demo_model();

// The version string ("0.1.0").
const char* version();

}  // namespace sdfast
