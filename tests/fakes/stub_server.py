"""A fault-injecting OpenAI-compatible server for tests and benchmarks (no model, no network).

Test scaffolding, not product: it lives under ``tests/fakes`` (run from the repository root).

Run ``python -m tests.fakes.stub_server --port P`` (``--port 0`` picks a free port and
prints ``listening on http://127.0.0.1:PORT``), or start :class:`StubServer` in a thread.

It serves ``POST /v1/completions``, ``POST /v1/chat/completions``, ``POST /tokenize``,
``GET /health`` and ``GET /stats`` on 127.0.0.1, over plain HTTP/1.1 with keep-alive, written
on asyncio streams so that it can misbehave at the socket level.

**Answers.**  For a HumanEval prompt (found by its text, in either mode) each choice is the
canonical solution with a per-problem probability between 0.15 and 0.95, else a wrong body
(``return None``); the draw is a hash of (problem, request seed, choice index), so replies are
deterministic for a seeded request and verification is exercised for real.  Other prompts get
a short fixed text.  Tokens are counted by a simple rule (words, punctuation marks and runs of
whitespace) and ``max_tokens`` truncates a choice (``finish_reason = "length"``).
``--llama-usage`` imitates llama-server's ``usage`` with ``n > 1`` (one choice counted).

**Faults**, drawn per request with the given probabilities from a seeded generator: ``429``
with ``Retry-After``, ``500``, ``hang`` (no reply for ``--hang-s``, past the client's
timeout), ``malformed`` (200 with broken JSON), ``drop`` (connection closed without a reply)
and ``slow`` (reply after ``--slow-s``).  A lying server (issue 9): ``no_usage`` (a reply
without ``usage``), ``zero_usage`` (``usage`` all zeros; with ``--empty-tokenize`` ``/tokenize``
counts nothing either), ``overlong`` (ignores ``max_tokens``: each choice runs to
``--overlong-factor`` x ``max_tokens`` tokens, ``finish_reason = "length"``, honest ``usage``),
``extra_choices`` (ignores ``n``: ``--extra-n`` more choices than asked, all billed, honest
``usage``) and ``bad_usage`` (a nonsense count: negative, ``1.9e30``, NaN, a string, ``true``).

**The bill.**  ``GET /stats`` reports what was served and what a provider would bill: the
tokens of every reply computed (including hung, malformed and dropped ones, which a real
provider may bill too, and the extra and over-long choices of a lying server), whatever its
``usage`` says.  ``excess_completion_tokens`` is the part of the work a request did not allow:
for each reply ``sum_{i<n} max(0, O_i - max_tokens) + sum_{i>=n} max(O_i, max_tokens)`` (tokens
past ``max_tokens``, and every extra choice at up to ``max_tokens``, the most a client that
cannot trust the reply's ``usage`` may have to assume).  ``authorizations`` lists the
``Authorization`` headers received.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

TOKEN = re.compile(r"\w+|[^\w\s]|\s+")
FAULTS = (
    "429",
    "500",
    "hang",
    "malformed",
    "drop",
    "slow",
    "no_usage",
    "zero_usage",
    "overlong",
    "extra_choices",
    "bad_usage",
)
#: Nonsense token counts a ``bad_usage`` reply puts in one field of ``usage``.
BAD_COUNTS: tuple[object, ...] = (-5, -1, 1.9e30, 1e400, float("nan"), "12", True, 2.5, [3], None)
BAD_FIELDS = ("prompt_tokens", "completion_tokens")


def count_tokens(text: str) -> int:
    return len(TOKEN.findall(text))


def truncate_tokens(text: str, limit: int) -> tuple[str, int, bool]:
    pieces = TOKEN.findall(text)
    if len(pieces) <= limit:
        return text, len(pieces), False
    return "".join(pieces[:limit]), limit, True


def _unit(*parts: object) -> float:
    h = hashlib.sha256("\x00".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


@lru_cache(maxsize=1)
def _humaneval() -> dict[str, tuple[str, str, str]]:
    """HumanEval prompt -> (problem id, prompt, canonical solution); empty if unavailable."""
    try:
        from budget.tasks import load_task

        task = load_task("humaneval")
    except Exception:
        return {}
    return {p.prompt: (p.id, p.prompt, p.canonical_solution or "") for p in task.problems}


def _find_problem(text: str) -> tuple[str, str, str] | None:
    table = _humaneval()
    hit = table.get(text)
    if hit is not None:
        return hit
    for prompt, row in table.items():
        if prompt in text:
            return row
    return None


def answer(text: str, *, chat: bool, seed: object, choice: int) -> str:
    """The stub's reply to a prompt (see module docstring)."""
    row = _find_problem(text)
    if row is None:
        return "I am a stub model. 42"
    pid, prompt, solution = row
    p_correct = 0.15 + 0.8 * _unit("difficulty", pid)
    correct = _unit("draw", pid, seed, choice) < p_correct
    body = solution if correct else "    return None\n"
    if chat:
        return f"Here is the function:\n\n```python\n{prompt}{body}```\n"
    return body


@dataclass
class FaultMix:
    """Probabilities of each fault per request (the rest are served normally)."""

    p429: float = 0.0
    p500: float = 0.0
    hang: float = 0.0
    malformed: float = 0.0
    drop: float = 0.0
    slow: float = 0.0
    no_usage: float = 0.0
    zero_usage: float = 0.0
    overlong: float = 0.0
    extra_choices: float = 0.0
    bad_usage: float = 0.0
    retry_after: str = "0.05"
    hang_s: float = 2.0
    slow_s: float = 0.2
    empty_tokenize: bool = False
    overlong_factor: int = 5
    extra_n: int = 2

    def draw(self, rng: random.Random) -> str | None:
        u = rng.random()
        for name, p in (
            ("429", self.p429),
            ("500", self.p500),
            ("hang", self.hang),
            ("malformed", self.malformed),
            ("drop", self.drop),
            ("slow", self.slow),
            ("no_usage", self.no_usage),
            ("zero_usage", self.zero_usage),
            ("overlong", self.overlong),
            ("extra_choices", self.extra_choices),
            ("bad_usage", self.bad_usage),
        ):
            if u < p:
                return name
            u -= p
        return None


# --- outcome modes (helper `outcomes`, issue 9 items 8-11) --------------------------------------
@dataclass
class OutcomeModes:
    """Misbehaviours about what a run ends with, what it is told of the server and what it stores.

    ``reject_status``: every generation request is answered with this HTTP status (e.g. 400: every
    request rejected; 401: a missing key).  ``slots``: serve llama.cpp's ``GET /props``
    (``total_slots``) and ``GET /slots`` (one entry per slot) with this many slots.
    ``poison_text``: every choice's text is this string (lone surrogates, NUL, terminal escapes,
    megabytes), sent as JSON escapes the way a real server would.
    """

    reject_status: int | None = None
    slots: int | None = None
    poison_text: str | None = None

    def route(self, method: str, path: str) -> tuple[int, bytes] | None:
        """The reply to a non-generation request this mode serves, if any."""
        if self.slots is not None and method == "GET" and path == "/props":
            return 200, json.dumps({"total_slots": self.slots, "default_generation_settings": {}}).encode()
        if self.slots is not None and method == "GET" and path == "/slots":
            return 200, json.dumps([{"id": i, "is_processing": False} for i in range(self.slots)]).encode()
        return None

    def rejection(self) -> tuple[int, bytes] | None:
        if self.reject_status is None:
            return None
        return self.reject_status, b'{"error":{"message":"request rejected by the stub"}}'


# --- end of outcome modes -------------------------------------------------------------------------


@dataclass
class Stats:
    requests: int = 0
    served: int = 0
    choices_served: int = 0
    billed_prompt_tokens: int = 0
    billed_completion_tokens: int = 0
    excess_completion_tokens: int = 0
    authorizations: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FAULTS, 0))
    #: (monotonic time a generation request arrived, its fault or "") per request
    log: list[tuple[float, str]] = field(default_factory=list)


class StubServer:
    """The server; ``start_in_thread`` for tests, ``serve`` for the command line."""

    def __init__(
        self,
        *,
        faults: FaultMix | None = None,
        seed: int = 0,
        latency_s: float = 0.0,
        llama_usage: bool = False,
        outcomes: OutcomeModes | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.faults = faults or FaultMix()
        self.rng = random.Random(seed)
        self.latency_s = latency_s
        self.llama_usage = llama_usage
        self.outcomes = outcomes or OutcomeModes()
        self.host = host
        self.port = port
        self.stats = Stats()
        self._server: asyncio.AbstractServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- HTTP ---------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(length) if length else b""
                if "authorization" in headers:
                    self.stats.authorizations.append(headers["authorization"])
                keep = await self._route(method, path, body, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # stop(): end quietly (a cancelled handler task is logged)
            pass
        finally:
            writer.close()

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter, status: int, body: bytes, extra: dict[str, str] | None = None
    ) -> None:
        reason = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}
        head = [f"HTTP/1.1 {status} {reason.get(status, 'Error')}", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        head += [f"Content-Length: {len(body)}", "Connection: keep-alive", "", ""]
        writer.write("\r\n".join(head).encode("latin-1") + body)
        await writer.drain()

    async def _route(self, method: str, path: str, body: bytes, writer: asyncio.StreamWriter) -> bool:
        if method == "GET" and path == "/health":
            await self._send(writer, 200, b'{"status":"ok"}')
            return True
        if method == "GET" and path == "/stats":
            await self._send(writer, 200, json.dumps(self.stats.__dict__).encode())
            return True
        served = self.outcomes.route(method, path)
        if served is not None:
            await self._send(writer, *served)
            return True
        if method == "POST" and path == "/tokenize":
            doc = json.loads(body or b"{}")
            text = doc.get("content", doc.get("prompt", ""))
            count = 0 if self.faults.empty_tokenize else count_tokens(text)
            await self._send(writer, 200, json.dumps({"tokens": list(range(count))}).encode())
            return True
        if method == "POST" and path in ("/v1/completions", "/v1/chat/completions"):
            return await self._generate(json.loads(body or b"{}"), path.endswith("chat/completions"), writer)
        await self._send(writer, 404, b'{"error":{"message":"not found"}}')
        return True

    def _reply(
        self, doc: dict[str, Any], chat: bool, fault: str | None = None
    ) -> tuple[dict[str, Any], int, int]:
        if chat:
            prompt = "\n".join(str(m.get("content", "")) for m in doc.get("messages", []))
        else:
            prompt = str(doc.get("prompt", ""))
        n = int(doc.get("n", 1) or 1)
        max_tokens = int(doc.get("max_tokens", 256) or 256)
        stops = doc.get("stop") or []
        stops = [stops] if isinstance(stops, str) else list(stops)
        seed = doc.get("seed")
        if seed is None:
            seed = f"unseeded-{self.stats.requests}"
        choices, counts = [], []
        for i in range(n + (self.faults.extra_n if fault == "extra_choices" else 0)):
            text = answer(prompt, chat=chat, seed=seed, choice=i)
            if self.outcomes.poison_text is not None:
                text = self.outcomes.poison_text
            for s in stops:
                cut = text.find(s)
                if cut >= 0:
                    text = text[:cut]
            if fault == "overlong":  # ignores max_tokens; claims it stopped at the limit
                want = self.faults.overlong_factor * max_tokens
                text = (text + " filler" * want)[: max(len(text), 1) + 7 * want]
                text, used, _ = truncate_tokens(text, want)
                truncated = True
            else:
                text, used, truncated = truncate_tokens(text, max_tokens)
            counts.append(used)
            reason = "length" if truncated else "stop"
            if chat:
                choices.append(
                    {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": reason}
                )
            else:
                choices.append({"index": i, "text": text, "finish_reason": reason})
        prompt_tokens = count_tokens(prompt)
        reported = counts[0] if self.llama_usage else sum(counts)
        self.stats.excess_completion_tokens += sum(
            max(0, c - max_tokens) if i < n else max(c, max_tokens) for i, c in enumerate(counts)
        )
        reply: dict[str, Any] = {
            "id": f"stub-{self.stats.requests}",
            "object": "chat.completion" if chat else "text_completion",
            "model": str(doc.get("model", "stub")),
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": reported,
                "total_tokens": prompt_tokens + reported,
            },
        }
        if fault == "no_usage":
            del reply["usage"]
        elif fault == "zero_usage":
            reply["usage"] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        elif fault == "bad_usage":
            reply["usage"][self.rng.choice(BAD_FIELDS)] = self.rng.choice(BAD_COUNTS)
        return reply, prompt_tokens, sum(counts)

    def _bill(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.stats.billed_prompt_tokens += prompt_tokens
        self.stats.billed_completion_tokens += completion_tokens

    async def _generate(self, doc: dict[str, Any], chat: bool, writer: asyncio.StreamWriter) -> bool:
        self.stats.requests += 1
        fault = self.faults.draw(self.rng)
        self.stats.log.append((time.monotonic(), fault or ""))
        if fault is not None:
            self.stats.faults[fault] += 1
        rejected = self.outcomes.rejection()
        if rejected is not None:
            await self._send(writer, *rejected)
            return True
        if fault == "429":
            await self._send(
                writer, 429, b'{"error":{"message":"rate limited"}}', {"Retry-After": self.faults.retry_after}
            )
            return True
        if fault == "500":
            await self._send(writer, 500, b'{"error":{"message":"internal error"}}')
            return True
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        reply, prompt_tokens, completion_tokens = self._reply(doc, chat, fault)
        self._bill(prompt_tokens, completion_tokens)  # the work is done: a provider bills it
        if fault == "drop":
            return False
        if fault == "hang":
            await asyncio.sleep(self.faults.hang_s)
        if fault == "slow":
            await asyncio.sleep(self.faults.slow_s)
        if fault == "malformed":
            await self._send(writer, 200, b'{"choices": [{"text": "trunc')
            return True
        await self._send(writer, 200, json.dumps(reply).encode())
        self.stats.served += 1
        self.stats.choices_served += len(reply["choices"])
        return True

    # --- running ----------------------------------------------------------------------------
    async def start(self) -> int:
        _humaneval()  # load the problems before the first request, not during it
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, limit=2**20, backlog=512
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def serve(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    def start_in_thread(self) -> int:
        """Serve from a daemon thread; returns the port."""
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=main, name="stub-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self.port

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        server = self._server

        async def close() -> None:
            if server is not None:
                server.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in others:
                t.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(close(), loop)
        if self._thread is not None:
            self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m tests.fakes.stub_server", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--latency-ms", type=float, default=0.0, help="delay before every reply")
    ap.add_argument("--llama-usage", action="store_true", help="usage counts one choice only (llama-server)")
    for name in ("p429", "p500", "hang", "malformed", "drop", "slow", *FAULTS[6:]):
        flag = name.replace("_", "-")
        ap.add_argument(f"--{flag}", type=float, default=0.0, help=f"probability of the {name} fault")
    ap.add_argument("--empty-tokenize", action="store_true", help="/tokenize counts no tokens")
    ap.add_argument("--overlong-factor", type=int, default=5)
    ap.add_argument("--extra-n", type=int, default=2)
    ap.add_argument("--retry-after", default="0.05")
    ap.add_argument("--hang-s", type=float, default=2.0)
    ap.add_argument("--slow-s", type=float, default=0.2)
    args = ap.parse_args(argv)
    faults = FaultMix(
        p429=args.p429,
        p500=args.p500,
        hang=args.hang,
        malformed=args.malformed,
        drop=args.drop,
        slow=args.slow,
        no_usage=args.no_usage,
        zero_usage=args.zero_usage,
        overlong=args.overlong,
        extra_choices=args.extra_choices,
        bad_usage=args.bad_usage,
        empty_tokenize=args.empty_tokenize,
        overlong_factor=args.overlong_factor,
        extra_n=args.extra_n,
        retry_after=args.retry_after,
        hang_s=args.hang_s,
        slow_s=args.slow_s,
    )
    server = StubServer(
        faults=faults,
        seed=args.seed,
        latency_s=args.latency_ms / 1000,
        llama_usage=args.llama_usage,
        port=args.port,
    )

    async def run() -> None:
        port = await server.start()
        print(f"listening on http://127.0.0.1:{port}", flush=True)
        await server.serve()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
