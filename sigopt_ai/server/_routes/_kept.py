"""What a server process keeps between requests for the dashboard's reads: each experiment's
observations, read again only from the last one kept, and bounded LRU maps of answers.

Observations are append-only (an observation's ``extra`` flag depends only on earlier ones), so the
list kept plus ``Backend.observations(after=last)`` is exactly what a full read returns: decoding
10,000 observations costs ~150 ms, a poll's few new ones ~2 ms. Every key starts with the store's
number in this process: experiment ids repeat between stores, and one process may serve several (a
report is made by an in-process app of its own).
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from sigopt_ai._models import ExperimentRecord, Observation
from sigopt_ai.backends import Backend
from sigopt_ai.server._deps import Tenant

__all__ = ["CACHE_SIZE", "Lru", "kept_observations", "store_number"]

CACHE_SIZE = 16
"""Experiments (and answers) each map of a process keeps: 10,000 observations take a few MB."""


class Lru:
    """A bounded map, least recently used out first; safe across the server's threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value of ``key``, or None."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key``, forgetting the least recently used beyond the size."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_stores: weakref.WeakKeyDictionary[Backend, int] = weakref.WeakKeyDictionary()
_store_numbers = itertools.count()
_stores_lock = threading.Lock()


def store_number(backend: Backend) -> int:
    """A number for the store, unique in this process (the first part of every key)."""
    with _stores_lock:
        number = _stores.get(backend)
        if number is None:
            number = _stores[backend] = next(_store_numbers)
        return number


_observations = Lru(CACHE_SIZE)  # (store, experiment id) -> tuple of its observations
_observations_lock = threading.Lock()


def kept_observations(who: Tenant, record: ExperimentRecord) -> tuple[Observation, ...]:
    """The experiment's observations, oldest first: the kept ones plus any recorded since (the
    caller has checked that the tenant owns ``record``)."""
    with _observations_lock:  # one reader extends an experiment's list at a time
        key = (store_number(who.backend), record.id)
        kept: tuple[Observation, ...] = _observations.get(key) or ()
        new = who.backend.observations(record.id, after=kept[-1].id if kept else None)
        if new or not kept:
            kept = (*kept, *new)
            _observations.put(key, kept)
        return kept
