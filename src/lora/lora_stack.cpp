// Reference: diffusers/src/diffusers/models/lora.py (LoRALinearLayer, LoRAConv2dLayer,
// LoRACompatibleLinear/Conv._fuse_lora), v0.26.3.
#include "lora/lora_stack.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "lora/lora_adapter.h"
#include "ops/dnnl_util.h"

namespace sdfast::lora {

namespace {

std::string underscored(std::string path) {
  std::replace(path.begin(), path.end(), '.', '_');
  return path;
}

// A model's layers by Diffusers path and by kohya's '_'-joined path.
struct LayerIndex {
  struct Ref {
    ops::Linear* linear = nullptr;
    ops::Conv2d* conv = nullptr;
    bool unscaled = false;  // LayerSet::unscaled
  };
  std::map<std::string, Ref> by_path;
  std::map<std::string, std::string> by_underscored;

  explicit LayerIndex(const ops::LayerSet& set) {
    for (ops::Linear* l : set.linears)
      if (!l->name().empty()) by_path[l->name()] = Ref{l, nullptr, set.unscaled.count(l) > 0};
    for (ops::Conv2d* c : set.convs)
      if (!c->name().empty()) by_path[c->name()] = Ref{nullptr, c, set.unscaled.count(c) > 0};
    for (const auto& [path, ref] : by_path) by_underscored[underscored(path)] = path;
  }
  const Ref* find(const LoraModule& m) const {
    std::string path = m.path;
    if (m.underscored) {
      auto it = by_underscored.find(m.path);
      if (it == by_underscored.end()) return nullptr;
      path = it->second;
    }
    auto it = by_path.find(path);
    return it == by_path.end() ? nullptr : &it->second;
  }
};

// Checks `m`'s matrices against the layer and brings them to the layer's form: Linear: down
// [r, in], up [out, r]; Conv2d: down [r, in, k, k], up [out, r].
void fit_to_layer(LoraModule& m, const LayerIndex::Ref& ref, const std::string& file) {
  const Shape d = m.down.shape(), u = m.up.shape();
  const int64_t r = m.rank;
  int64_t in = 0, out = 0, k = 1;
  std::string layer;
  if (ref.linear) {
    in = ref.linear->in_features();
    out = ref.linear->out_features();
    layer = "Linear '" + ref.linear->name() + "'";
  } else {
    in = ref.conv->spec().in_channels;
    out = ref.conv->spec().out_channels;
    k = ref.conv->spec().kernel;
    layer = "Conv2d '" + ref.conv->name() + "'";
  }
  const int64_t dk = d.size() == 4 ? d[2] : 1;
  if (d[1] != in || dk != k || u[0] != out)
    fail_argument("LoRA '", file, "': module '", m.key, "' does not fit ", target_name(m.target), " ", layer,
                  ": expected down [", r, ", ", in, k > 1 ? ", " + std::to_string(k) + ", " + std::to_string(k) : "",
                  "] and up [", out, ", ", r, "], got down ", shape_str(d), " and up ", shape_str(u));
  m.up = m.up.reshape({out, r});
  m.down = ref.linear ? m.down.reshape({r, in}) : m.down.reshape({r, in, k, k});
}

// w [out, n] (float32, in place) += coef * up [out, r] @ down [r, n], by oneDNN in float32.
void add_product(Runtime& rt, Tensor& w, const Tensor& up, const Tensor& down, float coef) {
  using ops::dt;
  using ops::tag;
  const int64_t out = up.dim(0), r = up.dim(1), n = down.numel() / r;
  const dnnl::memory::desc a_md({out, r}, dt::f32, tag::ab), b_md({r, n}, dt::f32, tag::ab),
      c_md({out, n}, dt::f32, tag::ab);
  dnnl::primitive_attr attr;
  attr.set_output_scales(0, {coef});
  dnnl::post_ops po;
  po.append_sum(1.0f);
  attr.set_post_ops(po);
  const auto pd = ops::make_primitive_desc("LoRA merge: up [" + std::to_string(out) + ", " + std::to_string(r) +
                                               "] @ down [" + std::to_string(r) + ", " + std::to_string(n) + "]",
                                           [&] {
                                             return dnnl::matmul::primitive_desc(
                                                 dnnl::matmul::desc(a_md, b_md, c_md), attr, rt.engine());
                                           });
  dnnl::matmul(pd).execute(rt.stream(), {{DNNL_ARG_SRC, ops::as_memory(rt, a_md, up)},
                                         {DNNL_ARG_WEIGHTS, ops::as_memory(rt, b_md, down)},
                                         {DNNL_ARG_DST, ops::as_memory(rt, c_md, w)}});
  rt.stream().wait();
}

}  // namespace

std::string LoraMatch::describe(const std::string& file) const {
  std::string s = str_cat("LoRA '", file, "': ", modules - int(unmatched.size()), " of ", modules,
                          " modules matched (unet ", unet_layers, ", text encoder ", text_encoder_layers, ")");
  if (!unmatched.empty()) {
    s += "; no layer for: ";
    for (size_t i = 0; i < unmatched.size() && i < 5; ++i) s += (i ? ", " : "") + unmatched[i];
    if (unmatched.size() > 5) s += str_cat(", ... (", unmatched.size() - 5, " more)");
  }
  return s;
}

LoraMatch LoraStack::add(Runtime& rt, LoraFile file, float scale, LoraMode mode, const LoraTargets& targets) {
  if (!std::isfinite(scale)) fail_argument("LoRA '", file.path, "': scale ", scale, " is not finite");
  const LayerIndex unet(targets.unet), text(targets.text_encoder);
  LoraMatch match;
  match.modules = int(file.modules.size());
  std::vector<std::pair<size_t, LayerIndex::Ref>> found;  // module index, layer
  for (size_t i = 0; i < file.modules.size(); ++i) {
    LoraModule& m = file.modules[i];
    const LayerIndex::Ref* ref = (m.target == LoraTarget::UNet ? unet : text).find(m);
    if (!ref) {
      match.unmatched.push_back(m.key);
      continue;
    }
    fit_to_layer(m, *ref, file.path);
    (m.target == LoraTarget::UNet ? match.unet_layers : match.text_encoder_layers) += 1;
    found.emplace_back(i, *ref);
  }
  if (found.empty()) fail_argument(match.describe(file.path), ": refused (is it a LoRA for another model?)");

  auto loaded = std::make_unique<Loaded>();
  loaded->file = std::move(file);
  loaded->scale = scale;
  loaded->mode = mode;
  std::vector<LayerState*> touched;
  for (const auto& [i, ref] : found) {
    LayerState& s = layers_[ref.linear ? static_cast<const void*>(ref.linear) : ref.conv];
    s.linear = ref.linear;
    s.conv = ref.conv;
    s.unscaled = ref.unscaled;
    s.terms.push_back(Term{loaded.get(), &loaded->file.modules[i]});
    touched.push_back(&s);
  }
  loras_.push_back(std::move(loaded));
  for (LayerState* s : touched) refresh(rt, *s);
  return match;
}

void LoraStack::set_scale(Runtime& rt, size_t index, float scale) {
  if (index >= loras_.size()) fail_argument("LoRA index ", index, " out of range (", loras_.size(), " loaded)");
  if (!std::isfinite(scale)) fail_argument("LoRA scale ", scale, " is not finite");
  const Loaded* l = loras_[index].get();
  loras_[index]->scale = scale;
  // Merged layers are merged again; unmerged ones get a new adapter (the scale is folded into it).
  for (auto& [key, s] : layers_)
    if (std::any_of(s.terms.begin(), s.terms.end(), [&](const Term& t) { return t.lora == l; })) refresh(rt, s);
}

void LoraStack::clear(Runtime& rt) {
  for (auto& [key, s] : layers_) {
    s.terms.clear();
    refresh(rt, s);
  }
  layers_.clear();
  loras_.clear();
}

size_t LoraStack::merged_layers() const {
  return size_t(std::count_if(layers_.begin(), layers_.end(), [](const auto& e) { return e.second.original.has_value(); }));
}

void LoraStack::refresh(Runtime& rt, LayerState& s) {
  std::vector<const Term*> merged, unmerged;
  for (const Term& t : s.terms) (t.lora->mode == LoraMode::Merged ? merged : unmerged).push_back(&t);

  // Merged terms: W = W_original + sum(scale * alpha/rank * up @ down), float32.
  if (merged.empty() && s.original) {
    if (s.linear) s.linear->restore_weight(std::move(*s.original));
    else s.conv->restore_weight(std::move(*s.original));
    s.original.reset();
  } else if (!merged.empty()) {
    if (s.original) {  // start again from the original, not from the last merge
      if (s.linear) s.linear->restore_weight(*s.original);
      else s.conv->restore_weight(*s.original);
    }
    Tensor w = (s.linear ? s.linear->weight(rt) : s.conv->weight(rt)).to(DType::F32).clone();
    for (const Term* t : merged)
      add_product(rt, w, t->module->up, t->module->down, t->lora->scale * t->module->alpha / float(t->module->rank));
    ops::PackedWeights previous = s.linear ? s.linear->replace_weight(rt, w) : s.conv->replace_weight(rt, w);
    if (!s.original) s.original = std::move(previous);
  }

  // Unmerged terms: one adapter for all of them (none when there are none).
  std::vector<LowRankTerm> terms;
  for (const Term* t : unmerged) {
    const LoraModule& m = *t->module;
    // Diffusers calls an unscaled layer (the time embedding) without the LoRA scale: factor 1.
    const float coef = (s.unscaled ? 1.0f : t->lora->scale) * m.alpha / float(m.rank);
    if (coef != 0) terms.push_back(LowRankTerm{m.down, m.up, coef});  // a zero term adds exactly nothing
  }
  std::shared_ptr<const LoraAdapter> adapter;
  if (!terms.empty())
    adapter = s.linear ? std::make_shared<const LoraAdapter>(rt, *s.linear, terms)
                       : std::make_shared<const LoraAdapter>(rt, *s.conv, terms);
  if (s.linear) s.linear->set_adapter(adapter);
  else s.conv->set_adapter(adapter);
}

}  // namespace sdfast::lora
