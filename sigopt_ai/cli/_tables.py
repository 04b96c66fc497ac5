"""Tables the commands print: an id column never wraps, however narrow the terminal; times as local dates."""

from __future__ import annotations

import datetime as dt
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


def when(timestamp: float | None) -> str:
    """A stored time as the local date and time, or ``-`` for none."""
    if timestamp is None:
        return "-"
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")
