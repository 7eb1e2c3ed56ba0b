"""Errors become Python exceptions carrying the engine's message; runs can be stopped."""
import os
import threading
import time
import _thread

import numpy as np
import pytest

from conftest import SD15

import sdfast
from sdfast import StableDiffusionPipeline

SMALL = dict(prompt="a red circle", num_inference_steps=3, guidance_scale=1.0, height=64, width=64,
             generator=0)


def test_bad_path_is_an_oserror_with_the_engines_message(tmp_path):
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(OSError, match="no-such-model.*nothing is downloaded") as e:
        StableDiffusionPipeline.from_pretrained(missing)
    assert "does not exist" in str(e.value) or "not found" in str(e.value)


def test_a_folder_that_is_not_a_pipeline(tmp_path):
    (tmp_path / "model_index.json").write_text("{ not json")
    with pytest.raises((ValueError, RuntimeError), match="model_index.json"):
        StableDiffusionPipeline.from_pretrained(str(tmp_path))


def test_bad_dtype_is_the_engines_message():
    with pytest.raises(ValueError, match="dtype must be auto, f32 or bf16, got 'f16'"):
        StableDiffusionPipeline.from_pretrained(SD15, dtype="f16")


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(torch_dtype="int8"), ValueError, "torch_dtype='int8'"),
    (dict(torch_dtype="float16", dtype="f32"), ValueError, "disagree"),
    (dict(use_safetensors=False), ValueError, "only .safetensors"),
    (dict(device_map="cuda"), ValueError, "device_map='cuda'"),
    (dict(unet=object()), ValueError, "unet= is not supported"),
    (dict(no_such_argument=1), TypeError, "no_such_argument"),
])
def test_from_pretrained_refuses_what_it_cannot_honour(kwargs, error, words):
    with pytest.raises(error, match=words):
        StableDiffusionPipeline.from_pretrained(SD15, **kwargs)


def test_harmless_diffusers_arguments_are_accepted(recwarn):
    pipe = StableDiffusionPipeline.from_pretrained(SD15, torch_dtype="float32", safety_checker=None,
                                                   requires_safety_checker=False, low_cpu_mem_usage=True,
                                                   local_files_only=True, use_safetensors=True)
    assert pipe.info["dtype"] == "f32"
    assert pipe.to("cpu") is pipe
    with pytest.warns(UserWarning, match="runs on the CPU"):
        assert pipe.to("cuda") is pipe


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(height=100), ValueError, "height must be a positive multiple of 8"),
    (dict(num_inference_steps=0), ValueError, "num_inference_steps must be between 1 and 1000, got 0"),
    (dict(guidance_scale=float("nan")), ValueError, "guidance_scale must be a finite number"),
    (dict(eta=2.0), ValueError, "eta must be between 0 and 1"),
    (dict(prompt=3), TypeError, "prompt must be a str"),
    (dict(output_type="pt"), ValueError, "output_type"),
    (dict(latents=np.zeros((1, 4, 4, 4), np.float32)), ValueError, "latents: expected 256 values"),
    (dict(prompt_embeds=np.zeros((1, 77, 32))), ValueError, "prompt_embeds is not supported"),
    (dict(generator_kind="cuda"), ValueError, "generator_kind must be numpy or torch, got 'cuda'"),
])
def test_bad_call_arguments(sd15, kwargs, error, words):
    with pytest.raises(error, match=words):
        sd15(**{**SMALL, **kwargs})


def test_bad_scheduler_config_value_is_the_engines_message(sd15):
    original = sd15.scheduler
    bad = sdfast.DDIMScheduler.from_config(original.config, beta_schedule="wiggly")
    with pytest.raises(ValueError, match="scheduler config given for DDIMScheduler.*'wiggly'"):
        sd15.scheduler = bad
    assert sd15.scheduler is original and sd15.info["scheduler_class"] == "PNDMScheduler"
    with pytest.raises(TypeError, match="expected one of sdfast's schedulers"):
        sd15.scheduler = "DDIMScheduler"


def test_vae_errors(tmp_path, sd15):
    with pytest.raises(OSError, match="nothing is downloaded"):
        sdfast.AutoencoderTiny.from_pretrained(str(tmp_path / "taesd"))
    with pytest.raises(ValueError, match="holds a AutoencoderKL, not a AutoencoderTiny"):
        sdfast.AutoencoderTiny.from_pretrained(SD15, subfolder="vae")
    with pytest.raises(TypeError, match="pipe.vae"):
        sd15.vae = "taesd"


def test_callback_progress_and_stop(sd15):
    seen = []

    def progress(pipe, step, timestep, kwargs):
        assert pipe is sd15 and kwargs == {}
        seen.append((step, timestep))
        return kwargs

    sd15(**SMALL, callback_on_step_end=progress)
    assert [s for s, _ in seen] == list(range(len(seen))) and len(seen) >= 3

    def interrupt(pipe, step, timestep, kwargs):
        pipe._interrupt = True
        return kwargs

    with pytest.raises(sdfast.GenerationCancelled, match="cancelled"):
        sd15(**SMALL, callback_on_step_end=interrupt)
    assert issubclass(sdfast.GenerationCancelled, RuntimeError)


def test_an_exception_in_the_callback_propagates(sd15):
    def boom(pipe, step, timestep, kwargs):
        raise ZeroDivisionError("from the callback")

    with pytest.raises(ZeroDivisionError, match="from the callback"):
        sd15(**SMALL, callback_on_step_end=boom)
    assert len(sd15(**SMALL).images) == 1  # still usable


def test_ctrl_c_stops_a_run(sd15):
    # SIGINT as Ctrl-C delivers it, while the engine runs (no callback given): a 500-step run is
    # stopped at the next step with KeyboardInterrupt.
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            sd15(**{**SMALL, "num_inference_steps": 500})
    finally:
        timer.cancel()
    elapsed = time.monotonic() - start
    full = time.monotonic()
    sd15(**{**SMALL, "num_inference_steps": 50})
    # stopped well before the end: 500 steps take ten times as long as these 50
    assert elapsed < 0.5 + 2 * (time.monotonic() - full), elapsed
    assert len(sd15(**SMALL).images) == 1


def test_the_gil_is_released_while_the_engine_runs(sd15):
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        start = time.monotonic()
        sd15(**{**SMALL, "num_inference_steps": 60})
        elapsed = time.monotonic() - start
    finally:
        stop.set()
        t.join()
    # With the GIL held while the engine runs, the thread could not tick at all during the run
    # (about a second and a half here): only before and after it.
    print(f"{len(ticks)} ticks in {elapsed:.3f} s")
    assert len(ticks) > 50, (len(ticks), elapsed)
