"""vLLM's offline engine on a local GPU (optional extra: ``pip install 'budget[vllm]'``).

One request per problem with ``SamplingParams(n=k, seed=...)``: vLLM computes the prompt
once and samples ``k`` continuations from it.  The engine runs in a worker thread (it is
synchronous); requests are served one at a time (``concurrency = 1``), each one a batch of
``k`` sequences.  Its cost is GPU time: the runner meters the busy time of the call with
:class:`~budget.executor.costs.MachineTimeCost` at the machine's $/hour from ``pricing/``.

Token counts are exact: vLLM returns the prompt's token ids and each choice's token ids.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from budget.errors import BackendError, InputError
from budget.executor.records import Choice, Generation, GenerationRequest, Mode


def vllm_available() -> bool:
    """Whether vLLM is installed (the ``budget[vllm]`` extra)."""
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


class VLLMOfflineBackend:
    """A model loaded in-process with ``vllm.LLM``."""

    name = "vllm-offline"
    concurrency = 1

    def __init__(self, model: str, *, max_n: int = 1024, engine_args: dict[str, Any] | None = None) -> None:
        if not vllm_available():
            raise InputError("the vLLM backend needs the optional extra: pip install 'budget[vllm]'")
        self.model = model
        self.max_n = max(1, max_n)
        self.engine_args = dict(engine_args or {})
        self._llm: Any = None
        self._lock = threading.Lock()
        self._busy = threading.Lock()

    def _engine(self) -> Any:
        with self._lock:
            if self._llm is None:
                from vllm import LLM

                try:
                    self._llm = LLM(model=self.model, **self.engine_args)
                except Exception as exc:  # CUDA, weights, config: nothing to retry
                    raise BackendError(f"vLLM could not load {self.model}: {exc}") from exc
            return self._llm

    def sampling_params(self, request: GenerationRequest) -> Any:
        """The sampling parameters vLLM takes for ``request``."""
        from vllm import SamplingParams

        return SamplingParams(
            n=request.n,
            seed=request.seed,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            stop=list(request.prompt.stop) or None,
        )

    def _run(self, request: GenerationRequest) -> Generation:
        llm = self._engine()
        params = self.sampling_params(request)
        # one call at a time: the engine is not thread-safe, and a call the runner gave up on
        # (timeout) cannot be interrupted, so the next one waits for the GPU to be free
        with self._busy:
            started = time.monotonic()
            if request.prompt.mode is Mode.COMPLETION:
                outputs = llm.generate([request.prompt.text], params, use_tqdm=False)
            else:
                messages = [{"role": m.role, "content": m.content} for m in request.prompt.messages]
                outputs = llm.chat([messages], params, use_tqdm=False)
            latency = time.monotonic() - started
        out = outputs[0]
        choices = tuple(
            Choice(text=c.text, output_tokens=len(c.token_ids), finish_reason=str(c.finish_reason or ""))
            for c in out.outputs
        )
        return Generation(
            choices=choices,
            prompt_tokens=len(out.prompt_token_ids or []),
            latency_s=latency,
            token_count_source="vllm token ids",
        )

    async def open(self) -> None:
        """Load the engine (in a thread: it takes a while)."""
        await asyncio.to_thread(self._engine)

    async def generate(self, request: GenerationRequest) -> Generation:
        """Run ``request`` on the engine in a thread; its reply."""
        return await asyncio.to_thread(self._run, request)

    async def aclose(self) -> None:
        """Drop the engine."""
        self._llm = None
