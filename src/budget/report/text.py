r"""Text from outside (a sample, a server, an exception) made safe to show on a terminal.

Anything a model or a server wrote may hold terminal escape sequences (which can retitle,
clear or rewrite a terminal), bidirectional overrides, NUL bytes, lone surrogates (which
cannot even be encoded) or rich markup (``[bold]``).  :func:`printable` shows every such
character as a Python-style escape (``\x1b``, ``\ud800``, ``\u202e``), on one line, cut to a
length with a marker; :func:`markup_safe` also escapes rich markup for ``console.print``.
"""

from __future__ import annotations

import unicodedata

#: Characters shown escaped: controls (C0, DEL, C1), surrogates, format characters (bidi
#: overrides, zero-width joiners...), private use and unassigned code points.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cs", "Cf", "Co", "Cn", "Zl", "Zp"})


def printable(text: str, *, limit: int = 2000) -> str:
    """``text`` on one line with every unsafe character escaped.

    At most ``limit`` characters of it are shown (then ``... (N more characters)``).
    """
    head = text[:limit]
    out = []
    for ch in head:
        if unicodedata.category(ch) in _ESCAPED_CATEGORIES:
            code = ord(ch)
            out.append(
                f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
            )
        else:
            out.append(ch)
    shown = "".join(out)
    if len(text) > limit:
        shown += f"... ({len(text) - limit} more characters)"
    return shown


def markup_safe(text: str, *, limit: int = 2000) -> str:
    """:func:`printable`, with rich markup escaped too (for ``Console.print``)."""
    from rich.markup import escape

    return escape(printable(text, limit=limit))


#: Bidirectional controls (embeddings, overrides, isolates, marks): in a name they make it
#: display as another name ("Trojan Source", CVE-2021-42574).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: What a name (model, task, problem id) may not hold at all: controls (NUL, ESC...), lone
#: surrogates, line and paragraph separators, and bidirectional controls.
_NAME_FORBIDDEN = frozenset({"Cc", "Cs", "Zl", "Zp"})


def name_fault(text: str) -> str | None:
    """Why ``text`` cannot be a name (``"control character U+001B"``), or None when it can.

    Names are shown on terminals, in HTML and in Markdown (escaped there), but a name with a
    control, a lone surrogate or a bidi override has no honest display at all, so it is refused
    where it enters (``budget import``, ``budget fit``).
    """
    for ch in text:
        if ch in _BIDI:
            return f"bidirectional control U+{ord(ch):04X}"
        cat = unicodedata.category(ch)
        if cat in _NAME_FORBIDDEN:
            what = "lone surrogate" if cat == "Cs" else "control character"
            return f"{what} U+{ord(ch):04X}"
    return None
