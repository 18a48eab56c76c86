"""Hostile samples: each is contained, none passes, and the harness stays healthy.

Every attack is written against HumanEval/53 (``add(x, y)``) so that *succeeding* at the attack
is observable: the sample returns the right answer only if the attack worked (it read the
secret, reached the network, saw a leftover process...), or it tries to make the harness report
success without answering (early exit, forged frames, a replaced ``check``).  So a verdict of
``passed`` is exactly a containment failure.  After every attack the same worker pool must
still pass the canonical solution, and a file outside the sandbox must be unchanged.
"""

from __future__ import annotations

import os
import secrets
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from budget.verify.pool import UnitTestJob, WorkerPool
from budget.verify.protocol import Outcome
from budget.verify.sandbox import Limits, Sandbox, get_sandbox

PROBLEM = "HumanEval/53"
CANONICAL = "    return x + y\n"
LABEL = f"budget-hostile-{os.getpid()}-{secrets.token_hex(4)}"
SECRET = f"sk-budget-hostile-{secrets.token_hex(12)}"
REPO = Path(__file__).resolve().parents[2]


def _processes_with(label: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if label.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def env_secret() -> Iterator[str]:
    """A fake API key in budget's own environment while the workers start and run."""
    mp = pytest.MonkeyPatch()
    mp.setenv("OPENAI_API_KEY", SECRET)
    mp.setenv("ANTHROPIC_API_KEY", SECRET)
    yield SECRET
    mp.undo()


@pytest.fixture(scope="module")
def pool(env_secret: str) -> Iterator[WorkerPool]:
    """One worker, so each attack is followed on the very same sandbox by the next job."""
    limits = Limits(cpu_s=5, memory_mb=256, processes=16, file_size_mb=8, open_files=64, tmp_mb=32)
    p = WorkerPool(get_sandbox(), size=1, limits=limits, label=LABEL)
    yield p
    p.close()
    assert _processes_with(LABEL) == [], "a sandboxed process outlived its pool"


@pytest.fixture(scope="module")
def add(humaneval: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return humaneval[PROBLEM]


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file on the host that samples try to read, change and delete."""
    path = tmp_path_factory.mktemp("outside") / "victim.txt"
    path.write_text(f"original {SECRET}\n")
    return path


@pytest.fixture(scope="module")
def listener() -> Iterator[tuple[int, str]]:
    """A TCP listener on all host addresses, and the host's non-loopback address (if any)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                conn.sendall(b"hello from the host\n")
                conn.close()
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # UDP connect sends nothing; it picks the route
        host_ip = probe.getsockname()[0]
    except OSError:
        host_ip = ""
    finally:
        probe.close()
    yield srv.getsockname()[1], host_ip
    stop.set()
    thread.join()
    srv.close()


def run(pool: WorkerPool, add: dict[str, Any], completion: str, timeout_s: float = 2.0) -> Any:
    job = UnitTestJob(
        prompt=add["prompt"], completion=completion, test=add["test"], entry_point="add", timeout_s=timeout_s
    )
    return pool.run(job)


def body(code: str) -> str:
    """Module-level code placed after ``add``'s stub body (so the function exists)."""
    return "    pass\n\n" + textwrap.dedent(code)


def attacks(outside: Path, port: int, host_ip: str) -> dict[str, str]:
    prefix = SECRET[: len("sk-budget-hostile-")]
    return {
        "fork bomb": body(
            """
            import os
            while True:
                try:
                    os.fork()
                except OSError:
                    pass
            """
        ),
        "memory hog": body(
            """
            hog = []
            while True:
                hog.append(bytearray(32 * 1024 * 1024))
            """
        ),
        "memory hog in many processes": body(
            """
            import os, time
            for _ in range(12):
                if os.fork() == 0:
                    block = bytearray(200 * 1024 * 1024)
                    for i in range(0, len(block), 4096):
                        block[i] = 1
                    time.sleep(60)
            time.sleep(60)
            """
        ),
        "infinite loop": "    while True:\n        pass\n",
        "infinite loop ignoring signals": body(
            """
            import signal
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU, signal.SIGALRM):
                signal.signal(s, signal.SIG_IGN)
            while True:
                pass
            """
        ),
        "huge file write": body(
            f"""
            ok = True
            for target in ("/tmp/huge", "huge", {str(outside.parent / "huge")!r}):
                try:
                    with open(target, "wb") as fh:
                        for _ in range(64):
                            fh.write(b"x" * (4 * 1024 * 1024))
                except BaseException:
                    ok = False
            def add(x, y):
                return x + y if ok else None
            """
        ),
        "read keys from env, /proc, ~/.ssh and host files": body(
            f"""
            import glob, os
            blob = repr(dict(os.environ))
            paths = glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline")
            paths += glob.glob(os.path.expanduser("~/.ssh/*")) + glob.glob("/root/.ssh/*")
            paths += glob.glob("/home/*/.ssh/*") + [{str(outside)!r}, {str(Path.home() / ".bash_history")!r}]
            for p in paths:
                try:
                    with open(p, "rb") as fh:
                        blob += fh.read(1 << 20).decode(errors="replace")
                except OSError:
                    pass
            found = {prefix!r} in blob
            def add(x, y):
                return x + y if found else None
            """
        ),
        "connect to a local port and an outside address": body(
            f"""
            import socket
            reached = False
            for host in ("127.0.0.1", {host_ip!r}):
                if not host:
                    continue
                s = socket.socket()
                s.settimeout(1)
                try:
                    s.connect((host, {port}))
                    reached = reached or s.recv(5) == b"hello"
                except OSError:
                    pass
                finally:
                    s.close()
            def add(x, y):
                return x + y if reached else None
            """
        ),
        "kill the parent": body(
            """
            import os, signal
            os.kill(os.getppid(), signal.SIGKILL)
            def add(x, y):
                return x + y
            """
        ),
        "kill every process it can see": body(
            """
            import os, signal
            for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
                if pid != os.getpid():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            os.kill(-1, signal.SIGKILL)
            """
        ),
        "sys.exit(0) at import": body("import sys\nsys.exit(0)\n"),
        "os._exit(0) at import": body("import os\nos._exit(0)\n"),
        "os._exit(0) when called": "    import os\n    os._exit(0)\n",
        "sys.exit(0) when called": "    import sys\n    sys.exit(0)\n",
        "redefine check": body(
            """
            import builtins
            def check(candidate):
                return True
            builtins.check = check
            builtins.AssertionError = type("AssertionError", (Exception,), {})
            """
        ),
        "always-equal return value": body(
            """
            class Anything(int):
                def __eq__(self, other):
                    return True
                __hash__ = int.__hash__
            def add(x, y):
                return Anything(0)
            """
        ),
        "forged success output": body(
            """
            import json, os, struct
            def frame(obj):
                b = json.dumps(obj).encode()
                return struct.pack(">I", len(b)) + b
            forged = frame({"kind": "result", "nonce": "0" * 32, "outcome": "pass", "detail": ""})
            forged += frame({"kind": "done", "seq": 1, "tester_status": 0})
            print("passed")
            print(forged.decode(errors="replace"))
            for fd in range(0, 64):
                try:
                    os.write(fd, forged)
                except OSError:
                    pass
            for p in ("/proc/1/fd/1", "/proc/2/fd/1", "/proc/2/fd/3", "/proc/self/fd/1"):
                try:
                    with open(p, "wb") as fh:
                        fh.write(forged)
                except OSError:
                    pass
            os._exit(0)
            """
        ),
        "signals to every process": body(
            """
            import os, signal
            def add(x, y):
                for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:
                    if pid == os.getpid():
                        continue
                    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP, signal.SIGALRM):
                        try:
                            os.kill(pid, s)
                        except OSError:
                            pass
                return None
            """
        ),
        "stop the tester": body(
            """
            import os, signal
            os.kill(os.getppid(), signal.SIGSTOP)
            def add(x, y):
                return x + y
            """
        ),
        "steal the nonce or the result pipe through /proc": body(
            """
            import os
            reached = []
            for pid in {1, os.getppid()}:
                for path in (f"/proc/{pid}/mem", f"/proc/{pid}/environ"):
                    try:
                        with open(path, "rb") as fh:
                            fh.read(1)
                        reached.append(path)
                    except OSError:
                        pass
                for fd in range(64):  # listing /proc/<pid>/fd works (root owns it); opening must not
                    try:
                        os.close(os.open(f"/proc/{pid}/fd/{fd}", os.O_WRONLY))
                        reached.append(fd)
                    except OSError:
                        pass
            def add(x, y):
                return x + y if reached else None
            """
        ),
        "deep recursion": body(
            """
            import sys
            sys.setrecursionlimit(10 ** 8)
            def deep(n):
                return deep(n + 1) + 1
            deep(0)
            """
        ),
        "tamper with files outside": body(
            f"""
            import os
            targets = ({str(outside)!r}, {str(REPO / "pyproject.toml")!r}, "/usr/lib/os-release")
            for p in targets:
                try:
                    with open(p, "w") as fh:
                        fh.write("owned")
                except OSError:
                    pass
                try:
                    os.unlink(p)
                except OSError:
                    pass
            for d in ({str(outside.parent)!r}, {str(REPO)!r}, "/usr", "/"):
                try:
                    open(os.path.join(d, "budget-hostile-was-here"), "w").close()
                except OSError:
                    pass
            """
        ),
    }


ATTACK_NAMES = sorted(attacks(Path("/x"), 1, "").keys())


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_attack_is_contained(
    name: str, pool: WorkerPool, add: dict[str, Any], outside: Path, listener: tuple[int, str]
) -> None:
    before = outside.read_bytes()
    repo_before = (REPO / "pyproject.toml").read_bytes()
    completion = attacks(outside, *listener)[name]
    verdict = run(pool, add, completion)
    assert not verdict.passed, f"{name}: {verdict}"
    assert verdict.outcome is not Outcome.PASS
    # the harness is healthy: the same pool (a fresh worker if the old one was killed) still passes
    healthy = run(pool, add, CANONICAL, timeout_s=10.0)
    assert healthy.passed, f"after {name}: {healthy}"
    assert outside.read_bytes() == before
    assert sorted(p.name for p in outside.parent.iterdir()) == ["victim.txt"]
    assert (REPO / "pyproject.toml").read_bytes() == repo_before
    assert not (REPO / "budget-hostile-was-here").exists()


def test_leftover_child_cannot_reach_the_next_job(pool: WorkerPool, add: dict[str, Any]) -> None:
    """A daemon left by one sample must be dead, and its files gone, when the next job runs."""
    plant = body(
        """
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.chdir("/")
                while True:
                    for d in ("/tmp", "/sandbox", "/dev/shm"):
                        try:
                            os.makedirs(d + "/budget-locked", exist_ok=True)
                            open(d + "/budget-locked/persist", "w").close()
                            os.chmod(d + "/budget-locked", 0)
                            open(d + "/budget-persist", "w").close()
                        except OSError:
                            pass
                    time.sleep(0.01)
            os._exit(0)
        time.sleep(0.2)
        def add(x, y):
            return None
        """
    )
    probe = body(
        """
        import os
        me = os.getpid()
        ancestors = set()
        pid = me
        while pid > 1:
            with open(f"/proc/{pid}/stat") as fh:
                pid = int(fh.read().rsplit(")", 1)[1].split()[1])
            ancestors.add(pid)
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in ancestors | {me}]
        traces = [
            d + "/" + name
            for d in ("/tmp", "/sandbox", "/dev/shm")
            for name in ("budget-persist", "budget-locked")
            if os.path.lexists(d + "/" + name)
        ]
        leaked = bool(others or traces)
        def add(x, y):
            return x + y if leaked else None
        """
    )
    assert not run(pool, add, plant).passed
    assert not run(pool, add, probe).passed  # passes only if it sees the daemon or its files
    assert run(pool, add, CANONICAL, timeout_s=10.0).passed


def test_timeouts_are_reported_as_such(pool: WorkerPool, add: dict[str, Any]) -> None:
    verdict = run(pool, add, "    while True:\n        pass\n", timeout_s=1.0)
    assert verdict.outcome is Outcome.TIMEOUT


def test_nonce_is_not_in_the_sample_process(pool: WorkerPool, add: dict[str, Any]) -> None:
    """The sample cannot find the job's test code in its own memory (it arrives after the fork)."""
    probe = body(
        """
        half1, half2 = b"x, y = random.rand", b"int(0, 1000), random"
        found = False
        with open("/proc/self/maps") as fh:
            regions = [line.split()[0] for line in fh if " rw" in line]
        with open("/proc/self/mem", "rb") as mem:
            for region in regions:
                start, end = (int(v, 16) for v in region.split("-"))
                try:
                    mem.seek(start)
                    data = mem.read(end - start)
                except (OSError, ValueError, OverflowError):
                    continue
                at = data.find(half1)
                while at >= 0:
                    if data.startswith(half2, at + len(half1)):
                        found = True
                    at = data.find(half1, at + 1)
        def add(x, y):
            return x + y if found else None
        """
    )
    assert not run(pool, add, probe, timeout_s=10.0).passed


def test_control_the_same_attacks_work_without_the_sandbox(
    add: dict[str, Any], outside: Path, listener: tuple[int, str], env_secret: str
) -> None:
    """The attacks are real: unsandboxed (what --unsafe-no-sandbox gives), they succeed.

    Only attacks that read or connect locally are replayed here; none writes anything.
    """
    unsafe = WorkerPool(Sandbox(isolated=False), size=1, label=LABEL)
    steal_file = body(
        f"""
        with open({str(outside)!r}) as fh:
            found = {SECRET[:18]!r} in fh.read()
        def add(x, y):
            return x + y if found else None
        """
    )
    try:
        connect = attacks(outside, *listener)["connect to a local port and an outside address"]
        assert run(unsafe, add, connect).passed
        assert run(unsafe, add, steal_file).passed
    finally:
        unsafe.close()


def test_host_rejects_frames_without_the_jobs_nonce(
    monkeypatch: pytest.MonkeyPatch, add: dict[str, Any]
) -> None:
    """Were anything able to write on the result pipe, a frame without this job's nonce is refused."""
    from budget.verify import pool as pool_module

    real = pool_module._harness_source()
    anchor = "    write_all(\n        result_fd,\n"
    assert anchor in real
    forged = (
        '    write_all(result_fd, frame({"kind": "result", "nonce": "0" * 32, "outcome": "pass",'
        ' "detail": "", "output": ""}))\n'
    )
    monkeypatch.setattr(pool_module, "_harness_source", lambda: real.replace(anchor, forged + anchor, 1))
    tampered = WorkerPool(get_sandbox(), size=1, label=LABEL)
    try:
        verdict = run(tampered, add, "    return None\n")
        assert verdict.outcome is Outcome.SANDBOX_VIOLATION and not verdict.passed
        assert "nonce" in verdict.detail
    finally:
        tampered.close()


# --------------------------------------------------------------------------- exact_answer (issue 9, item 14)

# A tuple, list or interval is not a number written with thousands separators: each pair below
# is a wrong answer that budget's normaliser once made equal by deleting the comma.
TUPLES_ARE_NOT_NUMBERS = [
    ("(1,100)", "\\boxed{1100}"),
    ("1100", "\\boxed{(1,100)}"),
    ("1100", "\\boxed{[1,100]}"),
    ("[2,500]", "\\boxed{2500}"),
    ("[2,500]", "\\boxed{(2,500)}"),
    ("(1,100)", "\\boxed{1,100}"),
    ("1,100", "\\boxed{(1,100)}"),
    ("\\{1,100\\}", "\\boxed{1100}"),
]


@pytest.mark.parametrize(("gold", "sample"), TUPLES_ARE_NOT_NUMBERS)
def test_exact_answer_does_not_turn_tuples_into_numbers(gold: str, sample: str) -> None:
    from types import SimpleNamespace

    from budget.verify.plugins import load_verifier

    verdict = load_verifier("exact_answer").verify(SimpleNamespace(id="p", answer=gold), sample, {})
    assert not verdict.passed, f"gold {gold!r} accepted {sample!r}: {verdict.detail}"


@pytest.mark.parametrize(
    ("gold", "sample"),
    [("1100", "\\boxed{1,100}"), ("1,100", "\\boxed{1100}"), ("(1,100)", "\\boxed{(1, 100)}"),
     ("[2,500]", "\\boxed{[2, 500]}"), ("-12,345.5", "\\boxed{-12345.5}"), ("\\$1,000", "\\boxed{1000}")],
)  # fmt: skip
def test_exact_answer_still_reads_thousands_separators(gold: str, sample: str) -> None:
    from types import SimpleNamespace

    from budget.verify.plugins import load_verifier

    verdict = load_verifier("exact_answer").verify(SimpleNamespace(id="p", answer=gold), sample, {})
    assert verdict.passed, f"gold {gold!r} rejected {sample!r}: {verdict.detail}"


# One final answer that hedges between two (a list, "or", a second math region opened with "$",
# a relation, a tag, a second box): it may equal one of the two golds, never both.
HEDGES = [
    ("3", "4", "\\boxed{3 \\text{ or } 4}"),
    ("3", "4", "\\boxed{3, 4}"),
    ("3", "-3", "\\boxed{\\pm 3}"),
    ("3", "4", "\\boxed{4$ or $3}"),
    ("3", "4", "#### 4$ or $3"),
    ("3", "4", "The answer is 4$, $3"),
    ("3", "4", "\\boxed{4 \\text{ (or } 3)}"),
    ("3", "4", "\\boxed{4 ~ 3}"),
    ("3", "4", "\\boxed{x=3 \\text{ and } x=4}"),
    ("3", "4", "\\boxed{3 = 4}"),
    ("3", "4", "\\boxed{4 \\tag{3}}"),
    ("3", "4", "\\boxed{4} and finally \\boxed{3$ $}"),
    ("3", "4", "\\boxed{4 \\boxed{3}}"),
    ("3", "4", "\\boxed{\\begin{cases}3\\\\4\\end{cases}}"),
]


@pytest.mark.parametrize(("gold", "other", "sample"), HEDGES)
def test_exact_answer_accepts_a_hedge_for_at_most_one_gold(gold: str, other: str, sample: str) -> None:
    from types import SimpleNamespace

    from budget.verify.plugins import load_verifier

    verifier = load_verifier("exact_answer")
    passed = [verifier.verify(SimpleNamespace(id="p", answer=g), sample, {}).passed for g in (gold, other)]
    assert passed != [True, True], f"{sample!r} accepted for both {gold!r} and {other!r}"


# --------------------------------------------------------------------------- text that is not text (item 11)

POISONED_TEXT = {
    "lone surrogate in an exception": body("raise ValueError(chr(0xd800))\n"),
    "surrogate in a returned string": "    return chr(0xdfff) * 3\n",
    "NUL and terminal escapes in an exception": body(
        'raise ValueError("\\x00\\x1b]0;owned\\x07\\x1b[2J\\x1b[31mPASSED\\u202e")\n'
    ),
    "30 MB of output then a wrong answer": body(
        """
        import sys
        sys.stdout.write("\\x1b[2J" + "x" * (30 << 20))
        sys.stdout.write(chr(0xd800) + "\\x00")
        def add(x, y):
            return None
        """
    ),
}


def _is_safe_text(text: str) -> bool:
    return all(c.isprintable() for c in text) and len(text) <= 500


@pytest.mark.parametrize("name", sorted(POISONED_TEXT))
def test_poisoned_text_from_a_sample_comes_back_safe(
    name: str, pool: WorkerPool, add: dict[str, Any]
) -> None:
    verdict = run(pool, add, POISONED_TEXT[name], timeout_s=10.0)
    assert not verdict.passed
    assert _is_safe_text(verdict.detail), f"{name}: {verdict.detail[:200]!r}"
    verdict.model_dump_json().encode("utf-8")  # serialisable, as UTF-8


def test_budget_verify_survives_poisoned_samples(tmp_path: Path, add: dict[str, Any]) -> None:
    """`budget verify` keeps every verdict when a sample's text is not text; JSON and display are safe."""
    import json
    import subprocess
    import sys

    from budget.verify.sandbox import probe

    rows = [
        {"task_id": PROBLEM, "completion": c, "model": "m"}
        for c in (POISONED_TEXT["lone surrogate in an exception"], CANONICAL,
                  POISONED_TEXT["NUL and terminal escapes in an exception"])
    ]  # fmt: skip
    rows.append({"task_id": PROBLEM, "completion": CANONICAL, "model": "evil\x1b[2J\x07" + chr(0xD801)})
    rows.append({"task_id": PROBLEM, "completion": CANONICAL, "model": "evil\x1b]0;owned\x07\x1b[2J"})
    samples = tmp_path / "samples.jsonl"
    samples.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code = "import sys; from budget.cli import main; sys.argv = ['budget', *sys.argv[1:]]; main()"
    flags = [] if probe().available else ["--unsafe-no-sandbox"]
    env = {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "PATH")}
    args = [sys.executable, "-c", code, "verify", "--task", "humaneval", "--samples", str(samples), *flags]
    out = subprocess.run([*args, "--json"], capture_output=True, check=False, env={**env, "COLUMNS": "120"})
    assert b"Traceback" not in out.stderr, out.stderr.decode(errors="replace")[-2000:]
    doc = json.loads(out.stdout.decode("utf-8"))
    verdicts = doc["verdicts"]
    assert [v["line"] for v in verdicts] == [1, 2, 3, 4, 5]
    assert verdicts[4]["passed"] and verdicts[4]["model"] == rows[4]["model"]
    assert [v["passed"] for v in verdicts[:3]] == [False, True, False]
    assert all(_is_safe_text(v["detail"]) for v in verdicts)
    shown = subprocess.run(args, capture_output=True, check=False, env={**env, "COLUMNS": "120"})
    assert b"Traceback" not in shown.stderr, shown.stderr.decode(errors="replace")[-2000:]
    shown.stdout.decode("utf-8")
    assert b"\x1b" not in shown.stdout + shown.stderr and b"\x07" not in shown.stdout + shown.stderr


# --------------------------------------------------------------------------- state across jobs (item 12)

_IPC = """
import ctypes, ctypes.util, os
libc = ctypes.CDLL(None, use_errno=True)
try:
    libc.mq_open
    rt = libc
except AttributeError:
    rt = ctypes.CDLL(ctypes.util.find_library("rt"), use_errno=True)
libc.shmat.restype = ctypes.c_void_p
KEY, IPC_CREAT = 0x42554447, 0o1000
"""

# (plant, probe): the plant leaves something behind; the probe, a later job on the same worker,
# answers correctly only if it finds it.  The marker of the memory channel is split in two so
# that the probe's own program text does not contain it.
STATE_CHANNELS: dict[str, tuple[str, str]] = {
    **{
        f"file in {top} after chmod({top!r}, 0)": (
            body(
                f"""
                import os
                open({top!r} + "/budget-carry", "w").close()
                os.chmod({top!r}, 0)
                """
            ),
            body(
                f"""
                import os
                try:
                    os.chmod({top!r}, 0o1777)
                except OSError:
                    pass
                found = os.path.exists({top!r} + "/budget-carry")
                def add(x, y):
                    return x + y if found else None
                """
            ),
        )
        for top in ("/tmp", "/sandbox", "/dev/shm")
    },
    "System V shared memory": (
        body(
            _IPC
            + textwrap.dedent(
                """
            shmid = libc.shmget(KEY, 4096, IPC_CREAT | 0o666)
            addr = libc.shmat(shmid, None, 0)
            ctypes.memmove(addr, b"budget-carry", 12)
            """
            )
        ),
        body(
            _IPC
            + textwrap.dedent(
                """
            shmid = libc.shmget(KEY, 0, 0)
            found = False
            if shmid >= 0:
                addr = libc.shmat(shmid, None, 0)
                ok = addr not in (None, ctypes.c_void_p(-1).value)
                found = ok and ctypes.string_at(addr, 12) == b"budget-carry"
            def add(x, y):
                return x + y if found else None
            """
            )
        ),
    ),
    "System V message queue": (
        body(_IPC + "libc.msgget(KEY, IPC_CREAT | 0o666)\n"),
        body(
            _IPC + "found = libc.msgget(KEY, 0) >= 0\ndef add(x, y):\n    return x + y if found else None\n"
        ),
    ),
    "System V semaphore set": (
        body(_IPC + "libc.semget(KEY, 1, IPC_CREAT | 0o666)\n"),
        body(
            _IPC
            + "found = libc.semget(KEY, 0, 0) >= 0\ndef add(x, y):\n    return x + y if found else None\n"
        ),
    ),
    "POSIX message queue": (
        body(_IPC + "rt.mq_open(b'/budget-carry', os.O_CREAT | os.O_RDWR, 0o666, None)\n"),
        body(
            _IPC
            + "found = rt.mq_open(b'/budget-carry', os.O_RDONLY) >= 0\n"
            + "def add(x, y):\n    return x + y if found else None\n"
        ),
    ),
    "an earlier sample's program text in the harness's memory": (
        body("# budget-carry-" + "7f3a9c0e1d2b4a5c6e7f8091a2b3c4d5" * 8 + "\n"),
        body(
            """
            half1, half2 = b"budget-carry-", b"7f3a9c0e1d2b4a5c6e7f8091a2b3c4d5" * 8
            found = False
            with open("/proc/self/maps") as fh:
                regions = [line.split()[0] for line in fh if " rw" in line]
            with open("/proc/self/mem", "rb") as mem:
                for region in regions:
                    start, end = (int(v, 16) for v in region.split("-"))
                    try:
                        mem.seek(start)
                        data = mem.read(end - start)
                    except (OSError, ValueError, OverflowError):
                        continue
                    at = data.find(half1)
                    while at >= 0 and not found:
                        found = data.startswith(half2, at + len(half1))
                        at = data.find(half1, at + 1)
            def add(x, y):
                return x + y if found else None
            """
        ),
    ),
    # the kernel lets a process lower the limits and priority of another of its uid, without
    # ptrace access: a sample could shrink the long-lived harness's (so every later job's) limits,
    # renice or pin it, or encode data in them for a later sample
    "the harness's limits, nice value, scheduling and CPU affinity": (
        body(
            """
            import os, resource
            for change in (
                lambda: resource.prlimit(1, resource.RLIMIT_NOFILE, (8, 8)),
                lambda: os.setpriority(os.PRIO_PROCESS, 1, 19),
                lambda: os.setpriority(os.PRIO_USER, 0, 18),
                lambda: os.sched_setscheduler(1, os.SCHED_IDLE, os.sched_param(0)),
                lambda: os.sched_setaffinity(1, {min(os.sched_getaffinity(0))}),
            ):
                try:
                    change()
                except OSError:
                    pass
            """
        ),
        body(
            """
            import os
            with open("/proc/1/limits") as fh:
                files = [line.split()[3:5] for line in fh if line.startswith("Max open files")][0]
            found = (
                files == ["8", "8"]
                or os.getpriority(os.PRIO_PROCESS, 1) >= 18
                or os.sched_getscheduler(1) == os.SCHED_IDLE
            )
            def add(x, y):
                return x + y if found else None
            """
        ),
    ),
    # and what /proc/<pid> lets the same uid write in a non-dumpable process: its OOM score
    # (first to be killed) and its session's autogroup nice value (a smaller CPU share)
    "the harness's OOM score and autogroup nice value through /proc/1": (
        body(
            """
            for path, value in (("/proc/1/oom_score_adj", "1000"), ("/proc/1/autogroup", "19")):
                try:
                    with open(path, "w") as fh:
                        fh.write(value)
                except OSError:
                    pass
            """
        ),
        body(
            """
            with open("/proc/1/oom_score_adj") as fh:
                found = fh.read().strip() == "1000"
            try:
                with open("/proc/1/autogroup") as fh:
                    found = found or fh.read().split()[-1] == "19"
            except OSError:
                pass
            def add(x, y):
                return x + y if found else None
            """
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(STATE_CHANNELS))
def test_no_job_can_shape_the_next(name: str, pool: WorkerPool, add: dict[str, Any]) -> None:
    """Files in chmod'ed folders, IPC objects and inherited memory do not reach a later job, and a
    correct sample after a hostile one still passes (no sandbox_violation)."""
    plant, probe = STATE_CHANNELS[name]
    assert not run(pool, add, plant, timeout_s=10.0).passed
    after = run(pool, add, CANONICAL, timeout_s=10.0)
    assert after.passed, f"a correct sample after the plant ({name}): {after}"
    assert not run(pool, add, plant, timeout_s=10.0).passed
    leaked = run(pool, add, probe, timeout_s=10.0)
    assert not leaked.passed, f"{name} reached the next job: {leaked}"
    assert run(pool, add, CANONICAL, timeout_s=10.0).passed


# --------------------------------------------------------------------------- pytest_file (item 13)

_FAKE_REPORTS = """
import json, os
lines = "".join(json.dumps(f) + "\\n" for f in (
    {"test": "test_solution.py::test_small", "when": "call", "outcome": "passed", "text": ""},
    {"test": "test_solution.py::test_signs", "when": "call", "outcome": "passed", "text": ""},
    {"finish": 0, "collected": 2},
    {"exit": 0},
)).encode()
for fd in range(3, 32):
    try:
        os.write(fd, lines)
    except OSError:
        pass
"""
PYTEST_FILE_ATTACKS = {
    "fake report lines on descriptors 3-31, then os._exit(0) at import": _FAKE_REPORTS + "os._exit(0)\n",
    "fake report lines, then a wrong function": _FAKE_REPORTS + "def add(a, b):\n    return 0\n",
    "patch pytest at import so that tests do nothing": """
import _pytest.python
_pytest.python.Function.runtest = lambda self: None
def add(a, b):
    return 0
""",
    "replace the test module's assertion helper": """
import builtins, sys
builtins.AssertionError = type("AssertionError", (Exception,), {})
for m in list(sys.modules.values()):
    if getattr(m, "__name__", "") == "test_solution":
        m.test_small = m.test_signs = lambda: None
def add(a, b):
    return 0
""",
    "plant a conftest.py and a fake pytest beside the tests": """
import os
hook = "import _pytest.python\n_pytest.python.Function.runtest = lambda self: None\n"
for d in ("/verifier", "../verifier", "/sandbox", "/tmp", "."):
    for name in ("conftest.py", "pytest.py", "_budget_harness.py"):
        try:
            with open(os.path.join(d, name), "w") as fh:
                fh.write(hook)
        except OSError:
            pass
def add(a, b):
    return 0
""",
    "forged result line with a guessed nonce on every descriptor": """
import os
line = b'\\nBUDGET-PYTEST-RESULT ' + b'0' * 32 + b' {"frames": [{"finish": 0, "collected": 1}]}\\n'
for fd in range(0, 64):
    try:
        os.write(fd, line)
    except OSError:
        pass
os._exit(0)
""",
}
PYTEST_TESTS = (
    "from solution import add\n\n\n"
    "def test_small():\n    assert add(1, 2) == 3\n\n\n"
    "def test_signs():\n    assert add(-1, 1) == 0\n"
)


def _pytest_file(program: str) -> Any:
    from types import SimpleNamespace

    from budget.verify.plugins import load_verifier
    from budget.verify.sandbox import probe

    problem = SimpleNamespace(id="p", prompt="", tests=PYTEST_TESTS)
    settings = {"timeout_s": 30, "program": "completion", "unsafe_no_sandbox": not probe().available}
    return load_verifier("pytest_file").verify(problem, program, settings)


@pytest.mark.parametrize("name", sorted(PYTEST_FILE_ATTACKS))
def test_pytest_file_cannot_be_forged(name: str) -> None:
    verdict = _pytest_file(PYTEST_FILE_ATTACKS[name])
    assert not verdict.passed, f"{name}: {verdict}"
    assert _pytest_file("def add(a, b):\n    return a + b\n").passed  # the control


# --------------------------------------------------------------------------- the test sees one process

# The tests run in another process than the sample, so what a call does (raise, change its
# arguments, return) must reach the test as it would in one process, or a wrong sample passes.
# Each case: its own check, a wrong sample that must fail, a right one that must pass.
_RAISES_RUNTIME = """
def check(candidate):
    assert candidate(2, 3) == 5
    try:
        candidate(-1, 0)
    except RuntimeError:
        pass
    else:
        raise AssertionError("a negative x must raise RuntimeError")
"""
_RAISES_ANYTHING = _RAISES_RUNTIME.replace("except RuntimeError", "except Exception")
_RIGHT_RUNTIME = "    if x < 0:\n        raise RuntimeError('negative')\n    return x + y\n"
ONE_PROCESS: dict[str, tuple[str, str, str]] = {
    "SystemExit where a RuntimeError is expected": (
        _RAISES_RUNTIME,
        "    if x < 0:\n        raise SystemExit(0)\n    return x + y\n",
        _RIGHT_RUNTIME,
    ),
    "an exception class of its own where a RuntimeError is expected": (
        _RAISES_RUNTIME,
        body(
            """
            class Refused(Exception):
                pass
            def add(x, y):
                if x < 0:
                    raise Refused("negative")
                return x + y
            """
        ),
        body(
            """
            class Refused(RuntimeError):
                pass
            def add(x, y):
                if x < 0:
                    raise Refused("negative")
                return x + y
            """
        ),
    ),
    "OSError where a RuntimeError is expected": (
        _RAISES_RUNTIME,
        "    if x < 0:\n        raise OSError('negative')\n    return x + y\n",
        _RIGHT_RUNTIME,
    ),
    # the sample writes, as its reply, a frame that the tester runs out of memory parsing
    # (five million empty lists): the tester's MemoryError is not the sample's exception
    "a reply too big for the tester's memory where an exception is expected": (
        _RAISES_ANYTHING,
        body(
            """
            import os, struct
            def add(x, y):
                if x < 0:
                    reply = b'{"ok":[' + b'[],' * 5_000_000 + b'[]]}'
                    os.write(4, struct.pack(">I", len(reply)) + reply)
                    os._exit(0)
                return x + y
            """
        ),
        "    if x < 0:\n        raise ValueError('negative')\n    return x + y\n",
    ),
    "StopIteration that would end the test's loop early": (
        """
def check(candidate):
    for got, want in zip(map(candidate, [1, 2, 3], [1, 1, 1]), [2, 3, 4]):
        assert got == want
""",
        "    raise StopIteration\n",
        "    return x + y\n",
    ),
    "an exception's message as it reads in one process": (
        """
def check(candidate):
    try:
        candidate(-1, 0)
    except KeyError as exc:
        assert exc.args == ("negative",) and str(exc) == "'negative'", str(exc)
    else:
        raise AssertionError("a negative x must raise KeyError")
""",
        "    if x < 0:\n        raise KeyError('negativ')\n    return x + y\n",
        "    if x < 0:\n        raise KeyError('negative')\n    return x + y\n",
    ),
    "changes an argument it must leave alone": (
        """
def check(candidate):
    numbers = [3, 1, 2]
    assert candidate(numbers, 0) == 6
    assert numbers == [3, 1, 2], "the list passed in was changed"
""",
        "    total = sum(x) + y\n    x.clear()\n    return total\n",
        "    return sum(x) + y\n",
    ),
    "empties the list the test computes its expectation from": (
        """
def check(candidate):
    numbers = [3, 1, 2]
    assert candidate(numbers, 0) == sorted(numbers)
""",
        "    x.clear()\n    return []\n",
        "    return sorted(x)\n",
    ),
    # the tests see the change (the first run fails the partial one) but a pass that needs it is
    # not trusted: a test of a function that must change its argument in place cannot tell it
    # from the case above, so no sample passes it (stricter than one process; documented)
    "changes nested arguments in place, partly": (
        """
def check(candidate):
    rows = [[3, 1], [2]]
    table = {"k": {1, 2}}
    assert candidate(rows, table) is None
    assert rows == [[1, 3], [2, 9]] and table == {"k": {1}, "n": 1}
""",
        "    x[0].sort()\n    x[1].append(9)\n    return None\n",
        "",
    ),
}


@pytest.mark.parametrize("name", sorted(ONE_PROCESS))
def test_the_test_sees_what_one_process_would(name: str, pool: WorkerPool, add: dict[str, Any]) -> None:
    check, wrong, right = ONE_PROCESS[name]

    def run_with(completion: str) -> Any:
        job = UnitTestJob(prompt=add["prompt"], completion=completion, test=check, entry_point="add")
        return pool.run(job)

    verdict = run_with(wrong)
    assert not verdict.passed, f"{name}: {verdict}"
    if right:
        assert run_with(right).passed, name
    assert run(pool, add, CANONICAL, timeout_s=10.0).passed


_PYTEST_ONE_PROCESS_TESTS = """
import pytest
from solution import add, largest, tidy


def test_negative_raises():
    with pytest.raises(RuntimeError):
        add(-1, 0)


def test_tidy_leaves_its_argument():
    numbers = [3, 1, 2]
    assert tidy(numbers) == [1, 2, 3]
    assert numbers == [3, 1, 2]


def test_largest():
    numbers = [3, 1, 2]
    assert largest(numbers) == max(numbers)
"""
_PYTEST_RIGHT = """
def add(a, b):
    if a < 0:
        raise RuntimeError("negative")
    return a + b


def tidy(xs):
    return sorted(xs)


def largest(xs):
    return max(xs)
"""
PYTEST_ONE_PROCESS = {
    "SystemExit where a RuntimeError is expected": _PYTEST_RIGHT.replace(
        'RuntimeError("negative")', "SystemExit(0)"
    ),
    "sorts the list it must leave alone": _PYTEST_RIGHT.replace(
        "return sorted(xs)", "xs.sort()\n    return xs"
    ),
    "empties the list the test computes its expectation from": _PYTEST_RIGHT.replace(
        "return max(xs)", "xs[:] = [0]\n    return 0"
    ),
}


@pytest.mark.parametrize("name", sorted(PYTEST_ONE_PROCESS))
def test_pytest_file_sees_what_one_process_would(name: str) -> None:
    from types import SimpleNamespace

    from budget.verify.plugins import load_verifier
    from budget.verify.sandbox import probe

    problem = SimpleNamespace(id="p", prompt="", tests=_PYTEST_ONE_PROCESS_TESTS)
    settings = {"timeout_s": 30, "program": "completion", "unsafe_no_sandbox": not probe().available}
    verifier = load_verifier("pytest_file")
    verdict = verifier.verify(problem, PYTEST_ONE_PROCESS[name], settings)
    assert not verdict.passed, f"{name}: {verdict}"
    assert verifier.verify(problem, _PYTEST_RIGHT, settings).passed
