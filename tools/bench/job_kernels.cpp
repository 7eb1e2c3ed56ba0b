// Bench jobs "attention" and "matmul": single kernels.
//
//   attention  q [batch, tokens, heads*head_dim], k/v [batch, kv_tokens, heads*head_dim] in dtype,
//              through ops::attention with the runtime's kernel (params.kernel: flash / naive).
//              rss_after_load_mb is taken with the inputs allocated, so run_peak_rss_mb minus it
//              is the kernel's working memory.
//   matmul     a plain oneDNN matmul [m, k] x [k, n] -> [m, n] f32 (src and weights in dtype,
//              weights reordered once into the layout the primitive asks for), `inner` executions
//              per timed repetition: the machine's GEMM roofline for the engine's dtypes.
//              Reports gflops (per repetition) and the implementation oneDNN chose.
#include <dnnl.hpp>

#include "bench/job.h"
#include "bench/measure.h"
#include "core/error.h"
#include "core/runtime.h"
#include "ops/attention.h"

namespace sdfast::bench::detail {

namespace {

int64_t positive(const Job& job, const char* key, int64_t limit) {
  const int64_t v = param<int64_t>(job, key);
  if (v < 1 || v > limit)
    fail_argument("bench job '", job.id, "': ", key, " must be 1..", limit, ", got ", v);
  return v;
}

DType dtype_of(const Job& job) {
  const std::string s = param<std::string>(job, "dtype");
  if (s == "f32") return DType::F32;
  if (s == "bf16") return DType::BF16;
  fail_argument("bench job '", job.id, "': dtype must be f32 or bf16, got '", s, "'");
}

}  // namespace

nlohmann::json run_attention_job(const Job& job) {
  const int64_t batch = positive(job, "batch", 64), tokens = positive(job, "tokens", 65536);
  const int64_t kv_tokens =
      job.params.contains("kv_tokens") ? positive(job, "kv_tokens", 65536) : tokens;
  const int64_t heads = positive(job, "heads", 256), head_dim = positive(job, "head_dim", 1024);
  const std::string kernel = param<std::string>(job, "kernel");
  if (kernel != "flash" && kernel != "naive")
    fail_argument("bench job '", job.id, "': kernel must be flash or naive, got '", kernel, "'");
  const uint64_t seed = param<uint64_t>(job, "seed", 0);
  RuntimeOptions ro;
  ro.threads = param<int>(job, "threads", 0);
  ro.precision = dtype_of(job);
  ro.attention = kernel == "naive" ? AttentionKernel::Naive : AttentionKernel::Flash;
  Runtime rt(ro);

  nlohmann::json result;
  Stopwatch load;
  const auto input = [&](int64_t len, uint64_t s) {
    Tensor t = Tensor::empty({batch, len, heads * head_dim}, DType::F32);
    fill_randn(t.data<float>(), t.numel(), s);
    return ro.precision == DType::F32 ? t : t.to(ro.precision);
  };
  const Tensor q = input(tokens, seed + 1), k = input(kv_tokens, seed + 2),
               v = input(kv_tokens, seed + 3);
  record_load(load.wall_s(), result);
  const auto call = [&] { ops::attention(rt, q, k, v, int(heads)); };
  time_calls(job, rt.threads(), call, call, result);
  // Q K^T and P V: 2 * batch * heads * tokens * kv_tokens * head_dim multiply-adds.
  const double flop = 4.0 * double(batch * heads) * double(tokens) * double(kv_tokens) * head_dim;
  result["gflop"] = flop * 1e-9;
  result["gflops"] = flop * 1e-9 / result["median_s"].get<double>();
  result["score_matrix_mb"] =
      double(batch * heads) * double(tokens) * double(kv_tokens) * 4.0 / (1024.0 * 1024.0);
  return result;
}

nlohmann::json run_matmul_job(const Job& job) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const int64_t m = positive(job, "m", 1 << 16), k = positive(job, "k", 1 << 16),
                n = positive(job, "n", 1 << 16);
  const int inner = int(positive(job, "inner", 100000));
  RuntimeOptions ro;
  ro.threads = param<int>(job, "threads", 0);
  ro.precision = dtype_of(job);
  Runtime rt(ro);
  // What the precision multiplies in on this kernel variant: bf16 without native bf16 products is
  // bf16 storage with float32 arithmetic, so its roofline is the float32 matmul's.
  const DType dtype = rt.compute();
  const dt in = dtype == DType::BF16 ? dt::bf16 : dt::f32;

  nlohmann::json result;
  Stopwatch load;
  const dnnl::memory::desc src_md({m, k}, in, tag::ab), plain_w_md({k, n}, in, tag::ab),
      any_w_md({k, n}, in, tag::any), dst_md({m, n}, dt::f32, tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, any_w_md, dst_md), rt.engine());
  const dnnl::matmul matmul(pd);
  const auto make = [&](int64_t rows, int64_t cols, uint64_t seed) {
    Tensor t = Tensor::empty({rows, cols}, DType::F32);
    fill_randn(t.data<float>(), t.numel(), seed);
    return dtype == DType::F32 ? t : t.to(dtype);
  };
  Tensor a = make(m, k, 1), w = make(k, n, 2), c = Tensor::empty({m, n}, DType::F32);
  dnnl::memory src(src_md, rt.engine(), a.raw_data()), dst(dst_md, rt.engine(), c.raw_data());
  dnnl::memory w_plain(plain_w_md, rt.engine(), w.raw_data());
  dnnl::memory w_packed(pd.weights_desc(), rt.engine());
  dnnl::reorder(w_plain, w_packed).execute(rt.stream(), w_plain, w_packed);
  rt.stream().wait();
  record_load(load.wall_s(), result);
  const auto call = [&] {
    for (int i = 0; i < inner; ++i)
      matmul.execute(rt.stream(),
                     {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w_packed}, {DNNL_ARG_DST, dst}});
    rt.stream().wait();
  };
  time_calls(job, rt.threads(), call, call, result);
  const double flop = 2.0 * double(m) * double(k) * double(n) * inner;
  std::vector<double> gflops;
  for (const auto& s : result["wall_s"]) gflops.push_back(flop * 1e-9 / s.get<double>());
  result["gflops"] = gflops;
  result["gflops_median"] = median(gflops);
  result["implementation"] = std::string(pd.impl_info_str()) + (rt.bf16_storage_only() ? " (bf16 storage: f32 products)" : "");
  result["shape"] = {m, k, n};
  return result;
}

}  // namespace sdfast::bench::detail
