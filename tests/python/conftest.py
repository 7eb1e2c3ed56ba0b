"""Shared fixtures of the Python tests: the golden models and cases, read without torch."""
import json
import os
import struct

import numpy as np
import pytest

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden")
MODELS = os.path.join(GOLDEN, "models")
CASES = os.path.join(GOLDEN, "cases")
SD15 = os.path.join(MODELS, "tiny-sd15-pipeline")
BK_TAESD = os.path.join(MODELS, "tiny-bk-small-taesd-pipeline")

_DTYPES = {"F32": np.float32, "F64": np.float64, "U8": np.uint8, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """{name: array} from a .safetensors file (8-byte header length, JSON header, raw data)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        out[name] = np.frombuffer(blob[base + begin:base + end], dtype=_DTYPES[t["dtype"]]).reshape(t["shape"])
    return out


def load_case(name):
    """(case.json as a dict, its tensors) for tests/golden/cases/<name>."""
    folder = os.path.join(CASES, name)
    with open(os.path.join(folder, "case.json"), encoding="utf-8") as f:
        case = json.load(f)
    return case, read_safetensors(os.path.join(folder, "data.safetensors"))


@pytest.fixture(scope="session")
def sd15():
    """The tiny SD 1.5 pipeline in float32, loaded once (tests put back what they change)."""
    import sdfast
    return sdfast.StableDiffusionPipeline.from_pretrained(SD15, dtype="f32")
