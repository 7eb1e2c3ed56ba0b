#!/usr/bin/env bash
# Seeds for the fuzz harnesses, made from the vendored golden models (nothing large is committed):
#   OUT/safetensors_header/  small valid files that keep the real tensor names, dtypes and
#                            metadata of every golden .safetensors (shapes shrunk, data zeroed),
#                            the real headers cut off after the header (invalid: data missing),
#                            and hand-made edge cases (zero-size tensors, unaligned data, ...)
#   OUT/json_config/         every config.json, scheduler_config.json, tokenizer_config.json,
#                            model_index.json of the golden and demo models, plus shard indexes
#   OUT/tokenizer_files/     vocab.json NUL merges.txt: the golden CLIP files cut down to their
#                            byte-level symbols, the specials and the first merges
#   OUT/tokenizer_encode/    the golden tokenizer case's prompts and hand-made hard ones
#   OUT/server_request/      `sdfast serve` request bodies (OpenAI images, A1111 txt2img and
#                            img2img with fuzz/image_seeds/ images), edits forms, valid and
#                            hostile, and base64 texts
#   OUT/scheduler_config/    a step-count byte, then a scheduler config: every scheduler_config.json
#                            of the golden and demo models and of the scheduler golden cases
#   OUT/image_file/          fuzz/image_seeds/: tiny PNG (RGB, grey, grey+alpha, RGBA, palette with
#                            tRNS, 16-bit), JPEG (baseline, progressive, grey), WebP (lossy, lossless,
#                            alpha) files
#   OUT/lora_file/           the golden LoRA files cut to their first modules (real values), in
#                            their kohya / Diffusers layouts and renamed to PEFT with alpha metadata
#   OUT/deepcache_option/    --deepcache values, good and bad
# Usage: fuzz/make_corpus.sh OUT_DIR      (needs python3)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: fuzz/make_corpus.sh OUT_DIR}
mkdir -p "$out/safetensors_header" "$out/json_config" "$out/tokenizer_files" "$out/tokenizer_encode" \
         "$out/scheduler_config" "$out/image_file" "$out/lora_file" "$out/server_request" "$out/deepcache_option"
cp fuzz/image_seeds/* "$out/image_file/"

n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  cp "$f" "$out/json_config/$(basename "$f" .json)-$n.json"
done < <(find tests/golden/models models/demo -maxdepth 3 \
           \( -name 'config.json' -o -name 'scheduler_config.json' -o -name 'tokenizer_config.json' \
              -o -name 'model_index.json' -o -name 'special_tokens_map.json' \) -print0)

n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  { printf '\x18'; cat "$f"; } >"$out/scheduler_config/model-$n.json"
done < <(find tests/golden/models models/demo -maxdepth 3 -name 'scheduler_config.json' -print0)
n=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  { printf '\x0a'; python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["params"]["config"]))' "$f"; } \
    >"$out/scheduler_config/case-$n.json"
done < <(find tests/golden/cases -maxdepth 2 -path '*/sched-*' -name case.json -print0)

python3 - "$out" <<'PY'
import json, os, struct, sys, glob
out = sys.argv[1]
st_dir = os.path.join(out, "safetensors_header")
js_dir = os.path.join(out, "json_config")
size = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}

def write_st(path, entries, metadata=None, pad=True):
    """entries: list of (name, dtype, shape); data is zeros, offsets contiguous."""
    header, off = {}, 0
    for name, dt, shape in entries:
        n = size[dt]
        for d in shape: n *= d
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + n]}
        off += n
    if metadata is not None: header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad: text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + bytes(off))

files = sorted(glob.glob("tests/golden/models/**/*.safetensors", recursive=True))
for i, path in enumerate(files):
    raw = open(path, "rb").read(8)
    (n,) = struct.unpack("<Q", raw)
    with open(path, "rb") as f: head = f.read(8 + n)
    # The real header with no data after it (refused: offsets past the end of the file).
    if len(head) <= 65536:
        open(os.path.join(st_dir, f"header-only-{i}"), "wb").write(head)
    h = json.loads(head[8:])
    meta = h.pop("__metadata__", None)
    items = sorted(h.items(), key=lambda kv: kv[1]["data_offsets"])[:24]
    entries = [(k, v["dtype"], [min(d, 2) for d in v["shape"]]) for k, v in items]
    write_st(os.path.join(st_dir, f"golden-shrunk-{i}"), entries, meta)

write_st(os.path.join(st_dir, "edge-zero-size"), [("a", "F32", [0, 3]), ("s", "F32", []), ("b", "U8", [0])])
write_st(os.path.join(st_dir, "edge-unaligned"), [("u", "U8", [3]), ("f", "F32", [2]), ("h", "F16", [3]),
                                                   ("b", "BF16", [1]), ("d", "F64", [1])], pad=False)
write_st(os.path.join(st_dir, "edge-all-dtypes"), [(k.lower(), k, [2]) for k in size], {"format": "pt", "k": "v"})
write_st(os.path.join(st_dir, "edge-empty"), [])

for i, (index, wm) in enumerate([
        ("diffusion_pytorch_model.safetensors.index.json",
         {"conv_in.weight": "diffusion_pytorch_model-00001-of-00002.safetensors",
          "conv_in.bias": "diffusion_pytorch_model-00002-of-00002.safetensors"}),
        ("model.safetensors.index.fp16.json", {"text_model.final_layer_norm.weight": "model.fp16-00001-of-00001.safetensors"})]):
    json.dump({"metadata": {"total_size": 1234}, "weight_map": wm}, open(os.path.join(js_dir, f"shard-index-{i}.json"), "w"))

# Tokenizer files: CLIP's vocabulary lists the 256 byte symbols, their 256 '</w>' forms, then the
# result of merge i as id 512 + i, then the two specials: the first K merges keep it consistent.
tok_dir = "tests/golden/models/tiny-sd15-pipeline/tokenizer"
vocab = json.load(open(os.path.join(tok_dir, "vocab.json"), encoding="utf-8"))
merges = open(os.path.join(tok_dir, "merges.txt"), encoding="utf-8").read().split("\n")
for k in (1, 40, 300):
    sub = {t: i for t, i in vocab.items() if i < 512 + k or t.startswith("<|")}
    text = json.dumps(sub, ensure_ascii=False).encode() + b"\0" + "\n".join(merges[:k + 1]).encode() + b"\n"
    open(os.path.join(out, "tokenizer_files", f"clip-{k}-merges"), "wb").write(text)

# Prompts.
enc_dir = os.path.join(out, "tokenizer_encode")
case = json.load(open("tests/golden/cases/tokenizer-clip/case.json", encoding="utf-8"))
prompts = [c["prompt"] for c in case["cases"]] + [
    "", " ", "a photo of an astronaut riding a horse on mars",
    "<|startoftext|>a<|endoftext|>b<|endoftext|>", "&amp;amp; &lt;b&gt; &#39; &#x1F431; &nbsp;",
    "don't we'll they're I'M", "caf\u00e9 cafe\u0301 \u6771\u4eac \U0001F431\u200d\U0001F469",
    "a" * 300, "word " * 100, "\t\n  spaced\u3000out\u00a0", "12345 3.14 x2 $9.99", "\x00nul\x01ctl\x7f",
]
for i, p in enumerate(prompts):
    open(os.path.join(enc_dir, f"prompt-{i}"), "wb").write(p.encode("utf-8", "surrogatepass"))
open(os.path.join(enc_dir, "invalid-utf8"), "wb").write(b"ok \xff \xc0\x80 \xed\xa0\x80 tail")

# Server request bodies.
req_dir = os.path.join(out, "server_request")
bodies = [
    {"prompt": "a cat", "n": 2, "size": "512x512", "response_format": "b64_json", "output_format": "webp",
     "output_compression": 80, "seed": 7, "steps": 20, "guidance_scale": 7.5, "scheduler": "euler_a",
     "negative_prompt": "dog", "model": "dall-e-3"},
    {"prompt": "p", "size": "auto", "num_inference_steps": 4, "eta": 0.5},
    {"prompt": "a cat", "seed": -1, "steps": 20, "cfg_scale": 7, "width": 512, "height": 512, "batch_size": 2,
     "n_iter": 2, "sampler_name": "DPM++ 2M", "scheduler": "Karras", "restore_faces": True},
    {"prompt": "p", "n": 1000000000}, {"prompt": "p", "size": "-64x64"}, {"prompt": 5}, {"seed": 1e300},
]
for i, b in enumerate(bodies):
    open(os.path.join(req_dir, f"body-{i}.json"), "w").write(json.dumps(b))
for i, raw in enumerate([b"{not json", b"[]", b"null", b"Zm9vYmFy", b"Zm8=", b"Zm9v\nYmFy", b"{\"prompt\":\"\xff\"}"]):
    open(os.path.join(req_dir, f"raw-{i}"), "wb").write(raw)
# Edit requests with real (16x8) image files: A1111 img2img bodies (base64, data URLs) and OpenAI
# edits forms (parts NAME=CONTENT split at "\r\n--\r\n", as the harness reads them).
import base64
rgb = open("fuzz/image_seeds/rgb.png", "rb").read()
rgba = open("fuzz/image_seeds/rgba.png", "rb").read()
grey = open("fuzz/image_seeds/grey.png", "rb").read()
b64 = lambda b: base64.b64encode(b).decode()
edits = [
    {"prompt": "p", "init_images": [b64(rgb)], "denoising_strength": 0.5, "seed": 1, "steps": 4},
    {"prompt": "p", "init_images": ["data:image/png;base64," + b64(rgb)], "mask": b64(grey),
     "inpainting_mask_invert": 1, "mask_blur": 4, "inpainting_fill": 1, "width": 512, "include_init_images": True},
    {"prompt": "p", "init_images": [b64(rgb)], "mask": b64(rgba), "denoising_strength": 0},
    {"prompt": "p", "init_images": ["%%%"]}, {"prompt": "p", "init_images": []},
]
for i, b in enumerate(edits):
    open(os.path.join(req_dir, f"img2img-{i}.json"), "w").write(json.dumps(b))
sep = b"\r\n--\r\n"
forms = [
    [b"prompt=a cat", b"image=" + rgb, b"n=2", b"strength=0.6", b"seed=7", b"output_format=webp"],
    [b"prompt=p", b"image[]=" + rgb, b"mask=" + rgba, b"size=16x8", b"steps=3"],
    [b"prompt=p", b"image=" + rgb, b"mask=" + grey, b"mask_alpha=false", b"guidance_scale=4.5"],
    [b"prompt=p", b"image=" + rgb, b"mask=" + rgb],
    [b"prompt=p", b"image=not an image", b"n=x"],
]
for i, parts in enumerate(forms):
    open(os.path.join(req_dir, f"form-{i}"), "wb").write(sep.join(parts))
PY

python3 - "$out/lora_file" <<'PY'
import glob, json, os, struct, sys
out = sys.argv[1]
def read(path):
    b = open(path, "rb").read()
    (n,) = struct.unpack("<Q", b[:8])
    h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]]) for k, v in h.items()}
def write(path, tensors, metadata=None):
    header, data = {}, b""
    for k, (dt, shape, raw) in tensors.items():
        header[k] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata: header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + data)
for i, path in enumerate(sorted(glob.glob("tests/golden/cases/lora-*/*.safetensors"))):
    if os.path.basename(path) == "data.safetensors": continue
    t = read(path)
    keys = sorted(t)
    modules = sorted({k.rsplit(".lora", 1)[0].rsplit(".alpha", 1)[0] for k in keys})[:6]
    small = {k: t[k] for k in keys if any(k.startswith(m + ".") for m in modules)}
    write(os.path.join(out, f"golden-{i}"), small)
    peft = {}
    for k, v in small.items():
        for a, b in ((".lora.down.weight", ".lora_A.weight"), (".lora.up.weight", ".lora_B.weight"),
                     (".lora_linear_layer.down.weight", ".lora_A.weight"),
                     (".lora_linear_layer.up.weight", ".lora_B.weight")):
            if k.endswith(a): k = k[: -len(a)] + b
        peft[k] = v
    write(os.path.join(out, f"peft-{i}"), peft, {"lora_adapter_metadata": json.dumps({"unet.lora_alpha": 2.0})})
PY
# --deepcache values, good and bad.
i=0
for v in 3 3:0 5:4 1000:99 0 1001 3: :3 -3 "3 " 3:1:2 3:x 99999999999; do
  printf '%s' "$v" > "$out/deepcache_option/value-$i"; i=$((i + 1))
done
echo "corpus: $(ls "$out/safetensors_header" | wc -l) safetensors seeds, $(ls "$out/json_config" | wc -l) JSON seeds," \
  "$(ls "$out/tokenizer_files" | wc -l) tokenizer file seeds, $(ls "$out/tokenizer_encode" | wc -l) prompts," \
  "$(ls "$out/server_request" | wc -l) server requests in $out"
