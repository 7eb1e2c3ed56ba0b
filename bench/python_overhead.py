#!/usr/bin/python3
"""Python call vs command line for the same generation (issue 15: <= 2 % overhead).

    flock /tmp/sdfast-bench.lock /usr/bin/python3 bench/python_overhead.py [--runs 5] [--steps 25]

Both sides run the bundled demo model with the same prompt, seeds (numpy PCG64 0..3), steps,
guidance and dtype. Command line: `build/sdfast generate --timings-json`, its `total_s` (the
generate() call: text encoder, denoising loop, VAE; not loading or PNG writing). Python: the
wall-clock time of `pipe(...)`, which includes the argument conversions, the numpy generator
hand-over and the PIL images. Runs alternate; medians are reported with the CPU named.
Needs PYTHONPATH=build/python (set here) and a built build/sdfast and build/python.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "python"))

import numpy as np  # noqa: E402

import sdfast  # noqa: E402

MODEL = os.path.join(ROOT, "models", "demo", "shapes-pipeline")
PROMPT = "a red circle on a blue background"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--size", type=int, default=0, help="height and width (default: the model's)")
    ap.add_argument("--dtype", default="auto")
    args = ap.parse_args()
    cli = os.path.join(ROOT, "build", "sdfast")
    info = json.loads(subprocess.run([cli, "info", "--json"], check=True, capture_output=True,
                                     text=True).stdout)
    size = ["--width", str(args.size), "--height", str(args.size)] if args.size else []

    pipe = sdfast.StableDiffusionPipeline.from_pretrained(MODEL, dtype=args.dtype)
    call = dict(prompt=PROMPT, num_inference_steps=args.steps, guidance_scale=5.0,
                num_images_per_prompt=4, height=args.size or None, width=args.size or None)
    pipe(**call, generator=[0, 1, 2, 3])  # warm-up (first-touch of the buffers, oneDNN primitives)

    cli_s, py_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            timings = os.path.join(tmp, f"t{run}.json")
            subprocess.run([cli, "generate", "--model", MODEL, "--prompt", PROMPT, "--steps", str(args.steps),
                            "--guidance", "5", "--num-images", "4", "--seed", "0", "--dtype", args.dtype,
                            "--output", os.path.join(tmp, "out"), "--timings-json", timings, "-q", *size],
                           check=True)
            with open(timings) as f:
                cli_s.append(json.load(f)["total_s"])
            generators = [np.random.Generator(np.random.PCG64(i)) for i in range(4)]
            t0 = time.perf_counter()
            pipe(**call, generator=generators)
            py_s.append(time.perf_counter() - t0)
    cli_med, py_med = statistics.median(cli_s), statistics.median(py_s)
    overhead = (py_med / cli_med - 1) * 100
    print(f"CPU: {info['cpu_model']} ({info['cpus_allowed']} CPUs allowed, kernel variant "
          f"{info['kernel_variant']}); dtype {pipe.info['dtype']}; demo model, {args.steps} steps, "
          f"4 images{', %dx%d' % (args.size, args.size) if args.size else ''}, {args.runs} runs each")
    print(f"command line generate(): {' '.join(f'{s:.3f}' for s in cli_s)} s, median {cli_med:.3f} s")
    print(f"Python pipe(...):        {' '.join(f'{s:.3f}' for s in py_s)} s, median {py_med:.3f} s")
    print(f"| Python call vs command line, same generation | {cli_med:.3f} s | {py_med:.3f} s | "
          f"{overhead:+.1f} % |")


if __name__ == "__main__":
    main()
