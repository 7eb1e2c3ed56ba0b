// libFuzzer harness: a whole safetensors file image. Every input must either be refused with
// sdfast::Error or yield tensors that lie inside the data section, tile it exactly, and load.
// Anything else (a crash, a sanitizer report, another exception type) is a bug.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "io/safetensors.h"

using namespace sdfast;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::shared_ptr<SafetensorsFile> st;
  try {
    st = SafetensorsFile::parse(
        MappedFile::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz"));
  } catch (const Error&) {
    return 0;
  }
  // Accepted: check the invariants validation promises.
  uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | data[i];
  const uint64_t data_size = size - 8 - header;
  uint64_t expect = 0;
  for (const TensorInfo& t : st->tensors()) {
    if (t.begin != expect || t.end < t.begin || t.end > data_size) __builtin_trap();
    if (uint64_t(shape_numel(t.shape)) * dtype_size(t.dtype) != t.end - t.begin) __builtin_trap();
    expect = t.end;
  }
  if (expect != data_size) __builtin_trap();
  for (const TensorInfo& t : st->tensors()) {
    const Tensor f32 = st->load(t, DType::F32);  // every dtype converts to F32
    if (f32.numel() != shape_numel(t.shape)) __builtin_trap();
    if (dtype_is_float(t.dtype)) (void)st->load(t, DType::BF16);
    (void)st->load(t, t.dtype);
  }
  return 0;
}
