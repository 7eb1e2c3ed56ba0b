// libFuzzer harness: a whole LoRA .safetensors file image through the LoRA reader. Every input must
// either be refused with sdfast::Error or yield modules whose matrices agree (rank > 0, down
// [r, in(, k, k)], up [out, r(, 1, 1)], finite values and alpha). Anything else is a bug.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "io/safetensors.h"
#include "lora/lora_file.h"

using namespace sdfast;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lora::LoraFile file;
  try {
    auto st = SafetensorsFile::parse(MappedFile::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz"));
    file = lora::LoraFile::parse(*st);
  } catch (const Error&) {
    return 0;
  }
  if (file.modules.empty()) __builtin_trap();
  for (const lora::LoraModule& m : file.modules) {
    const Shape &d = m.down.shape(), &u = m.up.shape();
    if (m.rank <= 0 || d.size() != u.size() || (d.size() != 2 && d.size() != 4)) __builtin_trap();
    if (d[0] != m.rank || u[1] != m.rank || m.path.empty()) __builtin_trap();
    if (u.size() == 4 && (u[2] != 1 || u[3] != 1)) __builtin_trap();
    if (!std::isfinite(m.alpha)) __builtin_trap();
    for (const Tensor* t : {&m.down, &m.up})
      for (float v : t->span<float>())
        if (!std::isfinite(v)) __builtin_trap();
  }
  return 0;
}
