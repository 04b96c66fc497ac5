"""Tables the commands print: an id column never wraps, however narrow the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table


def table_with_ids(title: str, ids: Sequence[str], columns: Sequence[str]) -> Table:
    """A table whose first column holds ``ids`` whole (they are what a user copies into the next
    command); the other ``columns`` fold to fit the terminal."""
    table = Table(title=title)
    table.add_column("id", no_wrap=True, min_width=max((len(i) for i in ids), default=2))
    for column in columns:
        table.add_column(column, overflow="fold")
    return table
