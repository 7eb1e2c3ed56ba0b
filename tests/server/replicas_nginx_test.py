#!/usr/bin/env python3
"""Two `sdfast serve` replicas behind Debian's nginx, all on loopback ports, nginx started by this
test with a configuration in a temporary folder (no root paths). Checks that both replicas serve
requests, and that killing one (SIGKILL) while requests are in flight loses none: nginx retries the
requests the dead replica had accepted on the other one (image requests are deterministic for a
seed, so they may be retried: proxy_next_upstream ... non_idempotent).

Usage: replicas_nginx_test.py SDFAST_BINARY MODEL_DIR     (exit 77 when nginx is not installed)
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_util import HOST, Server, request, wait_until  # noqa: E402

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log {tmp}/access.log;
  client_body_temp_path {tmp}/client_body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  upstream sdfast {{
    server {host}:{port_a} max_fails=1 fail_timeout=30s;
    server {host}:{port_b} max_fails=1 fail_timeout=30s;
  }}
  server {{
    listen {host}:{port};
    client_max_body_size 8m;
    location / {{
      proxy_pass http://sdfast;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 600s;
      # A replica that dies or refuses (stopping): try the other, POSTs included.
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 2;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def main():
    binary, model = sys.argv[1], sys.argv[2]
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if not nginx:
        print("SKIPPED: nginx is not installed (apt-get install nginx)")
        return 77
    tmp = tempfile.mkdtemp(prefix="sdfast-nginx-")
    a = Server(binary, model, "--workers", "1", "--max-queue", "32", "--quiet")
    b = Server(binary, model, "--workers", "1", "--max-queue", "32", "--quiet")
    port = free_port()
    with open(os.path.join(tmp, "nginx.conf"), "w") as f:
        f.write(NGINX_CONF.format(tmp=tmp, host=HOST, port=port, port_a=a.port, port_b=b.port))
    proc = subprocess.Popen([nginx, "-p", tmp, "-c", os.path.join(tmp, "nginx.conf"), "-e", os.path.join(tmp, "error.log")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    failures = []
    try:
        wait_until(lambda: _up(port), 30, "nginx to listen")

        def gen(seed):
            body = '{"prompt":"a green triangle","seed":%d,"steps":3,"size":"64x64"}' % seed
            try:
                status, h, data = request(port, "POST", "/v1/images/generations", body,
                                          {"Content-Type": "application/json"}, timeout=600)
                return status, h.get("x-upstream", ""), data
            except OSError as e:
                return -1, "", repr(e).encode()

        # 1. Both replicas serve.
        with ThreadPoolExecutor(4) as pool:
            first = list(pool.map(gen, range(8)))
        bad = [r for r in first if r[0] != 200]
        if bad:
            failures.append(f"before the kill: {len(bad)} of 8 failed: {bad[0][0]} {bad[0][2][:200]!r}")
        upstreams = {r[1].split(",")[-1].strip() for r in first if r[0] == 200}
        if len(upstreams) < 2:
            failures.append(f"only {upstreams} served (want both replicas)")

        # 2. Kill replica A (SIGKILL) while 12 requests are in flight or queued on both.
        results = []
        with ThreadPoolExecutor(12) as pool:
            futures = [pool.submit(gen, 100 + i) for i in range(12)]
            wait_until(lambda: _busy(a.port), 120, "replica A to run a job", interval=0.01)
            a.proc.kill()
            results = [f.result() for f in futures]
        lost = [r for r in results if r[0] != 200]
        if lost:
            failures.append(f"after killing replica A: {len(lost)} of 12 requests failed, e.g. {lost[0][0]} {lost[0][2][:200]!r}")
        retried = [r for r in results if "," in r[1]]  # nginx lists every upstream it tried
        print(f"replicas: before the kill served by {sorted(upstreams)}; after: {len(results) - len(lost)}/12 "
              f"answered 200, {len(retried)} retried on replica B after A died")
        if not retried:
            failures.append("no request was retried on replica B (A had none in flight?)")
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        a.kill()
        rc_b = b.stop()
        if rc_b != 0:
            failures.append(f"replica B exit status {rc_b}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        print(open(os.path.join(tmp, "error.log")).read()[-3000:], file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _up(port):
    try:
        return request(port, "GET", "/health", timeout=5)[0] == 200
    except OSError:
        return False


def _busy(port):
    try:
        status, _, data = request(port, "GET", "/sdapi/v1/progress", timeout=5)
        return status == 200 and b'"job_count":0' not in data
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
