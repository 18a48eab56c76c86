"""Resource limits of one sandboxed run (what :mod:`budget.verify.bubblewrap` and
:mod:`budget.verify.cgroups` enforce) and the result that comes back.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Limits(BaseModel):
    """Resource limits for one sandboxed run."""

    model_config = ConfigDict(frozen=True)

    cpu_s: int = Field(default=10, ge=1, description="RLIMIT_CPU per process, seconds")
    wall_s: float = Field(default=20.0, gt=0, description="wall-clock timeout of the whole run")
    memory_mb: int = Field(default=1024, ge=32, description="RLIMIT_AS per process")
    processes: int = Field(default=64, ge=1, description="RLIMIT_NPROC / pids.max")
    file_size_mb: int = Field(default=16, ge=0, description="RLIMIT_FSIZE: largest file written")
    open_files: int = Field(default=64, ge=8, description="RLIMIT_NOFILE")
    tmp_mb: int = Field(default=64, ge=1, description="size of each private tmpfs")
    output_kb: int = Field(default=256, ge=1, description="stdout/stderr kept, each")


class SandboxResult(BaseModel):
    """What came back from one run.  ``returncode`` is negative for a signal (as subprocess)."""

    model_config = ConfigDict(frozen=True)

    returncode: int | None
    stdout: bytes = b""
    stderr: bytes = b""
    timed_out: bool = False
    duration_s: float = 0.0
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    isolated: bool = True
