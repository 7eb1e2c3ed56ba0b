#!/usr/bin/env python3
"""Bounded load test of `sdfast serve` on loopback: REQUESTS blocking generations (each its own seed)
from CONCURRENCY client threads against a small queue. Checks every request is answered (200 or
429), no job is lost or duplicated (the seeds come back as sent; the server's job and request
counters match the client's), and RSS stays flat after warm-up. Prints requests/s, p50/p99
latency and peak RSS as one JSON line.

With --retry-429 every client waits Retry-After and sends a refused request again until it is
served (each request then ends 200; the figures are the saturated server's images/s and the latency
including the waits).

Usage: load_test.py SDFAST_BINARY MODEL_DIR [--requests N] [--concurrency C] [--steps S] [--retry-429]
"""
import argparse
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_util import Server  # noqa: E402


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("model")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--steps", type=int, default=0, help="0: the model's default")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-queue", type=int, default=6)
    ap.add_argument("--retry-429", action="store_true", help="resend refused requests after Retry-After")
    args = ap.parse_args()

    srv = Server(args.binary, args.model, "--workers", str(args.workers), "--max-queue", str(args.max_queue),
                 "--quiet")
    pid = srv.proc.pid
    results = [None] * args.requests
    rss = []  # (images answers so far, MiB)
    done = [0]
    retries = [0]  # 429s resent (--retry-429)
    lock = threading.Lock()
    stop_sampling = threading.Event()

    def sample():
        while not stop_sampling.is_set():
            with lock:
                n = done[0]
            rss.append((n, rss_mib(pid)))
            time.sleep(0.05)

    def one(i):
        body = {"prompt": "a red circle on a blue background", "seed": 1000 + i, "size": "64x64"}
        if args.steps:
            body["steps"] = args.steps
        t0 = time.monotonic()
        while True:
            try:
                status, j, h = srv.json("POST", "/v1/images/generations", body, timeout=600)
            except Exception as e:  # noqa: BLE001 - a lost request is what this test looks for
                status, j = -1, {"exception": repr(e)}
            if status != 429 or not args.retry_429:
                break
            with lock:
                retries[0] += 1
            time.sleep(float(h.get("retry-after", "1")))
        latency = time.monotonic() - t0
        seeds = j.get("sdfast", {}).get("seeds") if status == 200 else None
        results[i] = (status, latency, seeds, None if status in (200, 429) else j)
        if status == 200:
            with lock:
                done[0] += 1

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.monotonic()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(one, range(args.requests)))
    wall = time.monotonic() - t0
    stop_sampling.set()
    sampler.join()
    metrics = srv.metrics()
    rc = srv.stop()

    failures = []
    ok = [r for r in results if r[0] == 200]
    busy = [r for r in results if r[0] == 429]
    other = [(i, r) for i, r in enumerate(results) if r[0] not in (200, 429)]
    if other:
        failures.append(f"{len(other)} requests not answered 200/429, e.g. {other[:3]}")
    for i, r in enumerate(results):
        if r[0] == 200 and r[2] != [1000 + i]:
            failures.append(f"request {i} (seed {1000 + i}) got the images of seeds {r[2]}")
    jobs_ok = metrics.get('sdfast_jobs_total{state="succeeded"}', 0)
    if jobs_ok != len(ok):
        failures.append(f"the server finished {jobs_ok} jobs, the clients got {len(ok)} images answers")
    served_429 = metrics.get('sdfast_http_requests_total{route="/v1/images/generations",status="429"}', 0)
    if served_429 != len(busy) + retries[0]:
        failures.append(f"the server answered {served_429} 429s, the clients got {len(busy) + retries[0]}")
    if not ok:
        failures.append("no request succeeded")
    if rc != 0:
        failures.append(f"server exit status {rc}")

    # RSS after warm-up (a quarter of the generations, at least 3) against the end: flat within
    # 10 % + 16 MiB.
    warm = [m for n, m in rss if n >= max(3, len(ok) // 4)]
    peak = max(m for _, m in rss) if rss else 0.0
    if len(warm) >= 2:
        start, end = warm[0], max(warm[-len(warm) // 4:])
        if end > start * 1.10 + 16:
            failures.append(f"RSS grew after warm-up: {start:.1f} -> {end:.1f} MiB")
    else:
        start = end = 0.0

    lat = sorted(r[1] for r in ok)
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else 0.0  # noqa: E731
    report = {"requests": args.requests, "concurrency": args.concurrency, "ok": len(ok), "busy_429": len(busy),
              "retried_429": retries[0],
              "seconds": round(wall, 2), "requests_per_s": round(args.requests / wall, 2),
              "images_per_s": round(len(ok) / wall, 2), "p50_s": round(pct(0.50), 3), "p99_s": round(pct(0.99), 3),
              "peak_rss_mib": round(peak, 1), "rss_after_warmup_mib": round(start, 1), "rss_end_mib": round(end, 1)}
    print(json.dumps(report))
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        print("".join(srv.log[-20:]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
