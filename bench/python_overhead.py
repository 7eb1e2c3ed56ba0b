#!/usr/bin/python3
"""Python call vs command line for the same generation (issue 15: <= 2 % overhead).

    flock /tmp/sdfast-bench.lock /usr/bin/python3 bench/python_overhead.py [--runs 5] [--steps 25]

Both sides run the bundled demo model with the same prompt, seeds (numpy PCG64 0..3), steps,
guidance and dtype, each in a fresh process (load, then the first generation). Command line:
`build/sdfast generate --timings-json`, its `generate_s` (the generate() call: text encoder,
denoising loop, VAE; not loading or PNG writing). Python: the wall-clock time of `pipe(...)`, which
includes the argument conversions, the numpy generator hand-over and the PIL images. Runs
alternate; medians are reported with the CPU named. On a shared machine the two medians move with
the load; the in-run figure does not: each Python call's wall time against the engine's own
generate() time in the same call (`pipe.last_timings`), which is exactly what the Python layer adds.
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


def python_side(args):
    """One cold generation through the Python API: prints [wall s, engine generate() s, dtype]."""
    pipe = sdfast.StableDiffusionPipeline.from_pretrained(MODEL, dtype=args["dtype"], threads=args["threads"])
    size = args["size"] or None
    generators = [np.random.Generator(np.random.PCG64(i)) for i in range(4)]
    t0 = time.perf_counter()
    pipe(prompt=PROMPT, num_inference_steps=args["steps"], guidance_scale=5.0, num_images_per_prompt=4,
         height=size, width=size, generator=generators)
    wall = time.perf_counter() - t0
    print(json.dumps([wall, pipe.last_timings["total_s"], pipe.info["dtype"]]))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--python-side":
        return python_side(json.loads(sys.argv[2]))
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--size", type=int, default=0, help="height and width (default: the model's)")
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="0: all cores")
    args = ap.parse_args()
    cli = os.path.join(ROOT, "build", "sdfast")
    info = json.loads(subprocess.run([cli, "info", "--json"], check=True, capture_output=True,
                                     text=True).stdout)
    size = ["--width", str(args.size), "--height", str(args.size)] if args.size else []

    cli_s, py_s, in_run = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            timings = os.path.join(tmp, f"t{run}.json")
            subprocess.run([cli, "generate", "--model", MODEL, "--prompt", PROMPT, "--steps", str(args.steps),
                            "--guidance", "5", "--num-images", "4", "--seed", "0", "--dtype", args.dtype,
                            "--output", os.path.join(tmp, "out"), "--timings-json", timings, "-q",
                            "--threads", str(args.threads), *size],
                           check=True)
            with open(timings) as f:
                cli_s.append(json.load(f)["generate_s"])
            # the same in a fresh Python process: load, then the first call, as the CLI does
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--python-side", json.dumps(vars(args))],
                                 check=True, capture_output=True, text=True).stdout
            wall, engine, dtype = json.loads(out)
            py_s.append(wall)
            in_run.append(wall / engine - 1)
    cli_med, py_med = statistics.median(cli_s), statistics.median(py_s)
    overhead = (py_med / cli_med - 1) * 100
    print(f"CPU: {info['cpu_model']} ({info['cpus_allowed']} CPUs allowed, kernel variant "
          f"{info['kernel_variant']}); dtype {dtype}; demo model, {args.steps} steps, "
          f"4 images{', %dx%d' % (args.size, args.size) if args.size else ''}, {args.runs} runs each")
    print(f"command line generate(): {' '.join(f'{s:.3f}' for s in cli_s)} s, median {cli_med:.3f} s")
    print(f"Python pipe(...):        {' '.join(f'{s:.3f}' for s in py_s)} s, median {py_med:.3f} s")
    print(f"Python layer in each call (wall / engine generate() - 1): "
          f"{' '.join(f'{x * 100:+.2f}' for x in in_run)} %")
    print(f"| Python call vs command line, same generation | {cli_med:.3f} s | {py_med:.3f} s | "
          f"{overhead:+.1f} % | Python layer {statistics.median(in_run) * 100:+.2f} % (max "
          f"{max(in_run) * 100:+.2f} %) |")


if __name__ == "__main__":
    main()
