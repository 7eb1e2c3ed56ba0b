// Reference: diffusers/models/attention_processor.py (AttnProcessor, AttnProcessor2_0);
// the flash formulation follows Dao et al., "FlashAttention" (online softmax over key blocks).
#include "ops/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ops/attention_flash_avx512.h"
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

constexpr int64_t kBlockQ = 32;
constexpr int64_t kBlockK = 128;

}  // namespace

Tensor attention(Runtime& rt, const Tensor& q, const Tensor& k, const Tensor& v, int heads,
                 bool causal) {
  return rt.options().attention == AttentionKernel::Naive
             ? attention_naive(rt, q, k, v, heads, causal)
             : attention_flash(rt, q, k, v, heads, causal);
}

Tensor attention_flash(Runtime& rt, const Tensor& q, const Tensor& k, const Tensor& v, int heads,
                       bool causal) {
  const Dims s = check_inputs(q, k, v, heads);
#if defined(__AVX512F__)
  Tensor out = Tensor::empty({s.b, s.lq, s.h * s.d}, q.dtype());
  if (avx512::flash_attention(q, k, v, out, heads, causal)) return out;
#endif
  return attention_flash_portable(rt, q, k, v, heads, causal);
}

Tensor attention_flash_portable(Runtime& rt, const Tensor& q, const Tensor& k, const Tensor& v,
                                int heads, bool causal) {
  const Dims s = check_inputs(q, k, v, heads);
  const int64_t hd = s.h * s.d;
  Tensor out = Tensor::empty({s.b, s.lq, hd}, q.dtype());
  const float scale = float(1.0 / std::sqrt(double(s.d)));
  const int64_t q_blocks = (s.lq + kBlockQ - 1) / kBlockQ;
  dispatch_float(q.dtype(), [&](auto in_tag) {
    using TI = decltype(in_tag);
    dispatch_float(out.dtype(), [&](auto out_tag) {
      using TO = decltype(out_tag);
      const TI* qp = q.data<TI>();
      const TI* kp = k.data<TI>();
      const TI* vp = v.data<TI>();
      TO* op = out.data<TO>();
#pragma omp parallel
      {
        std::vector<float> qs(size_t(kBlockQ * s.d)), o(size_t(kBlockQ * s.d));
        std::vector<float> kb(size_t(kBlockK * s.d)), vb(size_t(kBlockK * s.d));
        std::vector<float> sc(size_t(kBlockQ * kBlockK)), m(kBlockQ), l(kBlockQ);
#pragma omp for collapse(3) schedule(dynamic)
        for (int64_t b = 0; b < s.b; ++b) {
          for (int64_t h = 0; h < s.h; ++h) {
            for (int64_t qb = 0; qb < q_blocks; ++qb) {
              const int64_t q0 = qb * kBlockQ, nq = std::min(kBlockQ, s.lq - q0);
              for (int64_t i = 0; i < nq; ++i)
                for (int64_t d = 0; d < s.d; ++d)
                  qs[size_t(i * s.d + d)] = load(qp, (b * s.lq + q0 + i) * hd + h * s.d + d) * scale;
              std::fill(o.begin(), o.end(), 0.0f);
              std::fill(m.begin(), m.end(), -std::numeric_limits<float>::infinity());
              std::fill(l.begin(), l.end(), 0.0f);
              const int64_t k_end = causal ? std::min(s.lk, q0 + nq) : s.lk;
              for (int64_t k0 = 0; k0 < k_end; k0 += kBlockK) {
                const int64_t nk = std::min(kBlockK, k_end - k0);
                for (int64_t j = 0; j < nk; ++j) {
                  const int64_t row = (b * s.lk + k0 + j) * hd + h * s.d;
                  for (int64_t d = 0; d < s.d; ++d) {
                    kb[size_t(j * s.d + d)] = load(kp, row + d);
                    vb[size_t(j * s.d + d)] = load(vp, row + d);
                  }
                }
                for (int64_t i = 0; i < nq; ++i) {
                  float* srow = &sc[size_t(i * kBlockK)];
                  const float* qi = &qs[size_t(i * s.d)];
                  float mx = m[size_t(i)];
                  for (int64_t j = 0; j < nk; ++j) {
                    const float* kj = &kb[size_t(j * s.d)];
                    float acc = 0;
#pragma omp simd reduction(+ : acc)
                    for (int64_t d = 0; d < s.d; ++d) acc += qi[d] * kj[d];
                    if (causal && k0 + j > q0 + i) acc = -std::numeric_limits<float>::infinity();
                    srow[j] = acc;
                    mx = std::max(mx, acc);
                  }
                  const float alpha = std::exp(m[size_t(i)] - mx);  // exp(-inf) = 0 on the first block
                  float sum = 0;
                  for (int64_t j = 0; j < nk; ++j) {
                    const float p = std::exp(srow[j] - mx);
                    srow[j] = p;
                    sum += p;
                  }
                  l[size_t(i)] = l[size_t(i)] * alpha + sum;
                  m[size_t(i)] = mx;
                  float* oi = &o[size_t(i * s.d)];
                  for (int64_t d = 0; d < s.d; ++d) oi[d] *= alpha;
                  for (int64_t j = 0; j < nk; ++j) {
                    const float p = srow[j];
                    const float* vj = &vb[size_t(j * s.d)];
#pragma omp simd
                    for (int64_t d = 0; d < s.d; ++d) oi[d] += p * vj[d];
                  }
                }
              }
              for (int64_t i = 0; i < nq; ++i) {
                const float inv = 1.0f / l[size_t(i)];
                for (int64_t d = 0; d < s.d; ++d)
                  store(op, (b * s.lq + q0 + i) * hd + h * s.d + d, o[size_t(i * s.d + d)] * inv);
              }
            }
          }
        }
      }
    });
  });
  return out;
}

Tensor attention_naive(Runtime& rt, const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                       int heads, bool causal) {
  const Dims s = check_inputs(q_in, k_in, v_in, heads);
  const DType act = q_in.dtype();
  const Tensor q = q_in, k = k_in.to(act), v = v_in.to(act);
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
  return out;
}

}  // namespace sdfast::ops
