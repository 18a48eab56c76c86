"""Model ids: how a name typed by a user (or written by litellm, inspect_ai, a report) finds
the model budget knows by another spelling.

One alias table (``pricing/aliases.toml``, read by :class:`~budget.pricing.PriceBook`) maps
friendly names to canonical ids; everything else is a rule applied the same way everywhere
(``plan``, ``run``, ``pricing show``, ``fit``, ``check``, the store):

1. :func:`canonical`: the alias table, case-insensitively, also after dropping a
   ``provider/`` prefix that litellm or inspect_ai write (``openai/gpt-4o``); otherwise the
   name as typed (stripped).  This is the id a run stores its samples under.
2. :func:`resolve`: which of some known ids (with their display names) a name means.  A
   known id matches when any spelling of the name (as typed, canonical, without its provider
   prefix) equals, ignoring case, the id, its canonical form, its form without a provider
   prefix, or its display name (``GPT-4o`` as the report prints it).  An exact canonical hit
   wins; otherwise exactly one known id must match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from budget.errors import InputError, UnknownNameError

#: The ``provider/`` prefixes litellm (and inspect_ai, which follows it) put before a model id.
PROVIDERS = frozenset(
    {
        "openai",
        "anthropic",
        "azure",
        "deepseek",
        "gemini",
        "google",
        "vertex_ai",
        "bedrock",
        "mistral",
        "groq",
        "together_ai",
        "together",
        "fireworks_ai",
        "openrouter",
        "ollama",
        "hosted_vllm",
        "vllm",
        "text-completion-openai",
        "openai-api",
        "hf",
        "huggingface",
        "llama-cpp-python",
        "mockllm",
    }
)


def without_provider(name: str) -> str:
    """``openai/gpt-4o`` -> ``gpt-4o``; a name whose first part is no provider is kept."""
    head, sep, rest = name.partition("/")
    return rest if sep and rest and head.lower() in PROVIDERS else name


def canonical(name: str, aliases: Mapping[str, str]) -> str:
    """The id budget stores ``name`` under: its alias target (case-insensitive), else itself."""
    text = name.strip()
    for key in (text, without_provider(text)):
        hit = aliases.get(key.lower())
        if hit is not None:
            return hit
    return text


def spellings(name: str, aliases: Mapping[str, str]) -> set[str]:
    """Every lower-cased spelling a name can be matched by (see the module docstring)."""
    text = name.strip()
    forms = {text, canonical(text, aliases), without_provider(text)}
    forms.add(without_provider(canonical(text, aliases)))
    return {f.lower() for f in forms if f}


def resolve(
    name: str,
    known: Mapping[str, str] | Iterable[str],
    aliases: Mapping[str, str],
    *,
    kind: str = "model",
    context: str = "",
) -> str:
    """The known id ``name`` means; ``known`` maps ids to display names (or is a list of ids).

    Raises :class:`~budget.errors.UnknownNameError` when none matches and
    :class:`~budget.errors.InputError` when several do.
    """
    displays: Mapping[str, str] = known if isinstance(known, Mapping) else dict.fromkeys(known, "")
    exact = canonical(name, aliases)
    if exact in displays:
        return exact
    wanted = spellings(name, aliases)
    hits = [
        model
        for model, display in displays.items()
        if wanted & (spellings(model, aliases) | ({display.strip().lower()} if display.strip() else set()))
    ]
    if len(hits) == 1:
        return hits[0]
    if hits:
        where = f" ({context})" if context else ""
        raise InputError(f"{kind} {name!r}{where} is ambiguous: it matches {', '.join(sorted(hits))}")
    labels = [*displays, *(d for d in displays.values() if d)]
    raise UnknownNameError(kind, name, labels, context=context)
