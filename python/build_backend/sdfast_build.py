"""A PEP 517 build backend that builds the `sdfast` wheel with the project's CMake.

It configures a build tree (build/pip, or an existing one named by $SDFAST_PIP_BUILD_DIR, e.g.
build) for the running interpreter, builds the extension target only, and zips build/pip/python/sdfast with its .dist-info. No requirements,
no network. Only wheels are built (pip installs a local folder from a wheel).
"""
import base64
import hashlib
import os
import subprocess
import sys
import sysconfig
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME, VERSION = "sdfast", "0.1.0"


def get_requires_for_build_wheel(config_settings=None):
    return []


def _tag():
    impl = f"cp{sys.version_info.major}{sys.version_info.minor}"
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{impl}-{impl}{sys.abiflags}-{platform}"


def _metadata():
    return (f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
            "Summary: Stable Diffusion inference for CPUs, with Diffusers' Python API\n"
            "Requires-Python: >=3.9\nRequires-Dist: numpy\nRequires-Dist: Pillow\n")


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = f"{NAME}-{VERSION}.dist-info"
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w") as f:
        f.write(_metadata())
    return dist_info


def _build():
    build = os.environ.get("SDFAST_PIP_BUILD_DIR") or os.path.join(ROOT, "build", "pip")
    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):  # a new tree: the module only
        subprocess.run(["cmake", "-S", ROOT, "-B", build, f"-DPython3_EXECUTABLE={sys.executable}",
                        "-DCMAKE_BUILD_TYPE=Release", "-DSDFAST_BUILD_TESTS=OFF", "-DSDFAST_BUILD_BENCH=OFF"],
                       check=True, stdout=sys.stderr)
    # an existing tree is used as configured (its interpreter must have this one's ABI: checked below)
    subprocess.run(["cmake", "--build", build, "--target", "sdfast_python", "-j", str(os.cpu_count() or 1)],
                   check=True, stdout=sys.stderr)
    package = os.path.join(build, "python", NAME)
    module = "_sdfast" + sysconfig.get_config_var("EXT_SUFFIX")
    if not os.path.isfile(os.path.join(package, module)):
        raise RuntimeError(f"{build} builds the module for another Python (no {module} in {package}); "
                           "set SDFAST_PIP_BUILD_DIR to a new folder")
    return package


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    package = _build()
    wheel_name = f"{NAME}-{VERSION}-{_tag()}.whl"
    dist_info = f"{NAME}-{VERSION}.dist-info"
    files = {}
    for entry in sorted(os.listdir(package)):
        path = os.path.join(package, entry)
        if os.path.isfile(path) and (entry.endswith(".py") or entry.endswith(".so")):
            with open(path, "rb") as f:
                files[f"{NAME}/{entry}"] = f.read()
    files[f"{dist_info}/METADATA"] = _metadata().encode()
    files[f"{dist_info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: sdfast_build\nRoot-Is-Purelib: false\n"
                                   f"Tag: {_tag()}\n").encode()
    record = [_record_line(name, data) for name, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return wheel_name
