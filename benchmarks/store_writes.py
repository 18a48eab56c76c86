"""Benchmark: how fast the store takes samples, against plain sqlite3 doing the same writes.

Each sample is written the way ``budget run``'s writer does it: one transaction per sample
(the idempotency check on (run, model, problem, index), the sample row, one verdict row), in
an SQLite file in WAL mode with ``synchronous=NORMAL``.  The baseline is the standard library's
``sqlite3`` doing the same check-then-insert of the same two rows per transaction on a file with
the same settings.  Both are timed in the same run, interleaved in blocks; the report gives
samples per second for each, their ratio, and the time of ``finished_keys`` (resume) and
``problem_counts`` (fitting) over all the samples written, and ``add_samples`` with 32
samples per transaction (what a writer thread draining a queue can use).

Usage: python benchmarks/store_writes.py [--samples 2000] [--rounds 3] [--url SQLALCHEMY_URL]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from budget.store import SampleRecord, Store
from budget.verify.protocol import Outcome, Verdict

PASS = Verdict(passed=True, outcome=Outcome.PASS, duration_s=0.01)


def _records(run_id: str, n: int) -> list[SampleRecord]:
    return [
        SampleRecord(
            run_id=run_id,
            model="m",
            problem_id=f"HumanEval/{i // 10}",
            sample_index=i % 10,
            completion="    return sorted(set(l))\n" * 4,
            prompt_tokens=150,
            output_tokens=40,
            cost=Decimal("0.0000345"),
            latency_s=0.8,
            verdicts={"verifier": PASS},
        )
        for i in range(n)
    ]


def _store_block(store: Store, records: list[SampleRecord]) -> float:
    t0 = time.perf_counter()
    for r in records:
        store.add_sample(r)
    return time.perf_counter() - t0


def _batch_block(store: Store, records: list[SampleRecord], size: int = 32) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(records), size):
        store.add_samples(records[i : i + size])
    return time.perf_counter() - t0


def _sqlite_setup(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE s (id INTEGER PRIMARY KEY, run TEXT, model TEXT, task TEXT, problem TEXT, idx INT,"
        " completion TEXT, chash TEXT, pt INT, ot INT, cost TEXT, micro INT, lat REAL, created TEXT,"
        " UNIQUE (run, model, problem, idx))"
    )
    conn.execute("CREATE TABLE v (sid INT, tier TEXT, passed INT, outcome TEXT, dur REAL, detail TEXT)")
    return conn


def _sqlite_block(conn: sqlite3.Connection, records: list[SampleRecord]) -> float:
    import hashlib

    t0 = time.perf_counter()
    for r in records:
        conn.execute("BEGIN")
        hit = conn.execute(
            "SELECT id FROM s WHERE run=? AND model=? AND problem=? AND idx=?",
            (r.run_id, r.model, r.problem_id, r.sample_index),
        ).fetchone()
        if hit is None:
            chash = hashlib.sha256((r.completion or "").encode()).hexdigest()
            cur = conn.execute(
                "INSERT INTO s (run, model, task, problem, idx, completion, chash, pt, ot, cost, micro, lat,"
                " created) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    r.run_id, r.model, "t", r.problem_id, r.sample_index, r.completion, chash,
                    r.prompt_tokens, r.output_tokens, str(r.cost), 35, r.latency_s, r.created_at.isoformat(),
                ),
            )  # fmt: skip
            conn.execute(
                "INSERT INTO v VALUES (?,?,?,?,?,?)", (cur.lastrowid, "verifier", 1, "pass", 0.01, "")
            )
        conn.execute("COMMIT")
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--url", default=None, help="Store URL (default: an SQLite file in a temp dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(args.url or str(Path(tmp) / "store.db"))
        conn = _sqlite_setup(Path(tmp) / "plain.db")
        t_store, t_plain, t_batch = [], [], []
        run_ids = []
        for i in range(args.rounds):
            run = store.create_run("t", models=["m"])
            run_ids.append(run.run_id)
            recs = _records(run.run_id, args.samples)
            t_plain.append(_sqlite_block(conn, recs))
            t_store.append(_store_block(store, recs))
            batch_run = store.create_run("t", models=["m"])
            t_batch.append(_batch_block(store, _records(batch_run.run_id, args.samples)))
            if i == 0:  # resume: the same samples again are recognised and not written
                t0 = time.perf_counter()
                again = sum(store.add_sample(r) for r in recs[:200])
                t_dup = (time.perf_counter() - t0) / 200
                assert again == 0
        t0 = time.perf_counter()
        keys = store.finished_keys(run_ids[0])
        t_keys = time.perf_counter() - t0
        t0 = time.perf_counter()
        counts = store.problem_counts("t")
        t_counts = time.perf_counter() - t0
        store.close()
        conn.close()
    n = args.samples
    rs, rp = n / statistics.median(t_store), n / statistics.median(t_plain)
    print(f"store: {store.url.split('?')[0]}; samples per block: {n}, blocks: {args.rounds} (median)")
    print(f"Store.add_sample : {rs:8.0f} samples/s")
    print(f"plain sqlite3    : {rp:8.0f} samples/s")
    print(f"ratio store/plain: {rs / rp:.2f}")
    print(f"Store.add_samples, 32 per transaction: {n / statistics.median(t_batch):8.0f} samples/s")
    print(f"repeat write (resume, already stored): {1e3 * t_dup:.2f} ms per sample")
    print(f"finished_keys over {len(keys)} samples: {1e3 * t_keys:.1f} ms")
    print(f"problem_counts over {n * args.rounds} samples ({len(counts)} problems): {1e3 * t_counts:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
