"""Diffusers' loading arguments: which are honoured, which are harmless here, which are refused."""
import warnings

# Arguments of Diffusers' from_pretrained that change nothing for a local folder on a CPU.
HARMLESS = frozenset({
    "cache_dir", "force_download", "resume_download", "proxies", "local_files_only", "token",
    "use_auth_token", "revision", "low_cpu_mem_usage", "requires_safety_checker",
    "feature_extractor", "use_onnx", "output_loading_info", "mirror",
})


def check_from_pretrained_kwargs(where, use_safetensors, kwargs):
    """Refuses what cannot be honoured; warns about a safety checker that will not run."""
    if use_safetensors is False:
        raise ValueError(f"{where}: use_safetensors=False is not supported: sdfast reads only "
                         ".safetensors weights (pickle files can run code when loaded)")
    if kwargs.get("device_map") not in (None, "cpu"):
        raise ValueError(f"{where}: device_map={kwargs['device_map']!r}: sdfast runs on the CPU")
    if kwargs.get("safety_checker") is not None:
        warnings.warn(f"{where}: sdfast does not run safety checkers; safety_checker is ignored",
                      stacklevel=3)
    unknown = sorted(set(kwargs) - HARMLESS - {"device_map", "safety_checker"})
    if unknown:
        raise TypeError(f"{where}: unexpected keyword argument(s) {', '.join(unknown)}")


def dtype_name(torch_dtype):
    """torch.float16 / "float16" / numpy.float16 ... -> the engine's "bf16" or "f32".

    Half precision on a CPU is bfloat16 (float16 has no fast CPU arithmetic): float16 and
    bfloat16 both mean bf16 weights and matrix inputs with float32 accumulation.
    """
    if isinstance(torch_dtype, str):
        name = torch_dtype
    else:
        name = getattr(torch_dtype, "__name__", None) or str(torch_dtype)
    name = name.replace("torch.", "").replace("numpy.", "")
    if name in ("float16", "half", "bfloat16", "fp16", "bf16"):
        return "bf16"
    if name in ("float32", "float", "fp32", "f32"):
        return "f32"
    raise ValueError(f"torch_dtype={torch_dtype!r}: sdfast runs in float32 or bfloat16 "
                     "(torch.float16 and torch.bfloat16 mean bfloat16)")
