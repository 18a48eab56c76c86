"""Use case: the real local model (``budget local install|start|stop|status``).

Joins :mod:`budget.local` (build, download, process control) for the CLI, the e2e test and the
real-run benchmark.  Requests and results are pydantic models; results carry
``schema_version`` because ``--json`` prints them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from budget.local.install import ModelInstall, ServerInstall
from budget.local.models import DEFAULT_MODEL, DEFAULT_PORT, MODELS, LocalLayout, model_spec
from budget.local.server import ServerProcess

SCHEMA_VERSION = 1


def _layout(root: Path | None) -> LocalLayout:
    return LocalLayout(root=root) if root is not None else LocalLayout.default()


class InstallRequest(BaseModel):
    """What ``budget local install`` asks for: the models, the cache root, build jobs."""
    models: list[str] = Field(default_factory=lambda: [DEFAULT_MODEL], min_length=1)
    root: Path | None = None
    jobs: int | None = Field(default=None, ge=1)


class InstallResult(BaseModel):
    """What ``budget local install`` installed (``--json``)."""
    schema_version: int = SCHEMA_VERSION
    root: Path
    server: ServerInstall
    models: list[ModelInstall]


def install(request: InstallRequest) -> InstallResult:
    """Build the server (cached) and install each requested model (cached)."""
    from budget.local.install import install_model, install_server

    layout = _layout(request.root)
    specs = [model_spec(m) for m in request.models]  # unknown names fail before the build
    server = install_server(layout, jobs=request.jobs)
    return InstallResult(root=layout.root, server=server, models=[install_model(layout, s) for s in specs])


class StartRequest(BaseModel):
    """What ``budget local start`` asks for: the model and the server's settings."""
    model: str = DEFAULT_MODEL
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    parallel: int = Field(default=8, ge=1)
    ctx_size: int = Field(default=16384, ge=512)
    threads: int = Field(default=2, ge=1)
    start_timeout_s: float = Field(default=180.0, gt=0)
    root: Path | None = None


class ServerInfo(BaseModel):
    """A running local server, its API base and health (``--json``)."""
    schema_version: int = SCHEMA_VERSION
    process: ServerProcess
    api_base: str
    health: str


class StopResult(BaseModel):
    """The local servers ``budget local stop`` stopped (``--json``)."""
    schema_version: int = SCHEMA_VERSION
    stopped: list[ServerProcess]


def start(request: StartRequest) -> ServerInfo:
    """Start the server with one model and wait for ``/health``."""
    from budget.local.server import ServerSettings, start_server

    settings = ServerSettings(
        port=request.port,
        parallel=request.parallel,
        ctx_size=request.ctx_size,
        threads=request.threads,
        start_timeout_s=request.start_timeout_s,
    )
    proc = start_server(_layout(request.root), model_spec(request.model), settings)
    return ServerInfo(process=proc, api_base=proc.api_base, health="ok")


def stop(port: int | None = None, root: Path | None = None) -> StopResult:
    """Stop the server budget started on ``port`` (all of them when None)."""
    from budget.local.server import stop_server

    return StopResult(stopped=stop_server(_layout(root), port))


class StatusResult(BaseModel):
    """What is installed and what runs (``budget local status --json``)."""
    schema_version: int = SCHEMA_VERSION
    root: Path
    server_installed: ServerInstall | None
    models: list[ModelInstall]
    available: list[str]
    servers: list[ServerInfo]


def status(root: Path | None = None) -> StatusResult:
    """What is installed under the cache directory, and whether a server is running."""
    from budget.local.install import installed_models, server_installed
    from budget.local.server import health, running_servers

    layout = _layout(root)
    servers = [
        ServerInfo(process=p, api_base=p.api_base, health=health(p.base_url)) for p in running_servers(layout)
    ]
    return StatusResult(
        root=layout.root,
        server_installed=server_installed(layout),
        models=installed_models(layout, list(MODELS.values())),
        available=list(MODELS),
        servers=servers,
    )
