#!/usr/bin/env python3
"""`sdfast serve` on the tiny golden model, through a real HTTP client on loopback: every endpoint,
the images equal `sdfast generate`'s for the same seed, bad input gets a 4xx JSON error, and the
faults: a client that disconnects, DELETE and interrupt mid-run, SIGTERM mid-run, slow clients.

Usage: api_test.py SDFAST_BINARY TINY_MODEL_DIR
"""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_util import Server, png_pixels, raw_socket, request, wait_until  # noqa: E402

BINARY = MODEL = None
# A job long enough to be caught mid-run (seconds on the tiny model, longer under ASan).
LONG = {"prompt": "a long run", "size": "128x128", "steps": 50, "n": 4, "seed": 1}


def generate_cli(tmp, prompt, seed, steps, n, width=None, negative=None):
    """Pixels of the images `sdfast generate` writes for the same request."""
    out = tempfile.mkdtemp(dir=tmp)
    cmd = [BINARY, "generate", "--model", MODEL, "--prompt", prompt, "--seed", str(seed), "--steps", str(steps),
           "--num-images", str(n), "-o", out, "--quiet"]
    if width:
        cmd += ["--width", str(width), "--height", str(width)]
    if negative:
        cmd += ["--negative-prompt", negative]
    subprocess.run(cmd, check=True, timeout=300)
    files = sorted(f for f in os.listdir(out) if f.endswith(".png"))
    assert len(files) == n, files
    return [png_pixels(os.path.join(out, f)) for f in files]


class ServerApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sdfast-serve-test-")
        cls.srv = Server(BINARY, MODEL, "--workers", "1", "--max-queue", "3", "--max-images", "4",
                         "--max-steps", "50", "--max-size", "512", "--max-body-bytes", "65536",
                         "--max-prompt-bytes", "1000", "--read-timeout", "2", "--quiet")

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        assert rc == 0, "server exit status %s:\n%s" % (rc, "".join(cls.srv.log))

    def assert_error(self, status, body, want_status, param=None):
        self.assertEqual(status, want_status, body)
        self.assertIn("error", body)
        for key in ("message", "type", "param", "code"):
            self.assertIn(key, body["error"])
        self.assertTrue(body["error"]["message"])
        if param is not None:
            self.assertEqual(body["error"]["param"], param, body)

    # --- the APIs -----------------------------------------------------------------------------
    def test_health_ready_models(self):
        self.assertEqual(self.srv.json("GET", "/health")[:2], (200, {"status": "ok"}))
        status, body, _ = self.srv.json("GET", "/ready")
        self.assertEqual((status, body["status"]), (200, "ready"))
        status, body, _ = self.srv.json("GET", "/v1/models")
        self.assertEqual(status, 200)
        self.assertEqual(body["data"][0]["id"], "tiny-sd15-pipeline")

    def test_openai_png_equals_generate(self):
        status, body, h = self.srv.json("POST", "/v1/images/generations",
                                        {"prompt": "a red circle", "seed": 7, "steps": 4, "n": 2})
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["data"]), 2)
        self.assertEqual(body["sdfast"]["seeds"], [7, 8])
        self.assertEqual(body["size"], "128x128")
        served = [png_pixels(base64.b64decode(d["b64_json"])) for d in body["data"]]
        self.assertEqual(served, generate_cli(self.tmp, "a red circle", 7, 4, 2))
        self.assertTrue(h["x-sdfast-job"].startswith("job-"))

    def test_openai_jpeg_webp(self):
        for fmt, magic in (("jpeg", b"\xff\xd8\xff"), ("webp", b"RIFF")):
            status, body, _ = self.srv.json("POST", "/v1/images/generations",
                                            {"prompt": "x", "seed": 1, "steps": 2, "size": "64x64",
                                             "output_format": fmt, "output_compression": 80})
            self.assertEqual(status, 200, body)
            data = base64.b64decode(body["data"][0]["b64_json"])
            self.assertTrue(data.startswith(magic), fmt)
            self.assertEqual(png_pixels(data)[0], (64, 64))

    def test_sdapi_txt2img_equals_generate(self):
        req = {"prompt": "a blue square", "negative_prompt": "green", "seed": 11, "steps": 3, "batch_size": 2,
               "n_iter": 1, "width": 64, "height": 64, "cfg_scale": 7.5, "restore_faces": True,
               "some_future_field": {"x": 1}}
        status, body, _ = self.srv.json("POST", "/sdapi/v1/txt2img", req)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["parameters"], req)
        info = json.loads(body["info"])
        self.assertEqual(info["all_seeds"], [11, 12])
        self.assertEqual(info["ignored_fields"], ["restore_faces"])
        served = [png_pixels(base64.b64decode(b)) for b in body["images"]]
        self.assertEqual(served, generate_cli(self.tmp, "a blue square", 11, 3, 2, width=64, negative="green"))

    def test_sdapi_sampler_and_lists(self):
        status, body, _ = self.srv.json("POST", "/sdapi/v1/txt2img",
                                        {"prompt": "p", "seed": 3, "steps": 2, "width": 64, "height": 64,
                                         "sampler_name": "Euler a"})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body["info"])["scheduler_class"], "EulerAncestralDiscreteScheduler")
        status, samplers, _ = self.srv.json("GET", "/sdapi/v1/samplers")
        self.assertIn("DPM++ 2M Karras", [s["name"] for s in samplers])
        status, models, _ = self.srv.json("GET", "/sdapi/v1/sd-models")
        self.assertEqual(models[0]["model_name"], "tiny-sd15-pipeline")
        status, progress, _ = self.srv.json("GET", "/sdapi/v1/progress")
        self.assertEqual((status, progress["progress"]), (200, 0))
        status, body, _ = self.srv.json("POST", "/sdapi/v1/txt2img", {"prompt": "p", "sampler_name": "Magic"})
        self.assert_error(status, body, 400, "sampler_name")

    def test_edit_routes_refuse_bad_images(self):
        # tests/server/edit_test.py covers the edit endpoints; here: they are routed and check their input.
        status, body, _ = self.srv.json("POST", "/sdapi/v1/img2img", {"prompt": "p", "init_images": ["AAAA"]})
        self.assert_error(status, body, 400, "init_images")

    def test_async_job(self):
        status, job, h = self.srv.json("POST", "/v1/jobs", {"prompt": "a red circle", "seed": 7, "steps": 4, "n": 1})
        self.assertEqual(status, 202, job)
        self.assertEqual(h["location"], "/v1/jobs/" + job["id"])

        def done():
            st, j, _ = self.srv.json("GET", "/v1/jobs/" + job["id"])
            return j if j["status"] in ("succeeded", "failed", "cancelled") else None
        j = wait_until(done, 300, "the job to finish")
        self.assertEqual(j["status"], "succeeded", j)
        self.assertEqual(j["progress"], 1.0)
        served = png_pixels(base64.b64decode(j["result"]["data"][0]["b64_json"]))
        self.assertEqual(served, generate_cli(self.tmp, "a red circle", 7, 4, 2)[0])
        status, body, _ = self.srv.json("GET", "/v1/jobs/job-0000")
        self.assert_error(status, body, 404, "id")
        status, body, _ = self.srv.json("DELETE", "/v1/jobs/job-0000")
        self.assert_error(status, body, 404, "id")

    # --- cancel, disconnect, queue --------------------------------------------------------------
    def running_step(self, job_id=None):
        """Waits until a job runs and has made a step; returns /sdapi/v1/progress."""
        def check():
            _, p, _ = self.srv.json("GET", "/sdapi/v1/progress")
            ok = p["state"]["sampling_step"] >= 1 and (job_id is None or p["state"]["job"] == job_id)
            return p if ok else None
        return wait_until(check, 300, "a running job")

    def test_delete_cancels_mid_run(self):
        _, job, _ = self.srv.json("POST", "/v1/jobs", LONG)
        self.running_step(job["id"])
        t0 = time.monotonic()
        status, j, _ = self.srv.json("DELETE", "/v1/jobs/" + job["id"])
        self.assertEqual(status, 200, j)
        self.assertEqual(j["status"], "cancelled", j)
        self.assertLess(j["step"], j["total_steps"])
        self.assertLess(time.monotonic() - t0, 30)

    def test_interrupt_cancels_blocking_request(self):
        result = {}
        t = threading.Thread(target=lambda: result.update(r=self.srv.json("POST", "/v1/images/generations", LONG)))
        t.start()
        self.running_step()
        status, body, _ = self.srv.json("POST", "/sdapi/v1/interrupt")
        self.assertEqual((status, body["interrupted"]), (200, 1))
        t.join(120)
        status, body, _ = result["r"]
        self.assert_error(status, body, 409)
        self.assertIn("interrupt", body["error"]["message"])

    def test_client_disconnect_cancels_run(self):
        before = self.srv.metrics().get('sdfast_jobs_total{state="cancelled"}', 0)
        s = raw_socket(self.srv.port)
        body = json.dumps(LONG).encode()
        s.sendall(b"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.running_step()
        s.close()
        wait_until(lambda: self.srv.metrics().get('sdfast_jobs_total{state="cancelled"}', 0) == before + 1, 60,
                   "the abandoned run to be cancelled")
        wait_until(lambda: self.srv.json("GET", "/sdapi/v1/progress")[1]["state"]["job_count"] == 0, 60, "idle")

    def test_queue_full_is_429(self):
        ids = []
        try:
            _, job, _ = self.srv.json("POST", "/v1/jobs", LONG)
            ids.append(job["id"])
            self.running_step(job["id"])
            for _ in range(3):  # --max-queue 3
                status, job, _ = self.srv.json("POST", "/v1/jobs", {"prompt": "q", "steps": 1, "size": "64x64"})
                self.assertEqual(status, 202, job)
                ids.append(job["id"])
            status, body, h = self.srv.json("POST", "/v1/images/generations", {"prompt": "one too many"})
            self.assert_error(status, body, 429)
            self.assertEqual(h["retry-after"], "1")
            status, body, h = self.srv.json("POST", "/v1/jobs", {"prompt": "one too many"})
            self.assert_error(status, body, 429)
        finally:
            for i in ids:
                self.srv.json("DELETE", "/v1/jobs/" + i)
        self.assertEqual(self.srv.metrics()["sdfast_queue_length"], 0)

    # --- bad input ---------------------------------------------------------------------------
    def test_bad_input(self):
        gen = "/v1/images/generations"
        cases = [
            (gen, b"{not json", 400, None),
            (gen, b"[1, 2]", 400, None),
            (gen, {"prompt": 5}, 400, "prompt"),
            (gen, {"prompt": ""}, 400, "prompt"),
            (gen, {"n": 1}, 400, "prompt"),
            (gen, {"prompt": "p", "n": 1000000000}, 400, "n"),
            (gen, {"prompt": "p", "n": -1}, 400, "n"),
            (gen, {"prompt": "p", "n": "2"}, 400, "n"),
            (gen, {"prompt": "p", "n": 1.5}, 400, "n"),
            (gen, {"prompt": "p", "size": "99999999x64"}, 400, "size"),
            (gen, {"prompt": "p", "size": "-64x64"}, 400, "size"),
            (gen, {"prompt": "p", "size": "4096x4096"}, 400, "size"),
            (gen, {"prompt": "p", "size": "63x64"}, 400, "size"),
            (gen, {"prompt": "p", "size": 64}, 400, "size"),
            (gen, {"prompt": "p", "steps": 10**30}, 400, "steps"),
            (gen, {"prompt": "p", "steps": 0}, 400, "steps"),
            (gen, {"prompt": "p", "guidance_scale": "high"}, 400, "guidance_scale"),
            (gen, {"prompt": "p", "seed": -5}, 400, "seed"),
            (gen, {"prompt": "p", "seed": 1e300}, 400, "seed"),
            (gen, {"prompt": "p", "scheduler": "nope"}, 400, "scheduler"),
            (gen, {"prompt": "p", "response_format": "url"}, 400, "response_format"),
            (gen, {"prompt": "p", "output_format": "gif"}, 400, "output_format"),
            (gen, {"prompt": "x" * 2000}, 413, "prompt"),
            ("/sdapi/v1/txt2img", {"prompt": "p", "width": -512}, 400, "width"),
            ("/sdapi/v1/txt2img", {"prompt": "p", "batch_size": 4, "n_iter": 4}, 400, "batch_size"),
            ("/sdapi/v1/txt2img", {"prompt": "p", "cfg_scale": [1]}, 400, "cfg_scale"),
            ("/sdapi/v1/txt2img", b"null", 400, None),
            ("/v1/jobs", {"prompt": "p", "n": 10**9}, 400, "n"),
        ]
        for path, obj, want, param in cases:
            with self.subTest(path=path, body=str(obj)[:60]):
                status, body, _ = self.srv.json("POST", path, obj)
                self.assert_error(status, body, want, param)

    def test_wrong_content_type_and_routes(self):
        status, h, data = self.srv.request("POST", "/v1/images/generations", b'{"prompt":"p"}',
                                           {"Content-Type": "text/plain"})
        self.assert_error(status, json.loads(data), 415)
        status, h, data = self.srv.request("GET", "/no/such/route")
        self.assert_error(status, json.loads(data), 404)
        status, h, data = self.srv.request("GET", "/v1/images/generations")
        self.assertEqual(status, 404)
        self.assertNotIn("access-control-allow-origin", h)  # no CORS unless --cors

    def test_body_over_limit_is_413(self):
        big = json.dumps({"prompt": "p", "pad": "x" * 70000})
        status, body, _ = self.srv.json("POST", "/v1/images/generations", big)
        self.assert_error(status, body, 413)

    def test_edits_form_with_a_bad_file(self):
        form = (b'--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\np\r\n'
                b'--b\r\nContent-Disposition: form-data; name="image"; filename="i.png"\r\n'
                b'Content-Type: image/png\r\n\r\n%%%not base64 or png\r\n--b--\r\n')
        status, h, data = self.srv.request("POST", "/v1/images/edits", form,
                                           {"Content-Type": "multipart/form-data; boundary=b"})
        self.assert_error(status, json.loads(data), 400, "image")

    def test_slow_client_is_disconnected(self):
        """Slow loris: headers trickled and stopped; the server hangs up after --read-timeout (2 s)
        and serves others meanwhile."""
        s = raw_socket(self.srv.port)
        s.sendall(b"POST /v1/images/generations HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        self.assertEqual(self.srv.json("GET", "/health")[0], 200)
        s.settimeout(30)
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        waited = time.monotonic() - t0
        s.close()
        self.assertLess(waited, 15)
        self.assertGreaterEqual(waited, 1.5)
        # A body announced and never sent: the same.
        s = raw_socket(self.srv.port)
        s.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        s.settimeout(30)
        t0 = time.monotonic()
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
        self.assertLess(time.monotonic() - t0, 15)
        s.close()
        self.assertEqual(self.srv.json("GET", "/health")[0], 200)


class ServerAuthCors(unittest.TestCase):
    def test_api_key_and_cors(self):
        srv = Server(BINARY, MODEL, "--api-key", "s3cret", "--cors", "https://app.example", "--quiet")
        try:
            status, body, h = srv.json("GET", "/v1/models")
            self.assertEqual(status, 401, body)
            self.assertEqual(h["www-authenticate"], "Bearer")
            self.assertEqual(srv.json("GET", "/v1/models", headers={"Authorization": "Bearer s3cre"})[0], 401)
            self.assertEqual(srv.json("GET", "/v1/models", headers={"Authorization": "Bearer s3cret!"})[0], 401)
            self.assertEqual(srv.json("GET", "/metrics", headers={"Authorization": "Basic s3cret"})[0], 401)
            status, body, h = srv.json("GET", "/v1/models", headers={"Authorization": "Bearer s3cret"})
            self.assertEqual(status, 200)
            self.assertEqual(h["access-control-allow-origin"], "https://app.example")
            self.assertEqual(srv.json("GET", "/health")[0], 200)  # probes need no key
            self.assertEqual(srv.json("GET", "/ready")[0], 200)
            status, h, _ = srv.request("OPTIONS", "/v1/images/generations",
                                       headers={"Origin": "https://app.example",
                                                "Access-Control-Request-Method": "POST"})
            self.assertEqual(status, 204)
            self.assertIn("Authorization", h["access-control-allow-headers"])
        finally:
            self.assertEqual(srv.stop(), 0)


class ServerShutdown(unittest.TestCase):
    def test_sigterm_mid_run_finishes_the_job(self):
        srv = Server(BINARY, MODEL, "--shutdown-grace", "120", "--quiet")
        result = {}
        t = threading.Thread(target=lambda: result.update(
            r=srv.json("POST", "/v1/images/generations", {**LONG, "steps": 8, "n": 1})))
        t.start()
        wait_until(lambda: srv.json("GET", "/sdapi/v1/progress")[1]["state"]["sampling_step"] >= 1, 300, "running")
        srv.signal(signal.SIGTERM)
        time.sleep(0.3)
        with self.assertRaises(OSError):  # no new connections
            request(srv.port, "GET", "/health", timeout=5)
        t.join(300)
        status, body, _ = result["r"]
        self.assertEqual(status, 200, body)  # the accepted job finished
        self.assertEqual(len(body["data"]), 1)
        self.assertEqual(srv.wait(60), 0)
        self.assertIn("stopped (0 unfinished jobs cancelled)", "".join(srv.log))

    def test_sigterm_past_the_grace_cancels(self):
        srv = Server(BINARY, MODEL, "--shutdown-grace", "0.5", "--quiet")
        result = {}
        t = threading.Thread(target=lambda: result.update(r=srv.json("POST", "/v1/images/generations", LONG)))
        t.start()
        wait_until(lambda: srv.json("GET", "/sdapi/v1/progress")[1]["state"]["sampling_step"] >= 1, 300, "running")
        srv.signal(signal.SIGTERM)
        t.join(120)
        status, body, _ = result["r"]
        self.assertEqual(status, 503, body)
        self.assertIn("shut down", body["error"]["message"])
        self.assertEqual(srv.wait(60), 0)

    def test_port_in_use_fails_before_loading(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            r = subprocess.run([BINARY, "serve", "--model", MODEL, "--port", str(port)], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("cannot listen on 127.0.0.1:%d" % port, r.stderr)
        r = subprocess.run([BINARY, "serve", "--model", MODEL, "--workers", "0"], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--workers", r.stderr)


if __name__ == "__main__":
    BINARY, MODEL = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])
