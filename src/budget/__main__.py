"""``python -m budget``: the same as the ``budget`` command."""

from budget.cli import main

main()
