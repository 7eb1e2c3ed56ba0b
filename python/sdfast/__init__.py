"""sdfast: Stable Diffusion on CPUs, with Diffusers' Python API.

    from sdfast import StableDiffusionPipeline, DDIMScheduler, AutoencoderTiny
    from sdfast.utils import make_image_grid

The guide's Diffusers program runs with `diffusers` replaced by `sdfast` in its imports; numpy
generators given to a pipeline draw what numpy would draw and are advanced as numpy would advance
them. The engine is the C++ library (sdfast._sdfast); everything here is argument handling.
"""
from ._sdfast import GenerationCancelled
from .models import AutoencoderKL, AutoencoderTiny
from .pipelines import StableDiffusionPipeline, StableDiffusionPipelineOutput
from .schedulers import (DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler,
                         EulerAncestralDiscreteScheduler, EulerDiscreteScheduler,
                         HeunDiscreteScheduler, LCMScheduler, LMSDiscreteScheduler,
                         PNDMScheduler, UniPCMultistepScheduler)
from . import utils

__version__ = "0.1.0"

__all__ = [
    "AutoencoderKL", "AutoencoderTiny", "DDIMScheduler", "DDPMScheduler",
    "DPMSolverMultistepScheduler", "EulerAncestralDiscreteScheduler", "EulerDiscreteScheduler",
    "GenerationCancelled", "HeunDiscreteScheduler", "LCMScheduler", "LMSDiscreteScheduler",
    "PNDMScheduler", "StableDiffusionPipeline", "StableDiffusionPipelineOutput",
    "UniPCMultistepScheduler", "utils",
]
