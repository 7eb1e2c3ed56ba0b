// The vector kernels written here (element-wise math, normalisation pieces, flash attention
// blocks), as one table of function pointers per instruction-set variant. The tables are compiled
// once per target by Google Highway (simd/kernels_hwy.cpp) plus an AVX512-BF16 intrinsics kernel
// for the bf16 dot products (simd/flash_bf16_avx512.cpp); one table is chosen at start from what the
// CPU supports (simd/dispatch.h). Nothing here depends on the rest of sdfast: buffers are raw
// pointers with an element type, float32 or bfloat16 storage, float32 arithmetic.
#pragma once

#include <cstdint>

namespace sdfast::simd {

enum class Elem : uint8_t { F32, BF16 };

enum class Unary : uint8_t {
  Copy,       // x (a dtype conversion when the element types differ)
  Scale,      // x * p
  Silu,       // x * sigmoid(x)
  Gelu,       // 0.5 x (1 + erf(x / sqrt 2))
  QuickGelu,  // x * sigmoid(1.702 x)
  Relu,       // max(x, 0)
  TanhClamp,  // tanh(x / p) * p
  Exp,        // e^x
};

enum class Binary : uint8_t {
  Add,        // a + b
  AddScaled,  // (a + b) * p
  GeluGate,   // a * gelu(b) (GEGLU)
};

// Flash attention: one block of up to kFlashQ query rows against all keys [0, k_end) of one head,
// with an online softmax over blocks of kFlashK keys. Inputs are packed by the caller (zero
// padded): float32 kernels read Q [kFlashQ][dq], K transposed [dq][lkp] and V [lkp][dp];
// bfloat16 kernels read Q [kFlashQ][dq] (bf16), K as pairs of d [dq/2][lkp][2] and V as pairs of
// keys [lkp/2][dp][2]. dq is d rounded up to 2, dp to 16, lkp the keys rounded up to kFlashK.
inline constexpr int64_t kFlashQ = 64;
inline constexpr int64_t kFlashK = 128;
struct FlashBlock {
  const void* q;
  const void* k;
  const void* v;
  int64_t d, dq, dp, lkp;
  int64_t nq;      // valid query rows in the block (<= kFlashQ)
  int64_t q0;      // index of the block's first query (for the causal mask)
  int64_t k_end;   // keys [0, k_end) take part
  bool causal;     // key j is masked for query i when j > i
  float* o;        // [kFlashQ][dp] output: softmax(Q K^T / sqrt(d)) V, normalised
  // Scratch of the caller's thread: kFlashQ * kFlashK floats (scores) and as many elements of the
  // kernel's type (probabilities), kFlashQ floats each for the row max, sum and rescale.
  float* s;
  void* p;
  float* m;
  float* l;
  float* alpha;
};

struct Kernels {
  const char* target;  // the Highway target the table was compiled for ("AVX3", "AVX2", "EMU128", ...)
  // y[i] = op(x[i]) over [0, n).
  void (*unary)(Unary op, float p, const void* x, Elem tx, void* y, Elem ty, int64_t n);
  // y[i] = op(a[i], b[i]) over [0, n).
  void (*binary)(Binary op, float p, const void* a, Elem ta, const void* b, Elem tb, void* y, Elem ty,
                 int64_t n);
  // GroupNorm statistics of a [rows, c] block: f1[k] += x[r][k] - shift[k], f2[k] += (x[r][k] -
  // shift[k])^2, accumulated in float32.
  void (*channel_moments)(const void* x, Elem tx, int64_t c, int64_t rows, const float* shift, float* f1,
                          float* f2);
  // Sum of x[k] - shift and of its square over one row of n, float32 lanes summed in double.
  void (*row_moments)(const void* x, Elem tx, int64_t n, float shift, double* s1, double* s2);
  // y[k] = x[k] * a[k] + b[k], then SiLU when `silu`, over one row of c.
  void (*scale_shift)(const void* x, Elem tx, void* y, Elem ty, int64_t c, const float* a, const float* b,
                      bool silu);
  // Flash attention on float32-packed inputs.
  void (*flash_f32)(const FlashBlock& blk);
  // Flash attention on bfloat16-packed inputs with native bf16 dot products (vdpbf16ps); null in
  // tables of CPUs without them (bf16 attention inputs then run the float32 kernel).
  void (*flash_bf16)(const FlashBlock& blk);
};

}  // namespace sdfast::simd
