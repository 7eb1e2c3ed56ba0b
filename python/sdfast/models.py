"""The VAE components a pipeline can swap in: `pipe.vae = AutoencoderTiny.from_pretrained(path)`.

These hold a component folder (config.json + weights); the pipeline's engine loads it when it is
assigned, so loading errors name the folder and the weights file at that point.
"""
import json
import os

from ._options import check_from_pretrained_kwargs


class _VaeComponent:
    """A Diffusers VAE component folder (AutoencoderKL or AutoencoderTiny)."""

    def __init__(self, path):
        self.path = path

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, subfolder=None, torch_dtype=None,
                        variant=None, use_safetensors=None, **kwargs):
        # torch_dtype: the VAE runs in the pipeline's precision; variant: resolved by the engine
        # from the pipeline's own `variant` when the component is loaded.
        check_from_pretrained_kwargs(f"{cls.__name__}.from_pretrained", use_safetensors, kwargs)
        path = os.fspath(pretrained_model_name_or_path)
        if subfolder:
            path = os.path.join(path, subfolder)
        config_path = os.path.join(path, "config.json")
        if not os.path.isfile(config_path):
            raise OSError(f"{cls.__name__}.from_pretrained: '{path}' is not a component folder with a "
                          "config.json (sdfast loads local Diffusers folders; nothing is downloaded)")
        with open(config_path, encoding="utf-8") as f:
            try:
                config = json.load(f)
            except ValueError as e:
                raise ValueError(f"{config_path}: not valid JSON: {e}") from None
        found = config.get("_class_name") if isinstance(config, dict) else None
        if found != cls.__name__:
            raise ValueError(f"{cls.__name__}.from_pretrained: '{config_path}' holds a {found}, "
                             f"not a {cls.__name__}")
        vae = cls(path)
        vae.config = config
        return vae

    def __repr__(self):
        return f"{type(self).__name__}.from_pretrained({self.path!r})"


class AutoencoderKL(_VaeComponent):
    """Stable Diffusion's VAE (diffusers.AutoencoderKL)."""


class AutoencoderTiny(_VaeComponent):
    """The tiny autoencoder TAESD (diffusers.AutoencoderTiny), a drop-in VAE."""
