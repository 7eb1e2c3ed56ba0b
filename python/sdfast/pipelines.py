"""StableDiffusionPipeline with Diffusers' interface, over the C++ engine.

Reference: diffusers/src/diffusers/pipelines/stable_diffusion/pipeline_stable_diffusion.py (0.26.3):
from_pretrained, __call__'s arguments and StableDiffusionPipelineOutput.
"""
import json
import os
import warnings
from dataclasses import dataclass
from typing import Any, List, Optional

import numpy as np
from PIL import Image

from . import _generators
from ._options import check_from_pretrained_kwargs, dtype_name
from ._sdfast import Engine
from .models import AutoencoderKL, AutoencoderTiny, _VaeComponent
from .schedulers import SCHEDULERS, SchedulerMixin


@dataclass
class StableDiffusionPipelineOutput:
    images: Any  # a list of PIL images, or an NHWC float32 array (output_type="np")
    nsfw_content_detected: Optional[List[bool]] = None  # no safety checker runs: always None


def _texts(value, what):
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise TypeError(f"{what} must be a str or a list of str, got {type(value).__name__}")


class StableDiffusionPipeline:
    """Text-to-image. Load with from_pretrained(folder); call with a prompt."""

    def __init__(self, engine, path):
        self._engine = engine
        self._path = path
        self._interrupt = False
        info = engine.info()
        self._vae = (AutoencoderTiny if info["vae_class"] == "AutoencoderTiny" else AutoencoderKL)(
            os.path.join(path, "vae"))
        with open(os.path.join(path, "scheduler", "scheduler_config.json"), encoding="utf-8") as f:
            scheduler_config = json.load(f)
        self._scheduler = SCHEDULERS[info["scheduler_class"]](**scheduler_config)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, torch_dtype=None, dtype=None, variant=None,
                        use_safetensors=None, vae=None, scheduler=None, vae_dtype="", threads=0,
                        attention="flash", **kwargs):
        """Loads a Diffusers pipeline folder.

        dtype: "auto" (bf16 where the CPU multiplies bf16 natively, else f32; the default), "f32"
        or "bf16"; torch_dtype=torch.float16 / torch.bfloat16 / "float16" mean bf16, float32 f32.
        variant: None or "fp16" (the *.fp16.safetensors weights). vae=, scheduler=: components
        to use instead of the folder's. threads, attention ("flash" or "naive"), vae_dtype: sdfast's.
        """
        where = f"{cls.__name__}.from_pretrained"
        for component in ("unet", "text_encoder", "tokenizer"):
            if kwargs.get(component) is not None:
                raise ValueError(f"{where}: {component}= is not supported: sdfast loads the {component} "
                                 "from the folder (vae= and scheduler= can be given)")
            kwargs.pop(component, None)
        check_from_pretrained_kwargs(where, use_safetensors, kwargs)
        if torch_dtype is not None:
            from_torch = dtype_name(torch_dtype)
            if dtype is not None and dtype != from_torch:
                raise ValueError(f"{where}: dtype={dtype!r} and torch_dtype={torch_dtype!r} disagree")
            dtype = from_torch
        path = os.fspath(pretrained_model_name_or_path)
        try:
            engine = Engine(path, dtype=dtype or "auto", vae_dtype=vae_dtype, variant=variant or "",
                            threads=threads, attention=attention)
        except (RuntimeError, ValueError) as e:
            if not os.path.isdir(path):
                # Diffusers' error for a model it cannot find; sdfast never downloads
                raise OSError(f"{e} (sdfast loads local Diffusers folders; nothing is downloaded)") from None
            raise
        pipe = cls(engine, path)
        if vae is not None:
            pipe.vae = vae
        if scheduler is not None:
            pipe.scheduler = scheduler
        return pipe

    # Components, as Diffusers exposes them: assigning one swaps it in the engine.
    @property
    def vae(self):
        return self._vae

    @vae.setter
    def vae(self, vae):
        if not isinstance(vae, _VaeComponent):
            raise TypeError("pipe.vae: expected an AutoencoderKL or AutoencoderTiny from "
                            f"sdfast's from_pretrained, got {type(vae).__name__}")
        self._engine.set_vae(vae.path)
        self._vae = vae

    @property
    def scheduler(self):
        return self._scheduler

    @scheduler.setter
    def scheduler(self, scheduler):
        if not isinstance(scheduler, SchedulerMixin):
            raise TypeError("pipe.scheduler: expected one of sdfast's schedulers "
                            f"({', '.join(sorted(SCHEDULERS))}), got {type(scheduler).__name__}")
        self._engine.set_scheduler(type(scheduler).__name__, scheduler.config_json())
        self._scheduler = scheduler

    @property
    def device(self):
        return "cpu"

    @property
    def info(self):
        """What was loaded (classes, weight files, parameters, precision, load time)."""
        return self._engine.info()

    @property
    def interrupt(self):
        return self._interrupt

    def to(self, *args, **kwargs):
        """Devices and dtypes are not movable here: sdfast runs on the CPU in the dtype it was
        loaded with. Returns the pipeline (so `pipe = pipe.to("cuda")` keeps working), with a warning
        for anything but the CPU."""
        targets = [a for a in list(args) + list(kwargs.values()) if a is not None]
        if any(str(t) not in ("cpu", "torch.float32") for t in targets):
            warnings.warn(f"pipe.to({', '.join(map(str, targets))}): sdfast runs on the CPU in the "
                          "dtype given to from_pretrained; ignored", stacklevel=2)
        return self

    # Memory and speed switches of Diffusers with nothing to switch here: attention is already
    # memory-efficient (flash attention), the VAE decodes one image at a time, nothing is offloaded.
    def enable_attention_slicing(self, *args, **kwargs):
        pass

    def disable_attention_slicing(self):
        pass

    def enable_vae_slicing(self):
        pass

    def enable_xformers_memory_efficient_attention(self, *args, **kwargs):
        pass

    def enable_model_cpu_offload(self, *args, **kwargs):
        pass

    def set_progress_bar_config(self, **kwargs):
        pass

    def __call__(self, prompt=None, height=None, width=None, num_inference_steps=50, timesteps=None,
                 guidance_scale=7.5, negative_prompt=None, num_images_per_prompt=1, eta=0.0,
                 generator=None, latents=None, prompt_embeds=None, negative_prompt_embeds=None,
                 ip_adapter_image=None, output_type="pil", return_dict=True,
                 cross_attention_kwargs=None, guidance_rescale=0.0, clip_skip=None,
                 callback_on_step_end=None, callback_on_step_end_tensor_inputs=None,
                 generator_kind="numpy", **kwargs):
        """Generates images. Returns StableDiffusionPipelineOutput(images=...), or (images, None)
        with return_dict=False.

        generator: a numpy Generator over PCG64, a list of them (one per image), an int seed or a
        list of seeds, or None (fresh random generators). Given numpy generators end in the state
        numpy would leave them in after the same draws.
        callback_on_step_end(pipe, step_index, timestep, callback_kwargs) is called after every
        model evaluation (callback_kwargs is empty: the latents are not exposed); setting
        pipe._interrupt = True or returning False stops the run with GenerationCancelled. Ctrl-C
        stops it with KeyboardInterrupt.
        """
        unsupported = {"timesteps": timesteps, "prompt_embeds": prompt_embeds,
                       "negative_prompt_embeds": negative_prompt_embeds,
                       "ip_adapter_image": ip_adapter_image}
        for name, value in unsupported.items():
            if value is not None:
                raise ValueError(f"{name} is not supported by sdfast's StableDiffusionPipeline")
        if cross_attention_kwargs:
            raise ValueError("cross_attention_kwargs is not supported by sdfast (LoRA scales and "
                             "attention processors are not available)")
        if guidance_rescale != 0.0:
            raise ValueError("guidance_rescale is not supported by sdfast")
        if callback_on_step_end_tensor_inputs:
            raise ValueError("callback_on_step_end_tensor_inputs: sdfast's callback does not receive "
                             "tensors (callback_kwargs is empty)")
        if "callback" in kwargs or "callback_steps" in kwargs:
            raise ValueError("callback/callback_steps (deprecated in Diffusers) are not supported; "
                             "use callback_on_step_end")
        if kwargs:
            raise TypeError(f"unexpected keyword argument(s) {', '.join(sorted(kwargs))}")
        if output_type not in ("pil", "np", "latent"):
            raise ValueError(f"output_type must be 'pil', 'np' or 'latent', got {output_type!r}")
        if prompt is None:
            raise ValueError("a prompt is required (prompt_embeds are not supported)")
        prompts = _texts(prompt, "prompt")
        negative = [] if negative_prompt is None else _texts(negative_prompt, "negative_prompt")
        if not isinstance(num_images_per_prompt, int) or isinstance(num_images_per_prompt, bool):
            raise TypeError("num_images_per_prompt must be an int")
        images = len(prompts) * max(num_images_per_prompt, 1)
        gen = _generators.plan(generator, images, generator_kind)
        if latents is not None:
            if type(latents).__module__.startswith("torch"):
                latents = latents.detach().cpu().numpy()
            latents = np.ascontiguousarray(latents, dtype=np.float32)

        self._interrupt = False
        step_callback = None
        if callback_on_step_end is not None:
            def step_callback(step, total, timestep):
                t = int(timestep) if float(timestep).is_integer() else timestep
                result = callback_on_step_end(self, step - 1, t, {})
                return not self._interrupt and result is not False

        out = self._engine.generate(
            prompts=prompts, negative_prompts=negative, num_inference_steps=num_inference_steps,
            guidance_scale=guidance_scale, height=height or 0, width=width or 0,
            num_images_per_prompt=num_images_per_prompt, seeds=gen.seeds,
            generator_states=gen.states, generator=generator_kind, latents=latents, eta=eta,
            clip_skip=clip_skip or 0, float_images=output_type == "np",
            return_latents=output_type == "latent", callback=step_callback)
        gen.advance(out["generator_states"])
        for w in out["warnings"]:
            warnings.warn(w, stacklevel=2)
        self.last_timings = out["timings"]

        if output_type == "np":
            result = out["float_images"]
        elif output_type == "latent":
            result = out["latents"]
        else:
            result = [Image.fromarray(a) for a in out["images"]]
        if not return_dict:
            return (result, None)
        return StableDiffusionPipelineOutput(images=result)
