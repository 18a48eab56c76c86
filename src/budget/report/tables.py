"""Tables that fit the terminal: wrap names, never cut numbers, drop columns by priority.

rich shrinks a table wider than the terminal by cutting cells (``$0.…``, ``cov…``).  Here a
table is described by its columns, each with a priority; the widths are computed here and
given to rich as fixed widths, so that nothing shown is ever cut:

* numbers never wrap: their column is as wide as its widest cell;
* names (``wrap=True``) stay whole if dropping one column allows it, else they fold at spaces
  (an id stays whole: it is copied into commands) while columns go by priority; only when
  that fails do they fold after hyphens and slashes (:func:`fold_name`), then inside a part;
* prose (``prose=True``, e.g. sources) wraps at words (and after hyphens and slashes inside a
  long one), down to :data:`PROSE_MIN` columns or its longest part;
* while even that is wider than the terminal, the least important column (largest ``drop``)
  goes, and the caption names what was dropped (``--json`` has everything).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from budget.report.text import printable

#: The narrowest a prose column gets before columns are dropped.
PROSE_MIN = 12
#: The narrowest a name gets when nothing else fits (it then folds inside its parts).
HARD_MIN = 8
#: Columns each column adds around its cells (collapsed padding and the table's edges):
#: measured with rich for box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True.
GAP = 2


#: Where a name may break: after a space, a hyphen or a slash (``qwen2.5-coder-`` /
#: ``0.5b-instruct-`` / ``q4_k_m``, ``openai/`` / ``gpt-4o``), never inside a part.  A column
#: of values that must not split there (dates: ``2026-12-02``) sets ``Column.breaks = " "``.
NAME_BREAKS = " -/"


@dataclass(frozen=True)
class Column:
    """A column of a fitted table: its header, alignment, and how it gives way when space is short."""
    header: str
    justify: str = "right"
    wrap: bool = False  # names: kept whole where the width allows, else folded at words
    prose: bool = False  # sentences (sources): always wrapped at words
    drop: int = 0  # 0: always shown; larger numbers are dropped first
    breaks: str = NAME_BREAKS  # where a wrapped cell may break (after these characters)


def _parts(line: str, breaks: str = NAME_BREAKS) -> list[str]:
    return [p for p in re.split(f"(?<=[{re.escape(breaks)}])", line) if p]


def _longest(text: str, breaks: str = NAME_BREAKS) -> int:
    return max(
        (cell_len(p.rstrip(" ")) for line in text.split("\n") for p in _parts(line, breaks)), default=0
    )


def fold_name(text: str, width: int, breaks: str = NAME_BREAKS) -> str:
    """``text`` broken into lines of at most ``width`` columns after any of ``breaks``; a part
    longer than ``width`` is left whole for rich to fold (the last resort).
    """
    out: list[str] = []
    for line in text.split("\n"):
        current = ""
        for part in _parts(line, breaks):
            if current and cell_len((current + part).rstrip(" ")) > width:
                out.append(current.rstrip(" "))
                current = ""
            current += part
        out.append(current.rstrip(" "))
    return "\n".join(out)


def _natural(text: str) -> int:
    return max((cell_len(line) for line in text.split("\n")), default=0)


def _widths(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int, fold_names: bool | str
) -> list[int] | None:
    """Fixed widths that fit ``width``, or None when these columns cannot fit whole."""
    natural = [max([_natural(c.header), *(_natural(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    least = []
    for i, c in enumerate(columns):
        cells = [c.header, *(r[i] for r in rows)]
        if c.prose:  # down to PROSE_MIN, never through a word (nor a part of a hyphenated one)
            least.append(min(natural[i], max(PROSE_MIN, max(_longest(x, c.breaks) for x in cells))))
        elif c.wrap and fold_names == "inside":  # the very last resort: inside a part too
            least.append(min(natural[i], HARD_MIN))
        elif c.wrap and fold_names == "hard":  # then after hyphens and slashes too
            least.append(max(_longest(x, c.breaks) for x in cells))
        elif c.wrap and fold_names:  # at spaces only: an id stays whole (it is copied into commands)
            least.append(max(_longest(x, " ") for x in cells))
        else:
            least.append(natural[i])
    room = width - GAP * len(columns)
    if sum(least) > room:
        return None
    widths = list(natural)
    excess = sum(widths) - room
    # Shrink prose first, then names, each toward its least width, widest first.
    for kind in ("prose", "wrap"):
        while excess > 0:
            shrinkable = [i for i, c in enumerate(columns) if getattr(c, kind) and widths[i] > least[i]]
            if not shrinkable:
                break
            i = max(shrinkable, key=lambda j: widths[j] - least[j])
            cut = min(excess, widths[i] - least[i], max(1, (widths[i] - least[i]) // 2))
            widths[i] -= cut
            excess -= cut
    return widths if excess <= 0 else None


def fitted_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    width: int,
    *,
    title: str | None = None,
    caption: str | None = None,
) -> Table:
    """A table of ``rows`` no wider than ``width``, dropping the least important columns.

    Cells are plain text, never markup, with unsafe characters escaped (names come from data).
    """
    rows = [[printable(c) for c in r] for r in rows]
    order = sorted((i for i, c in enumerate(columns) if c.drop > 0), key=lambda i: (-columns[i].drop, -i))
    # Names whole if that costs at most one column, and not the prose (sources are the point).
    keep_names = bool(order) and not columns[order[0]].prose
    tries: list[tuple[int, bool | str]] = [(0, False)]
    if keep_names:
        tries.append((1, False))
    tries += [(n, True) for n in range(len(order) + 1)]
    tries += [(n, "hard") for n in range(len(order) + 1)]
    tries.append((len(order), "inside"))
    fold: bool | str = False
    keep, widths = list(range(len(columns))), None
    for n, fold in tries:
        if n > len(order):
            continue
        keep = [i for i in range(len(columns)) if i not in order[:n]]
        widths = _widths([columns[i] for i in keep], [[r[i] for i in keep] for r in rows], width, fold)
        if widths is not None:
            break
    table = Table(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True
    )
    for j, i in enumerate(keep):
        c = columns[i]
        table.add_column(
            c.header,
            justify=c.justify,  # type: ignore[arg-type]
            overflow="fold",
            no_wrap=widths is not None and not (c.wrap or c.prose),
            width=widths[j] if widths is not None else None,
        )
    for r in rows:
        cells = []
        for j, i in enumerate(keep):
            text = r[i]
            if (columns[i].wrap or columns[i].prose) and widths is not None and _natural(text) > widths[j]:
                at = columns[i].breaks if fold in ("hard", "inside") or columns[i].prose else " "
                text = fold_name(text, widths[j], at)
            cells.append(Text(text))
        table.add_row(*cells)
    dropped = [columns[i].header.replace("\n", " ") for i in range(len(columns)) if i not in keep]
    notes = [caption] if caption else []
    if dropped:
        notes.append(f"not shown at this width: {', '.join(dropped)} (wider terminal or --json)")
    if notes:
        table.caption = "; ".join(notes)
        table.caption_justify = "left"
    return table


def labelled_lines(lines: Sequence[tuple[str, str] | tuple[str, str, str]], *, style: str = "") -> Table:
    """``label  text`` lines whose text wraps at words under itself (a hanging indent), so that
    a long note reads as one paragraph at any width.  A line's optional third item is its
    style (else ``style``); labels are dim unless styled.  Plain text, never markup.
    """
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for line in lines:
        label, text = line[0], line[1]
        own = line[2] if len(line) > 2 else style  # type: ignore[misc]
        grid.add_row(Text(printable(label), style=own or "dim"), Text(printable(text), style=own))
    return grid
