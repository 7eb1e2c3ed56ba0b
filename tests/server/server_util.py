"""Helpers for the `sdfast serve` tests: start a server on a loopback port, talk HTTP to it.

Every test talks to 127.0.0.1 only; every wait is bounded.
"""
import base64
import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

HOST = "127.0.0.1"


class Server:
    """`sdfast serve` as a child process on a free loopback port (--port 0, parsed from its log)."""

    def __init__(self, binary, model, *args, env=None, ready=True, startup_s=120):
        cmd = [binary, "serve", "--model", model, "--host", HOST, "--port", "0", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        self.log = []
        self.port = None
        self._listening = threading.Event()
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        if not self._listening.wait(startup_s):
            self.kill()
            raise RuntimeError("server did not start listening:\n" + "".join(self.log))
        if ready:
            deadline = time.monotonic() + startup_s
            while not self._ready_now():
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.kill()
                    raise RuntimeError("server did not get ready:\n" + "".join(self.log))
                time.sleep(0.05)

    def _ready_now(self):
        try:
            return request(self.port, "GET", "/ready", timeout=5)[0] == 200
        except OSError:
            return False

    def _read_log(self):
        for line in self.proc.stderr:
            self.log.append(line)
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self._listening.set()

    def request(self, method, path, body=None, headers=None, timeout=120):
        """(status, headers dict lower-cased, body bytes)."""
        return request(self.port, method, path, body, headers, timeout)

    def json(self, method, path, obj=None, headers=None, timeout=120):
        """(status, parsed JSON body, headers) of a JSON request."""
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        body = None if obj is None else (obj if isinstance(obj, (bytes, str)) else json.dumps(obj))
        status, h, data = self.request(method, path, body, hdrs, timeout)
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            raise AssertionError(f"{method} {path}: {status} with a body that is not JSON: {data[:200]!r}")
        return status, parsed, h

    def metrics(self):
        status, _, data = self.request("GET", "/metrics")
        assert status == 200, status
        values = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        rc = self.proc.wait(timeout)
        self._reader.join(5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def stop(self, timeout=60):
        """SIGTERM, then the exit status (killed after `timeout`)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("server did not stop within %d s after SIGTERM:\n%s" % (timeout, "".join(self.log)))
        return self.proc.returncode


def request(port, method, path, body=None, headers=None, timeout=120):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def multipart(fields, boundary="sdfast-test-boundary"):
    """(body bytes, Content-Type) of a multipart/form-data form. `fields`: (name, value) pairs; a
    bytes value is sent as a file part (filename NAME.png), a str value as a text field."""
    out = b""
    for name, value in fields:
        if isinstance(value, bytes):
            head = (f'Content-Disposition: form-data; name="{name}"; filename="{name}.png"\r\n'
                    f"Content-Type: application/octet-stream\r\n")
            data = value
        else:
            head = f'Content-Disposition: form-data; name="{name}"\r\n'
            data = str(value).encode()
        out += b"--" + boundary.encode() + b"\r\n" + head.encode() + b"\r\n" + data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return out, "multipart/form-data; boundary=" + boundary


def decode_images(b64_list):
    from PIL import Image
    return [Image.open(io.BytesIO(base64.b64decode(b))) for b in b64_list]


def png_pixels(path_or_bytes):
    from PIL import Image
    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    im = Image.open(src)
    return im.size, im.convert("RGB").tobytes()


def wait_until(predicate, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def raw_socket(port, timeout=30):
    s = socket.create_connection((HOST, port), timeout=timeout)
    return s
