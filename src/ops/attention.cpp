// Reference: diffusers/models/attention_processor.py (AttnProcessor, AttnProcessor2_0);
// the flash formulation follows Dao et al., "FlashAttention" (online softmax over key blocks).
#include "ops/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/dnnl_util.h"
#include "ops/elem.h"

namespace sdfast::ops {

namespace {

struct Dims {
  int64_t b, lq, lk, h, d;
};

Dims check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, int heads) {
  SDFAST_CHECK(q.ndim() == 3 && k.ndim() == 3 && v.ndim() == 3, "attention: q, k, v must be 3-d, got ",
               q.describe(), ", ", k.describe(), ", ", v.describe());
  SDFAST_CHECK(heads > 0 && q.dim(2) % heads == 0, "attention: ", q.dim(2),
               " features cannot be split into ", heads, " heads");
  SDFAST_CHECK(k.shape() == v.shape() && k.dim(0) == q.dim(0) && k.dim(2) == q.dim(2),
               "attention: shapes do not agree: q ", q.describe(), ", k ", k.describe(), ", v ",
               v.describe());
  SDFAST_CHECK(q.dtype() == k.dtype() && k.dtype() == v.dtype(), "attention: mixed dtypes");
  return {q.dim(0), q.dim(1), k.dim(1), heads, q.dim(2) / heads};
}

}  // namespace

Tensor attention(Runtime& rt, const Tensor& q, const Tensor& k, const Tensor& v, int heads,
                 bool causal) {
  return rt.options().attention == AttentionKernel::Naive
             ? attention_naive(rt, q, k, v, heads, causal)
             : attention_flash(rt, q, k, v, heads, causal);
}

namespace {

// Flash attention: per task (batch b, head h, a range of query rows), K and V of that head are
// packed once into the layouts the block kernels stream (simd/kernels.h), then query blocks of
// kFlashQ rows run against all keys with an online softmax. `Elem` is the packed element: float
// for the float32 kernel, uint16_t (bf16 bits) for the native bf16 one.
template <class T, class Elem>
void flash_run(const simd::Kernels& kern, const T* q, const T* k, const T* v, T* out, const Dims& s,
               bool causal) {
  using simd::kFlashK;
  using simd::kFlashQ;
  constexpr bool kBf16 = std::is_same_v<Elem, uint16_t>;
  const auto block_kernel = kBf16 ? kern.flash_bf16 : kern.flash_f32;
  const int64_t hd = s.h * s.d;
  const int64_t dp = (s.d + 15) / 16 * 16;  // V/O rows: whole vectors of every width
  const int64_t dq = (s.d + 1) / 2 * 2;     // Q/K reduction length: whole bf16 pairs
  const int64_t lkp = (s.lk + kFlashK - 1) / kFlashK * kFlashK;
  constexpr int64_t kTaskRows = 256;
  const int64_t chunks = (s.lq + kTaskRows - 1) / kTaskRows;
  const int64_t tasks = s.b * s.h * chunks;
  const auto pack = [](T x) -> Elem {
    if constexpr (kBf16) {
      if constexpr (std::is_same_v<T, bf16_t>) return x.bits;
      else return f32_to_bf16(x);
    } else {
      return load(&x, 0);
    }
  };
#pragma omp parallel
  {
    std::vector<Elem> kbuf(size_t(dq * lkp)), vbuf(size_t(dp * lkp)), qbuf(size_t(kFlashQ * dq));
    std::vector<float> sbuf(size_t(kFlashQ * kFlashK)), obuf(size_t(kFlashQ * dp));
    std::vector<Elem> pbuf(size_t(kFlashQ * kFlashK));
    std::vector<float> m(kFlashQ), l(kFlashQ), alpha(kFlashQ);
    int64_t packed_bh = -1;
#pragma omp for schedule(dynamic)
    for (int64_t t = 0; t < tasks; ++t) {
      const int64_t bh = t / chunks, chunk = t % chunks;
      const int64_t b = bh / s.h, h = bh % s.h;
      const int64_t q_begin = chunk * kTaskRows, q_end = std::min(s.lq, q_begin + kTaskRows);
      if (packed_bh != bh) {  // K and V of this (b, h), zero padded
        std::fill(kbuf.begin(), kbuf.end(), Elem{});
        std::fill(vbuf.begin(), vbuf.end(), Elem{});
        for (int64_t j = 0; j < s.lk; ++j) {
          const T* krow = k + (b * s.lk + j) * hd + h * s.d;
          const T* vrow = v + (b * s.lk + j) * hd + h * s.d;
          for (int64_t d = 0; d < s.d; ++d) {
            if constexpr (kBf16) {
              kbuf[size_t(((d / 2) * lkp + j) * 2 + d % 2)] = pack(krow[d]);
              vbuf[size_t(((j / 2) * dp + d) * 2 + j % 2)] = pack(vrow[d]);
            } else {
              kbuf[size_t(d * lkp + j)] = pack(krow[d]);
              vbuf[size_t(j * dp + d)] = pack(vrow[d]);
            }
          }
        }
        packed_bh = bh;
      }
      for (int64_t q0 = q_begin; q0 < q_end; q0 += kFlashQ) {
        const int64_t nq = std::min(kFlashQ, q_end - q0);
        std::fill(qbuf.begin(), qbuf.end(), Elem{});
        for (int64_t i = 0; i < nq; ++i)
          for (int64_t d = 0; d < s.d; ++d) qbuf[size_t(i * dq + d)] = pack(q[(b * s.lq + q0 + i) * hd + h * s.d + d]);
        simd::FlashBlock blk{};
        blk.q = qbuf.data();
        blk.k = kbuf.data();
        blk.v = vbuf.data();
        blk.d = s.d;
        blk.dq = dq;
        blk.dp = dp;
        blk.lkp = lkp;
        blk.nq = nq;
        blk.q0 = q0;
        blk.k_end = causal ? std::min(s.lk, q0 + nq) : s.lk;
        blk.causal = causal;
        blk.o = obuf.data();
        blk.s = sbuf.data();
        blk.p = pbuf.data();
        blk.m = m.data();
        blk.l = l.data();
        blk.alpha = alpha.data();
        block_kernel(blk);
        for (int64_t i = 0; i < nq; ++i) {
          T* orow = out + (b * s.lq + q0 + i) * hd + h * s.d;
          for (int64_t d = 0; d < s.d; ++d) store(orow, d, obuf[size_t(i * dp + d)]);
        }
      }
    }
  }
}

}  // namespace

Tensor attention_flash(Runtime& rt, const Tensor& q, const Tensor& k, const Tensor& v, int heads,
                       bool causal) {
  const Dims s = check_inputs(q, k, v, heads);
  Tensor out = Tensor::empty({s.b, s.lq, s.h * s.d}, q.dtype());
  if (out.numel() == 0) return out;
  const simd::Kernels& kern = rt.kernels();
  dispatch_float(q.dtype(), [&](auto tag_v) {
    using T = decltype(tag_v);
    // bf16 inputs use the native bf16 kernel where the CPU has one, the float32 kernel otherwise.
    if constexpr (std::is_same_v<T, bf16_t>) {
      if (kern.flash_bf16) {
        flash_run<T, uint16_t>(kern, q.data<T>(), k.data<T>(), v.data<T>(), out.data<T>(), s, causal);
        return;
      }
    }
    flash_run<T, float>(kern, q.data<T>(), k.data<T>(), v.data<T>(), out.data<T>(), s, causal);
  });
  return out;
}

Tensor attention_naive(Runtime& rt, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                       int heads, bool causal) {
  const Dims s = check_inputs(q_in, k_in, v_in, heads);
  // bf16 inputs multiply in bf16 where that is native, in float32 otherwise (bf16 storage).
  const DType act = q_in.dtype() == DType::BF16 && rt.compute() == DType::BF16 ? DType::BF16 : DType::F32;
  const Tensor q = q_in.to(act), k = k_in.to(act), v = v_in.to(act);
  const int64_t hd = s.h * s.d;
  const auto t = to_dnnl(act);
  // scores[b, h, i, j] = sum_d q[b, i, h, d] * k[b, j, h, d] / sqrt(D)
  Tensor scores = Tensor::empty({s.b, s.h, s.lq, s.lk}, DType::F32);
  {
    dnnl::memory::desc q_md({s.b, s.h, s.lq, s.d}, t, {s.lq * hd, s.d, hd, 1});
    dnnl::memory::desc k_md({s.b, s.h, s.d, s.lk}, t, {s.lk * hd, s.d, 1, hd});
    dnnl::memory::desc s_md({s.b, s.h, s.lq, s.lk}, dt::f32, tag::abcd);
    dnnl::primitive_attr attr;
    attr.set_output_scales(0, {float(1.0 / std::sqrt(double(s.d)))});
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(q_md, k_md, s_md), attr, rt.engine());
    dnnl::matmul(pd).execute(rt.stream(), {{DNNL_ARG_SRC, as_memory(rt, q_md, q)},
                                           {DNNL_ARG_WEIGHTS, as_memory(rt, k_md, k)},
                                           {DNNL_ARG_DST, as_memory(rt, s_md, scores)}});
    rt.stream().wait();
  }
  // Row softmax (with the causal mask), written in the activation dtype for the second matmul.
  Tensor probs = Tensor::empty({s.b, s.h, s.lq, s.lk}, act);
  dispatch_float(act, [&](auto tag_v) {
    using T = decltype(tag_v);
    const float* sp = scores.data<float>();
    T* pp = probs.data<T>();
    const int64_t rows = s.b * s.h * s.lq;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t i = r % s.lq;
      const int64_t valid = causal ? std::min(s.lk, i + 1) : s.lk;
      const float* row = sp + r * s.lk;
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < valid; ++j) mx = std::max(mx, row[j]);
      float sum = 0;
      for (int64_t j = 0; j < valid; ++j) sum += std::exp(row[j] - mx);
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < s.lk; ++j) store(pp + r * s.lk, j, j < valid ? std::exp(row[j] - mx) * inv : 0.0f);
    }
  });
  scores = Tensor();
  // out[b, i, h, d] = sum_j probs[b, h, i, j] * v[b, j, h, d]
  Tensor out = Tensor::empty({s.b, s.lq, hd}, act);
  {
    dnnl::memory::desc p_md({s.b, s.h, s.lq, s.lk}, t, tag::abcd);
    dnnl::memory::desc v_md({s.b, s.h, s.lk, s.d}, t, {s.lk * hd, s.d, hd, 1});
    dnnl::memory::desc o_md({s.b, s.h, s.lq, s.d}, t, {s.lq * hd, s.d, hd, 1});
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p_md, v_md, o_md), rt.engine());
    dnnl::matmul(pd).execute(rt.stream(), {{DNNL_ARG_SRC, as_memory(rt, p_md, probs)},
                                           {DNNL_ARG_WEIGHTS, as_memory(rt, v_md, v)},
                                           {DNNL_ARG_DST, as_memory(rt, o_md, out)}});
    rt.stream().wait();
  }
  return out.dtype() == q_in.dtype() ? out : out.to(q_in.dtype());
}

}  // namespace sdfast::ops
