"""The README documents every exit code the error tree uses (issue 13, item 5)."""

from __future__ import annotations

import re
from pathlib import Path

import budget.errors as errors

README = Path(__file__).resolve().parents[2] / "README.md"


def _subclasses(cls: type) -> list[type]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def test_every_exit_code_is_documented() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Exit codes") :]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", section, flags=re.M)}
    for cls in _subclasses(errors.BudgetError):
        assert cls.exit_code in documented, f"{cls.__name__} exits {cls.exit_code}: not in the README"
        if cls.__module__ == "budget.errors":
            row = next(line for line in section.splitlines() if line.startswith(f"| {cls.exit_code} |"))
            assert cls.exit_code == 1 or cls.__name__ in row or any(
                base.__name__ in row for base in cls.__mro__[1:] if base.__name__.endswith("Error")
            ), f"{cls.__name__} not named in row {cls.exit_code}"
    assert {0, 130} <= documented


def test_readme_fit_usage_matches_the_cli() -> None:
    text = README.read_text(encoding="utf-8")
    assert "--predict K ..." not in text
