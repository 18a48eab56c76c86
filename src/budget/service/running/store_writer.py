"""The store writer: one thread that commits samples, verdicts and the run's spend in arrival order.

What has queued up since the last write (gathered for :data:`WRITE_GATHER_S`) is committed in
one transaction, and verdicts follow their samples.  The run's spend (settled, and reserved by
requests in flight) is written with them, at most every :data:`SPEND_WRITE_INTERVAL_S` seconds.

:class:`ReservationJournal` is the ledger's journal in the store (see
:mod:`budget.executor.ledger` and :mod:`budget.store.ledger`): a reservation is written (under the
run's lease) by the thread that asks for it, before its request is sent; its settlement goes
through the writer, with the samples.  A settlement that never reaches the store (a kill, a full
disk) leaves its reservation open, and the next resume charges it whole: more, never less.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from budget.errors import StoreError
from budget.money import from_micro

if TYPE_CHECKING:
    from budget.executor.records import BoughtSample
    from budget.store import Store
    from budget.verify.protocol import Verdict


#: The run's spend (settled and in flight) is written at most this often, and at the end.
SPEND_WRITE_INTERVAL_S = 0.2
#: The store writer waits this long after a first item for more to write in the same transaction.
WRITE_GATHER_S = 0.05


class StoreWriter:
    """Writes samples, verdicts and the run's spend from one thread, in arrival order."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        task: str,
        settings: dict[str, Any],
        keep_text: bool,
        prompt_hashes: Mapping[tuple[str, str], str] | None = None,
        *,
        lease_token: str | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.task = task
        self.settings = settings
        self.keep_text = keep_text
        #: (model, problem id) -> hash of the prompt that model was sent for that problem
        self.prompt_hashes = dict(prompt_hashes or {})
        #: the run's spend and settings are written only while this token holds the run's lease
        self.lease_token = lease_token
        self.error: BaseException | None = None
        self._pending_spend: tuple[int, int] | None = None
        self._spend_written = 0.0
        self._closing = threading.Event()
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="budget-store-writer", daemon=True)
        self._thread.start()

    def _check(self) -> None:
        if self.error is not None:
            raise StoreError(f"writing to the store failed: {self.error}")

    def samples(self, records: Sequence[BoughtSample]) -> None:
        """Queue finished samples for the next transaction (raises a writer error seen earlier)."""
        self._check()
        self._queue.put(("samples", list(records)))

    def verdicts(self, record: BoughtSample, verdicts: Mapping[str, Verdict]) -> None:
        """Queue a sample's verdicts (written after the sample)."""
        self._check()
        self._queue.put(("verdicts", (record, dict(verdicts))))

    def spend(self, spent_micro: int, reserved_micro: int) -> None:
        """Queue the run's spend and reservations in flight (written at most every interval)."""
        self._queue.put(("spend", (spent_micro, reserved_micro)))

    def settled(self, key: int, charged_micro: int) -> None:
        """Close reservation ``key`` in the store (queued; never raises)."""
        self._queue.put(("settle", (key, charged_micro)))

    def close_quietly(self) -> None:
        """Flush and stop, keeping the first error for :meth:`close` to raise."""
        if self._thread.is_alive():
            self._closing.set()
            self._queue.put(None)
            self._thread.join()

    def close(self) -> None:
        """Flush and stop; raise the first error the writer met."""
        self.close_quietly()
        self._check()

    def _loop(self) -> None:
        from budget.store import SampleKey

        while True:
            item = self._queue.get()
            if item is None:
                if self._pending_spend is not None and self.error is None:
                    try:
                        self._write_spend(*self._pending_spend)
                    except BaseException as exc:
                        self.error = exc
                return
            batch = [item]
            self._closing.wait(WRITE_GATHER_S)  # let a few more arrive: one transaction, fewer GIL hand-offs
            while True:  # drain what is queued: the spend needs writing once per batch only
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            spend: tuple[int, int] | None = None
            try:
                settlements = [payload for kind, payload in batch if kind == "settle"]
                self.store.settle_reservations(settlements)
                queued: list[Any] = []  # samples of this batch, written in one transaction
                for kind, payload in batch:
                    if kind == "settle":
                        continue
                    if kind == "samples":
                        self._note_faults(payload)
                        queued.extend(self._stored(r) for r in payload)
                        continue
                    if queued:  # a verdict's sample must be stored before the verdict
                        self.store.add_samples(queued)
                        queued = []
                    if kind == "verdicts":
                        record, verdicts = payload
                        key = SampleKey(self.run_id, record.model, record.problem_id, record.index)
                        for tier, verdict in verdicts.items():
                            self.store.set_verdict(key, tier, verdict)
                    else:
                        spend = payload
                if queued:
                    self.store.add_samples(queued)
                if spend is not None:
                    self._pending_spend = spend
                now = time.monotonic()
                if self._pending_spend is not None and now - self._spend_written >= SPEND_WRITE_INTERVAL_S:
                    self._write_spend(*self._pending_spend)
                    self._pending_spend, self._spend_written = None, now
            except BaseException as exc:
                self.error = exc
                return

    def _note_faults(self, records: Sequence[BoughtSample]) -> None:
        """Samples from replies that broke the request's terms (issue 9), kept in the run's
        settings: per model, how many and the first few reasons.
        """
        for r in records:
            if not r.provider_fault:
                continue
            faults = self.settings.setdefault("provider_faults", {})
            row = faults.setdefault(r.model, {"samples": 0, "notes": []})
            row["samples"] += 1
            if len(row["notes"]) < 5 and r.provider_fault not in row["notes"]:
                row["notes"].append(r.provider_fault[:300])

    def _write_spend(self, spent_micro: int, reserved_micro: int) -> None:
        self.settings["ledger"] = {"spent_micro": spent_micro, "reserved_micro": reserved_micro}
        self.store.update_run(
            self.run_id, spent=from_micro(spent_micro), settings=self.settings, lease_token=self.lease_token
        )

    def _stored(self, r: BoughtSample) -> Any:
        from budget.store import SampleRecord as StoredSample
        from budget.store import text_hash
        from budget.store.records import utcnow

        return StoredSample.model_construct(
            run_id=self.run_id,
            model=r.model,
            problem_id=r.problem_id,
            sample_index=r.index,
            task=self.task,
            seed=r.seed,
            completion=r.completion if self.keep_text else None,
            completion_hash="" if self.keep_text else text_hash(r.completion),
            prompt_tokens=r.prompt_tokens,
            output_tokens=r.output_tokens,
            cost=from_micro(r.cost_micro),
            latency_s=r.latency_s,
            finish_reason=r.finish_reason[:40],
            prompt_hash=self.prompt_hashes.get((r.model, r.problem_id), ""),
            created_at=utcnow(),
            verdicts={},
        )


class ReservationJournal:
    """The ledger's journal in the store: reservations written at once, settlements via the writer."""

    def __init__(self, store: Store, run_id: str, lease_token: str, writer: StoreWriter) -> None:
        self.store = store
        self.run_id = run_id
        self.lease_token = lease_token
        self.writer = writer

    def opened(self, amount_micro: int, label: str) -> int:
        """Write a reservation to the store before its request is sent; its key."""
        return self.store.open_reservation(self.run_id, self.lease_token, amount_micro, model=label)

    def settled(self, key: int, charged_micro: int) -> None:
        """Close reservation ``key`` with its charge (through the writer)."""
        self.writer.settled(key, charged_micro)
