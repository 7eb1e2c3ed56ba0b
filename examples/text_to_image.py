#!/usr/bin/python3
"""The Diffusers "Speed up inference" guide's program, with `from sdfast import ...` in place of
`from diffusers import ...`: half precision (bf16 on a CPU), DDIM, a swapped-in tiny autoencoder,
four images with one numpy generator each, a 2x2 grid.

    PYTHONPATH=build/python examples/text_to_image.py [MODEL_DIR [TAESD_DIR]]

Default: the bundled demo model (models/demo/shapes-pipeline).
"""
import os
import sys

import numpy as np

from sdfast import AutoencoderTiny, DDIMScheduler, StableDiffusionPipeline
from sdfast.utils import make_image_grid

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "models", "demo", "shapes-pipeline")
prompt = "a photo of an astronaut riding a horse on mars" if len(sys.argv) > 1 else \
    "a red circle on a blue background"

pipeline = StableDiffusionPipeline.from_pretrained(model, torch_dtype="float16", use_safetensors=True)
pipeline.scheduler = DDIMScheduler.from_config(pipeline.scheduler.config)
if len(sys.argv) > 2:
    pipeline.vae = AutoencoderTiny.from_pretrained(sys.argv[2])

generator = [np.random.Generator(np.random.PCG64(i)) for i in range(4)]
images = pipeline(prompt, num_inference_steps=25, num_images_per_prompt=4, generator=generator,
                  guidance_scale=7.5 if len(sys.argv) > 1 else 5.0).images
make_image_grid(images, rows=2, cols=2).save("text_to_image_grid.png")
print(f"wrote text_to_image_grid.png ({len(images)} images, {pipeline.info['dtype']}, "
      f"{pipeline.last_timings['total_s']:.2f} s)")
