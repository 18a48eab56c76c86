"""What a provider reports it used, judged against what the request allowed and the reply shows.

A provider's ``usage`` is its bill, so budget records it, but a server can lie or err (issue 9).
Every backend that reads ``usage`` turns it into a :class:`~budget.executor.records.Generation`
here, by one rule:

* **A token count** is a JSON integer ``>= 0`` (an integral float such as ``12.0`` too).  A
  missing field, a negative, fractional, non-finite, boolean, string or list value is not one.
* **Unknown usage.**  Usage is unknown when a count is missing or not a count, or when it is
  impossible for the request and the reply:

  - ``prompt_tokens > B`` where ``B`` is the prompt's token bound (UTF-8 bytes plus template
    tokens, :func:`~budget.executor.costs.prompt_token_bound`: no tokenizer emits a token for
    less than a byte), or ``prompt_tokens = 0`` for a non-empty prompt;
  - a non-empty choice counted at 0 output tokens, by ``usage`` or by the server's own
    re-count (``/tokenize``);
  - more output tokens than the reply could hold: ``sum_i O_i > sum_i (max_tokens + bytes_i +
    T)`` over the returned choices (``T`` = :data:`~budget.executor.costs.TEMPLATE_TOKENS`; the
    ``max_tokens`` term leaves room for tokens that print nothing, such as reasoning tokens).

  Unknown usage is charged as the request's worst case, ``B`` prompt tokens and ``max_tokens``
  per returned choice (or the choice's re-count where the backend has one and it is larger):
  exactly the reservation when the server returned the ``n`` choices asked for, within
  ``max_tokens``, one ``max_tokens`` more per extra choice.  It is a provider fault.
* **Believed usage** is recorded as reported, even where it exceeds what the request allowed
  (a choice over ``max_tokens``, or more than ``n x max_tokens`` in all): the provider bills
  it, so budget records it, never clamped, and says it is a provider fault.  The ledger counts
  the part above the reservation as an overrun and stops reserving (:mod:`budget.executor.ledger`).
  Where the provider's reported ``completion_tokens`` exceed ``max_tokens`` x the returned
  choices, or there are more choices than ``n``, the server ignores the request's bounds:
  ``Generation.unbounded``, and the runner stops launching (:mod:`budget.executor.runner`).
* **Extra choices** (a server that ignores ``n``) are billed, so they are kept in the
  generation, charged, and said to be a provider fault; the runner counts them.

Per-choice output tokens for ``n > 1``: a re-count of each choice (the server's ``/tokenize``)
where the backend has one, raised to the reported total where that is larger (an OpenAI-style
total over the choices); else the reported total split in proportion to each choice's length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from budget.executor.costs import TEMPLATE_TOKENS, prompt_token_bound, split_micro
from budget.executor.records import Choice, Generation, GenerationRequest

#: ``Generation.token_count_source`` of a reply whose usage was unknown.
UNKNOWN_USAGE = "unknown usage: charged as the worst case"


def token_count(value: object) -> int | None:
    """``value`` as a token count, or None when it is not one (see module docstring)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and value >= 0:
        return int(value)
    return None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _per_choice(
    texts: Sequence[str], reported: int, recount: Sequence[int] | None
) -> tuple[list[int], str]:
    if len(texts) == 1:
        return [reported], "usage"
    if recount is not None:
        counts = list(recount)
        if reported > sum(counts):  # an OpenAI-style total: never record less than it
            extra = split_micro(reported - sum(counts), [max(1, c) for c in counts])
            counts = [c + e for c, e in zip(counts, extra, strict=True)]
        return counts, "tokenize"
    return split_micro(reported, [max(1, len(t)) for t in texts]), "usage split by length"


def judge(
    request: GenerationRequest,
    texts: Sequence[str],
    reasons: Sequence[str],
    prompt_tokens: object,
    completion_tokens: object,
    cached_tokens: object,
    recount: Sequence[int] | None,
    *,
    latency: float,
    source: str = "",
) -> Generation:
    """The generation for a reply of ``texts`` with the provider's reported usage.

    ``recount``: each choice's output tokens counted by the backend (``/tokenize``), or None.
    ``source``: how the per-choice counts were found, where the backend knows better.
    """
    faults: list[str] = []
    asked, returned = request.n, len(texts)
    if returned > asked:
        faults.append(f"returned {returned} choices for n={asked} (the extra choices are billed)")
    bound = prompt_token_bound(request)
    prompt = token_count(prompt_tokens)
    completion = token_count(completion_tokens)
    cached = token_count(cached_tokens) or 0
    unknown = ""
    unbounded = returned > asked  # a server that ignores n
    counts: list[int] = []
    recount_wrong = recount is not None and (
        len(recount) != returned or any(c <= 0 and t for c, t in zip(recount, texts, strict=False))
    )
    if recount_wrong:  # the server's tokenizer contradicts its own reply: its counts are not to be trusted
        assert recount is not None
        unknown = f"the server re-counted {list(recount)[:8]} tokens for non-empty choices"
    elif prompt is None or completion is None:
        unknown = (
            f"usage missing or not token counts (prompt_tokens={_shown(prompt_tokens)}, "
            f"completion_tokens={_shown(completion_tokens)})"
        )
    elif prompt > bound:
        unknown = f"prompt_tokens={prompt} is more than the prompt can hold ({bound})"
    elif prompt == 0 and request.prompt.all_text():
        unknown = "prompt_tokens=0 for a non-empty prompt"
    else:
        counts, counted = _per_choice(texts, completion, recount)
        source = source or counted
        ceiling = sum(request.max_tokens + len(t.encode("utf-8", "replace")) + TEMPLATE_TOKENS for t in texts)
        if any(c == 0 and t for c, t in zip(counts, texts, strict=True)):
            unknown = f"completion_tokens={completion} with a non-empty choice counted at 0 tokens"
        elif sum(counts) > ceiling:
            unknown = f"completion_tokens={sum(counts)} is more than the reply can hold ({ceiling})"
    if unknown:
        faults.append(f"{unknown}: charged as the worst case")
        prompt, cached, source = bound, 0, UNKNOWN_USAGE
        counts = [request.max_tokens] * returned
        if recount is not None and not recount_wrong:  # a choice visibly past max_tokens
            counts = [max(c, r) for c, r in zip(counts, recount, strict=True)]
    else:
        # the provider's own count (its bill) of more output than the returned choices may
        # hold: it ignores max_tokens (a re-count's drift of a token cannot trigger this)
        unbounded = unbounded or (completion or 0) > returned * request.max_tokens
        allowed = asked * request.max_tokens
        if sum(counts) > allowed or any(c > request.max_tokens for c in counts):
            faults.append(
                f"reported {sum(counts)} output tokens over {returned} choices; "
                f"max_tokens={request.max_tokens} allows {request.max_tokens} per choice"
            )
    assert prompt is not None
    return Generation.model_construct(
        choices=tuple(
            Choice.model_construct(text=t, output_tokens=c, finish_reason=r)
            for t, c, r in zip(texts, counts, reasons, strict=True)
        ),
        prompt_tokens=prompt,
        cached_prompt_tokens=min(cached, prompt),
        latency_s=latency,
        token_count_source=source or "usage",
        fault="; ".join(faults),
        unbounded=unbounded,
    )


__all__ = ["UNKNOWN_USAGE", "judge", "token_count"]
