"""The generic sandbox runner: isolation properties, limits, clean-up, refusal without bwrap."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from budget.errors import SandboxError
from budget.verify import sandbox as sb
from budget.verify import seccomp
from budget.verify.sandbox import Limits, Sandbox, get_sandbox, sandbox_python


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return get_sandbox()


def py(box: Sandbox, code: str, **kw: object) -> sb.SandboxResult:
    return box.run([sandbox_python(), "-I", "-c", code], **kw)  # type: ignore[arg-type]


def test_files_stdin_and_exit_code(box: Sandbox) -> None:
    res = box.run(
        ["/bin/sh", "-c", "cat d/in.txt; cat; exit 7"], files={"d/in.txt": "hello\n"}, stdin=b"world\n"
    )
    assert res.returncode == 7
    assert res.stdout == b"hello\nworld\n"
    assert res.isolated and not res.timed_out


def test_environment_scrubbed_even_for_pid_1(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-budget-test-secret-0123")
    code = (
        "import os, glob\n"
        "blob = repr(dict(os.environ))\n"
        "for p in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'):\n"
        "    try: blob += open(p, 'rb').read().decode(errors='replace')\n"
        "    except OSError: pass\n"
        "print('LEAK' if 'sk-budget-' + 'test-secret' in blob else 'clean')\n"
    )
    res = py(box, code)
    assert res.stdout.strip() == b"clean", res.stderr


def test_no_home_no_project_read_only_system(box: Sandbox, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("original")
    code = (
        "import os\n"
        f"print(os.path.exists({str(Path.home() / '.ssh')!r}), os.path.exists({str(victim)!r}),"
        f" os.path.exists({os.getcwd()!r}))\n"
        "try:\n"
        "    open('/usr/budget-test', 'w'); print('wrote')\n"
        "except OSError as e: print('ro')\n"
    )
    res = py(box, code)
    assert res.stdout.split() == [b"False", b"False", b"False", b"ro"], res.stderr
    assert victim.read_text() == "original"


def test_no_network(box: Sandbox) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        code = (
            "import socket\n"
            "s = socket.socket(); s.settimeout(2)\n"
            f"try: s.connect(('127.0.0.1', {port})); print('connected')\n"
            "except OSError: print('refused')\n"
        )
        res = py(box, code)
        assert res.stdout.strip() == b"refused", res.stderr
    finally:
        listener.close()


def test_wall_timeout_kills_background_children(box: Sandbox) -> None:
    marker = "budget-sandbox-bg-marker-7731"
    res = box.run(["/bin/sh", "-c", f"(exec -a {marker} sleep 300) & sleep 300"], limits=Limits(wall_s=1))
    assert res.timed_out and res.returncode is None
    leftovers = [p for p in os.listdir("/proc") if p.isdigit() and marker.encode() in _cmdline(p)]
    assert leftovers == []


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_output_is_capped(box: Sandbox) -> None:
    res = box.run(["/bin/sh", "-c", "yes | head -c 5000000"], limits=Limits(output_kb=4))
    assert res.returncode == 0
    assert len(res.stdout) == 4096 and res.stdout_truncated


def test_memory_and_file_size_limits(box: Sandbox) -> None:
    res = py(box, "x = bytearray(400 * 1024 * 1024)", limits=Limits(memory_mb=200))
    assert res.returncode != 0 and b"MemoryError" in res.stderr
    res = py(box, "open('/tmp/big', 'wb').write(b'x' * (3 * 1024 * 1024))", limits=Limits(file_size_mb=1))
    assert res.returncode != 0


def test_bad_file_names_rejected(box: Sandbox) -> None:
    with pytest.raises(SandboxError):
        box.run(["/bin/true"], files={"../escape": "x"})


def test_refuses_without_bwrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sb.shutil, "which", lambda name: None)
    sb.probe.cache_clear()
    try:
        with pytest.raises(SandboxError, match="unsafe-no-sandbox"):
            get_sandbox()
        unsafe = get_sandbox(unsafe_no_sandbox=True)
        assert not unsafe.isolated
        res = unsafe.run(["/bin/sh", "-c", "cat f; echo $OPENAI_API_KEY"], files={"f": "x\n"})
        assert res.stdout == b"x\n\n" and not res.isolated
    finally:
        sb.probe.cache_clear()


def test_pipes_not_reachable_through_proc(box: Sandbox) -> None:
    """Neither bubblewrap's reaper (pid 1) nor a non-dumpable command exposes the pipes."""
    code = (
        "import ctypes, os, stat\n"
        "print(os.getpid() > 1, flush=True)\n"
        "ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)\n"
        "if os.fork() == 0:\n"
        "    got = []\n"
        "    for pid in (1, os.getppid()):\n"
        "      for fd in (0, 1, 2):\n"
        "        try:\n"
        "            if stat.S_ISFIFO(os.stat(f'/proc/{pid}/fd/{fd}').st_mode): got.append((pid, fd))\n"
        "        except OSError:\n"
        "            pass\n"
        "    print('pipes', got, flush=True)\n"
        "    os._exit(0)\n"
        "os.wait()\n"
    )
    res = py(box, code, stdin=b"secret nonce\n")
    assert res.stdout.splitlines() == [b"True", b"pipes []"], res.stderr


def test_descriptor_remap_without_bash(box: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    real_exists = os.path.exists
    monkeypatch.setattr(os.path, "exists", lambda p: False if p == "/bin/bash" else real_exists(p))
    res = box.run(["/bin/sh", "-c", "cat; echo err >&2"], stdin=b"through python\n")
    assert (res.returncode, res.stdout, res.stderr) == (0, b"through python\n", b"err\n")


@pytest.mark.skipif(sb.seccomp_program() is None, reason="seccomp filter only on x86_64")
def test_seccomp_blocks_kernel_attack_surface(box: Sandbox) -> None:
    code = (
        "import ctypes, errno\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def call(nr, *args):\n"
        "    r = libc.syscall(nr, *args)\n"
        "    return errno.errorcode[ctypes.get_errno()] if r == -1 else 'ok'\n"
        "print(call(250, 0, 0, 0), call(425, 1, 0), call(321, 0, 0, 0), call(101, 0, 0, 0, 0),"
        " call(39))\n"
    )
    res = py(box, code)
    assert res.stdout.split() == [b"EPERM", b"EPERM", b"EPERM", b"EPERM", b"ok"], res.stderr


@pytest.mark.skipif(sb.seccomp_program() is None, reason="seccomp filter only on x86_64")
def test_seccomp_keeps_limits_and_scheduling_to_the_caller(box: Sandbox) -> None:
    """A sandboxed process may change its own limits, priority and scheduling, never another's:
    the kernel allows a same-uid process to lower them without ptrace access (issue 9: a sample
    would shrink the warm harness's limits for every later job)."""
    code = (
        "import os, resource, time\n"
        "child = os.fork()\n"
        "if child == 0:\n"
        "    time.sleep(30)\n"
        "    os._exit(0)\n"
        "def attempt(fn):\n"
        "    try:\n"
        "        fn()\n"
        "        return 'ok'\n"
        "    except OSError as exc:\n"
        "        return os.strerror(exc.errno).split()[0]\n"
        "mine = os.sched_getaffinity(0)\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "print(attempt(lambda: resource.prlimit(0, resource.RLIMIT_NOFILE, (soft - 1, hard))),\n"
        "      attempt(lambda: resource.setrlimit(resource.RLIMIT_CPU, (5, 5))),\n"
        "      attempt(lambda: os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(0, 0) + 1))),\n"
        "      attempt(lambda: os.sched_setaffinity(0, mine)),\n"
        "      attempt(lambda: os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))),\n"
        "      attempt(lambda: resource.prlimit(child, resource.RLIMIT_NOFILE, (8, 8))),\n"
        "      attempt(lambda: resource.prlimit(child, resource.RLIMIT_NOFILE)),\n"
        "      attempt(lambda: os.setpriority(os.PRIO_PROCESS, child, 19)),\n"
        "      attempt(lambda: os.setpriority(os.PRIO_USER, 0, 19)),\n"
        "      attempt(lambda: os.setpriority(os.PRIO_PGRP, 0, 19)),\n"
        "      attempt(lambda: os.sched_setaffinity(child, mine)),\n"
        "      attempt(lambda: os.sched_setscheduler(child, os.SCHED_IDLE, os.sched_param(0))),\n"
        "      attempt(lambda: os.sched_setparam(child, os.sched_param(0))))\n"
        "os.kill(child, 9)\n"
    )
    res = py(box, code)
    assert res.stdout.split() == [b"ok"] * 5 + [b"Operation"] * 8, res.stderr


def test_seccomp_program_shape() -> None:
    import struct

    program = sb.seccomp_program()
    if program is None:
        pytest.skip("no filter on this architecture")
    code = [struct.unpack("=HBBI", program[i : i + 8]) for i in range(0, len(program), 8)]
    deny = len(code) - 1
    assert code[-1] == (0x06, 0, 0, 0x00050001) and code[-2] == (0x06, 0, 0, 0x7FFF0000)
    blocked = {k for at, (op, jt, _, k) in enumerate(code) if at >= 4 and op == 0x15 and at + 1 + jt == deny}
    assert blocked == set(seccomp._BLOCKED_X86_64.values())


@pytest.mark.parametrize("bash", [True, False], ids=["bash", "python+prlimit"])
def test_rlimits_inside(box: Sandbox, monkeypatch: pytest.MonkeyPatch, bash: bool) -> None:
    if not bash:
        real_exists = os.path.exists
        monkeypatch.setattr(os.path, "exists", lambda p: False if p == "/bin/bash" else real_exists(p))
        if not box.prlimit:
            pytest.skip("no prlimit on this host")
    limits = Limits(cpu_s=7, memory_mb=300, file_size_mb=3, open_files=40, processes=20)
    res = box.run(["/bin/cat", "/proc/self/limits"], limits=limits)
    lines = res.stdout.decode().splitlines()[1:]
    table = {line[:26].strip(): line[26:].split()[:2] for line in lines if line.strip()}
    assert table["Max cpu time"][0] == "7"
    assert table["Max address space"][0] == str(300 * 1024 * 1024)
    assert table["Max file size"][0] == str(3 * 1024 * 1024)
    assert table["Max open files"] == ["40", "40"]
    assert table["Max processes"] == ["20", "20"]
    assert table["Max core file size"] == ["0", "0"]


def test_only_the_capped_tmpfs_are_writable(box: Sandbox) -> None:
    places = "/ /dev /dev/shm /dev/pts /tmp /sandbox /usr /etc /root /proc /var /lib /bin"
    res = box.run(["/bin/sh", "-c", f"for d in {places}; do touch $d/.w 2>/dev/null && echo $d; done"])
    assert res.stdout.split() == [b"/dev/shm", b"/tmp", b"/sandbox"]
