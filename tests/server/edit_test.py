#!/usr/bin/env python3
"""`sdfast serve`'s edit endpoints on the tiny golden models, through a real HTTP client on loopback:
POST /v1/images/edits (OpenAI, multipart/form-data), POST /sdapi/v1/img2img (A1111, base64 JSON)
and POST /v1/jobs with an edits form. img2img and inpainting on the ordinary (4-channel UNet) and the
inpainting (9-channel UNet) model: the returned PNGs decode and have the pixels `sdfast img2img` /
`sdfast inpaint` write for the same seed and options. Bad input gets a 4xx JSON error.

Usage: edit_test.py SDFAST_BINARY TINY_MODEL_DIR TINY_INPAINT_MODEL_DIR
"""
import base64
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_util import Server, multipart, png_pixels, wait_until  # noqa: E402

BINARY = MODEL = INPAINT_MODEL = None
MAX_BODY = 200000


def png_bytes(size, pixel, mode="RGB"):
    """A PNG of `size` whose pixel (x, y) is pixel(x, y)."""
    from PIL import Image
    im = Image.new(mode, size)
    im.putdata([pixel(x, y) for y in range(size[1]) for x in range(size[0])])
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def in_square(x, y):
    return 16 <= x < 48 and 16 <= y < 48


INIT = png_bytes((64, 64), lambda x, y: (x * 4, y * 4, 128))
MASK = png_bytes((64, 64), lambda x, y: (255, 255, 255) if in_square(x, y) else (0, 0, 0))
# OpenAI's mask: transparent where the image is repainted.
ALPHA_MASK = png_bytes((64, 64), lambda x, y: (0, 0, 0, 0 if in_square(x, y) else 255), "RGBA")


def huge_png(width, height):
    """A PNG whose header claims width x height (refused from the header, never decoded)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def b64(data):
    return base64.b64encode(data).decode()


class EditApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sdfast-serve-edit-")
        for name, data in (("init.png", INIT), ("mask.png", MASK), ("mask-alpha.png", ALPHA_MASK)):
            with open(os.path.join(cls.tmp, name), "wb") as f:
                f.write(data)
        args = ("--workers", "1", "--max-queue", "4", "--max-images", "2", "--max-steps", "20", "--max-size", "256",
                "--max-body-bytes", str(MAX_BODY), "--quiet")
        cls.srv = Server(BINARY, MODEL, *args)
        cls.inpaint_srv = Server(BINARY, INPAINT_MODEL, *args)
        cls.cli_cache = {}

    @classmethod
    def tearDownClass(cls):
        for srv in (cls.srv, cls.inpaint_srv):
            rc = srv.stop()
            assert rc == 0, "server exit status %s:\n%s" % (rc, "".join(srv.log))

    def cli(self, command, model, *args):
        """Pixels of the PNGs `sdfast img2img|inpaint` writes (cached per command line)."""
        key = (command, model) + args
        if key not in self.cli_cache:
            out = tempfile.mkdtemp(dir=self.tmp)
            cmd = [BINARY, command, "--model", model, "--init-image", os.path.join(self.tmp, "init.png"),
                   "-o", out, "--quiet", *args]
            subprocess.run(cmd, check=True, timeout=300)
            self.cli_cache[key] = [png_pixels(os.path.join(out, f)) for f in sorted(os.listdir(out))]
        return self.cli_cache[key]

    def edit(self, srv, fields, path="/v1/images/edits"):
        body, content_type = multipart(fields)
        status, _, data = srv.request("POST", path, body, {"Content-Type": content_type})
        return status, json.loads(data)

    def assert_error(self, status, body, want_status, param=None):
        self.assertEqual(status, want_status, str(body)[:300])
        self.assertEqual(set(body["error"]), {"message", "type", "param", "code"}, str(body)[:300])
        self.assertTrue(body["error"]["message"])
        if param is not None:
            self.assertEqual(body["error"]["param"], param, body)

    # --- images equal the CLI's ------------------------------------------------------------------
    def test_openai_img2img_equals_cli(self):
        status, body = self.edit(self.srv, [("prompt", "a red circle"), ("image", INIT), ("n", "2"), ("seed", "7"),
                                            ("steps", "4"), ("strength", "0.6")])
        self.assertEqual(status, 200, str(body)[:300])
        self.assertEqual((body["size"], body["sdfast"]["seeds"], body["sdfast"]["strength"]), ("64x64", [7, 8], 0.6))
        served = [png_pixels(base64.b64decode(d["b64_json"])) for d in body["data"]]
        self.assertEqual(served, self.cli("img2img", MODEL, "-p", "a red circle", "--seed", "7", "--steps", "4",
                                          "--strength", "0.6", "--num-images", "2"))

    def test_openai_inpaint_alpha_mask_equals_cli(self):
        """9-channel inpainting UNet; OpenAI's transparent-is-repainted mask = `--mask-alpha`."""
        status, body = self.edit(self.inpaint_srv, [("prompt", "a blue square"), ("image", INIT),
                                                    ("mask", ALPHA_MASK), ("seed", "3"), ("steps", "4"),
                                                    ("guidance_scale", "5")])
        self.assertEqual(status, 200, str(body)[:300])
        self.assertEqual(body["sdfast"]["strength"], 1.0)
        served = [png_pixels(base64.b64decode(d["b64_json"])) for d in body["data"]]
        self.assertEqual(served, self.cli("inpaint", INPAINT_MODEL, "--mask", os.path.join(self.tmp, "mask-alpha.png"),
                                          "--mask-alpha", "-p", "a blue square", "--seed", "3", "--steps", "4",
                                          "--guidance", "5"))

    def test_sdapi_img2img_equals_cli(self):
        req = {"prompt": "a green triangle", "negative_prompt": "red", "init_images": [b64(INIT)], "seed": 11,
               "steps": 4, "denoising_strength": 0.5, "sampler_name": "Euler a", "width": 512, "height": 512,
               "restore_faces": True}
        status, body, _ = self.srv.json("POST", "/sdapi/v1/img2img", req)
        self.assertEqual(status, 200, str(body)[:300])
        self.assertIsNone(body["parameters"]["init_images"])
        info = json.loads(body["info"])
        self.assertEqual((info["width"], info["height"], info["denoising_strength"]), (64, 64, 0.5))
        self.assertEqual(info["ignored_fields"], ["restore_faces", "width", "height"])
        self.assertEqual(info["scheduler_class"], "EulerAncestralDiscreteScheduler")
        served = [png_pixels(base64.b64decode(b)) for b in body["images"]]
        self.assertEqual(served, self.cli("img2img", MODEL, "-p", "a green triangle", "-n", "red", "--seed", "11",
                                          "--steps", "4", "--strength", "0.5", "--scheduler", "euler_a"))

    def test_sdapi_inpaint_equals_cli_on_both_unets(self):
        req = {"prompt": "a yellow star", "init_images": ["data:image/png;base64," + b64(INIT)], "mask": b64(MASK),
               "seed": 5, "steps": 4, "denoising_strength": 0.9, "mask_blur": 4, "inpainting_fill": 1}
        for srv, model in ((self.srv, MODEL), (self.inpaint_srv, INPAINT_MODEL)):
            with self.subTest(model=os.path.basename(model)):
                status, body, _ = srv.json("POST", "/sdapi/v1/img2img", req)
                self.assertEqual(status, 200, str(body)[:300])
                self.assertEqual(json.loads(body["info"])["ignored_fields"], ["mask_blur"])
                served = [png_pixels(base64.b64decode(b)) for b in body["images"]]
                self.assertEqual(served, self.cli("inpaint", model, "--mask", os.path.join(self.tmp, "mask.png"),
                                                  "-p", "a yellow star", "--seed", "5", "--steps", "4",
                                                  "--strength", "0.9"))

    def test_async_edit_job(self):
        body, content_type = multipart([("prompt", "a red circle"), ("image", INIT), ("n", "2"), ("seed", "7"),
                                        ("steps", "4"), ("strength", "0.6")])
        status, _, data = self.srv.request("POST", "/v1/jobs", body, {"Content-Type": content_type})
        job = json.loads(data)
        self.assertEqual(status, 202, str(job)[:300])

        def done():
            j = self.srv.json("GET", "/v1/jobs/" + job["id"])[1]
            return j if j["status"] in ("succeeded", "failed", "cancelled") else None
        j = wait_until(done, 300, "the edit job to finish")
        self.assertEqual(j["status"], "succeeded", str(j)[:300])
        served = [png_pixels(base64.b64decode(d["b64_json"])) for d in j["result"]["data"]]
        self.assertEqual(served, self.cli("img2img", MODEL, "-p", "a red circle", "--seed", "7", "--steps", "4",
                                          "--strength", "0.6", "--num-images", "2"))

    # --- bad input -------------------------------------------------------------------------------
    def test_openai_edit_bad_input(self):
        small_mask = png_bytes((32, 32), lambda x, y: (255, 255, 255, 0), "RGBA")
        cases = [
            ([("prompt", "p")], 400, "image"),
            ([("image", INIT)], 400, "prompt"),
            ([("prompt", "p"), ("image", b"not an image")], 400, "image"),
            ([("prompt", "p"), ("image", INIT[:len(INIT) // 2])], 400, "image"),
            ([("prompt", "p"), ("image", png_bytes((60, 60), lambda x, y: (0, 0, 0)))], 400, "image"),
            ([("prompt", "p"), ("image", huge_png(100000, 100000))], 400, "image"),
            ([("prompt", "p"), ("image", png_bytes((264, 8), lambda x, y: (0, 0, 0)))], 400, "image"),
            ([("prompt", "p"), ("image", INIT), ("mask", small_mask)], 400, "mask"),
            ([("prompt", "p"), ("image", INIT), ("mask", MASK)], 400, "mask"),  # no alpha: mask_alpha=false
            ([("prompt", "p"), ("image", INIT), ("strength", "0")], 400, "strength"),
            ([("prompt", "p"), ("image", INIT), ("strength", "2")], 400, "strength"),
            ([("prompt", "p"), ("image", INIT), ("n", "1000000000")], 400, "n"),
            ([("prompt", "p"), ("image", INIT), ("size", "128x128")], 400, "size"),
            ([("prompt", "p"), ("image", INIT), ("image", INIT)], 400, "image"),
        ]
        for fields, want, param in cases:
            with self.subTest(fields=[(n, v if isinstance(v, str) else len(v)) for n, v in fields]):
                status, body = self.edit(self.srv, fields)
                self.assert_error(status, body, want, param)
        status, body = self.edit(self.srv, [("prompt", "p"), ("image", huge_png(100000, 100000))])
        self.assertIn("limit", body["error"]["message"])
        # The same form through the async jobs API: refused before a job exists.
        status, body = self.edit(self.srv, [("prompt", "p"), ("image", INIT), ("strength", "2")], path="/v1/jobs")
        self.assert_error(status, body, 400, "strength")

    def test_openai_edit_wrong_bodies(self):
        status, body, _ = self.srv.json("POST", "/v1/images/edits", {"prompt": "p", "image": b64(INIT)})
        self.assert_error(status, body, 415)
        status, _, data = self.srv.request("POST", "/v1/images/edits", b"--x\r\nno headers at all",
                                           {"Content-Type": "multipart/form-data; boundary=x"})
        self.assert_error(status, json.loads(data), 400)
        status, _, data = self.srv.request("POST", "/v1/images/edits", b"garbage",
                                           {"Content-Type": "multipart/form-data"})
        self.assert_error(status, json.loads(data), 400)
        status, body = self.edit(self.srv, [("prompt", "p"), ("image", INIT), ("pad", "x" * MAX_BODY)])
        self.assert_error(status, body, 413)

    def test_sdapi_img2img_bad_input(self):
        path = "/sdapi/v1/img2img"
        cases = [
            ({"prompt": "p"}, 400, "init_images"),
            ({"init_images": "abc"}, 400, "init_images"),
            ({"init_images": ["%%% not base64"]}, 400, "init_images"),
            ({"init_images": [b64(b"GIF89a: not a supported image")]}, 400, "init_images"),
            ({"init_images": [b64(huge_png(100000, 100000))]}, 400, "init_images"),
            ({"init_images": [b64(INIT), b64(INIT)]}, 400, "init_images"),
            ({"init_images": [b64(INIT)], "mask": b64(MASK[:100])}, 400, "mask"),
            ({"init_images": [b64(INIT)], "mask": b64(png_bytes((8, 8), lambda x, y: (0, 0, 0)))}, 400, "mask"),
            ({"init_images": [b64(INIT)], "denoising_strength": 0}, 400, "denoising_strength"),
            ({"init_images": [b64(INIT)], "denoising_strength": 2}, 400, "denoising_strength"),
            ({"init_images": [b64(INIT)], "batch_size": 10**9}, 400, "batch_size"),
            (b"{not json", 400, None),
        ]
        for obj, want, param in cases:
            with self.subTest(body=str(obj)[:80]):
                status, body, _ = self.srv.json("POST", path, obj)
                self.assert_error(status, body, want, param)
        status, _, data = self.srv.request("POST", path, json.dumps({"init_images": [b64(INIT)]}),
                                           {"Content-Type": "text/plain"})
        self.assert_error(status, json.loads(data), 415)

    def test_img2img_without_mask_on_the_inpainting_unet_is_a_400(self):
        """The engine refuses it (a 9-channel UNet needs a mask): the job fails with 400, no crash."""
        status, body, _ = self.inpaint_srv.json("POST", "/sdapi/v1/img2img",
                                                {"prompt": "p", "init_images": [b64(INIT)], "steps": 2})
        self.assert_error(status, body, 400)
        self.assertEqual(self.inpaint_srv.json("GET", "/health")[0], 200)


if __name__ == "__main__":
    BINARY, MODEL, INPAINT_MODEL = sys.argv[1], sys.argv[2], sys.argv[3]
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[4:])
