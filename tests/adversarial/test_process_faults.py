"""Faults in real processes against the real SQLite file: kill -9 at random points at several logging
rates, SIGTERM at random points, and a store that is locked, full, deleted or unusable at first use.

The scenarios are those of ``benchmarks/faults.py`` (one copy of each child script); the figures it
reports are what these tests hold to.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # ``benchmarks`` is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.faults import RATES, kill9_trial, sigterm_trial, store_fault_trial  # noqa: E402

INTERVAL = 0.2
MARGIN = 0.5
"""Seconds past the flush interval a kill may lose: a commit in progress, scheduling on a busy machine,
and the writer's drain of a tight loop's bounded backlog."""


@pytest.mark.parametrize("repeat", [0, 1])
@pytest.mark.parametrize("rate", list(RATES), ids=list(RATES))
def test_kill_9_loses_at_most_the_flush_interval_and_keeps_a_gap_free_prefix(
    tmp_path: Path, rate: str, repeat: int
) -> None:
    delay = random.Random(f"{rate}-{repeat}").uniform(0.4, 1.2)
    trial = kill9_trial(tmp_path / "store.db", RATES[rate], delay, INTERVAL)
    assert trial["returncode"] == -9
    assert trial["points_stored"] > 0, trial
    assert trial["gap_free"], "the stored history is not exactly 0..n-1"
    assert trial["window_s"] <= INTERVAL + MARGIN, trial


@pytest.mark.parametrize("repeat", [0, 1])
def test_sigterm_at_a_random_point_ends_the_run_interrupted_with_everything_stored(tmp_path: Path, repeat: int) -> None:
    trial = sigterm_trial(tmp_path / "store.db", random.Random(repeat).uniform(0.3, 1.0), interval=INTERVAL)
    assert not trial["hung"], trial["stderr_tail"]
    assert trial["returncode"] == -15  # the process still dies by the signal
    assert (trial["state"], trial["failure_kind"]) == ("failed", "interrupted")
    assert trial["logged"] > 0 and trial["lost"] == 0 and trial["gap_free"], trial


@pytest.mark.parametrize("fault", ["locked", "full", "unusable at first use"])
def test_training_finishes_through_store_trouble_and_every_record_lands(tmp_path: Path, fault: str) -> None:
    trial = store_fault_trial(tmp_path, fault, interval=INTERVAL)
    assert trial["returncode"] == 0 and trial["finished"], trial["stderr_tail"]
    assert trial["state"] == "completed"
    assert trial["lost"] == 0 and trial["duplicates"] == 0 and trial["in_order"], trial


def test_a_store_deleted_mid_run_is_recreated_and_nothing_logged_after_is_lost(tmp_path: Path) -> None:
    trial = store_fault_trial(tmp_path, "deleted", interval=INTERVAL)
    assert trial["returncode"] == 0 and trial["finished"], trial["stderr_tail"]
    assert "deleted or replaced" in trial["stderr_tail"]  # said once, not silently
    # What was written before went with the deleted file; the run goes on in the new one.
    assert trial["state"] == "completed"
    assert trial["lost_after_fault"] == 0 and trial["duplicates"] == 0 and trial["in_order"], trial


def test_a_store_full_until_exit_does_not_fail_training_and_the_loss_is_reported(tmp_path: Path) -> None:
    trial = store_fault_trial(tmp_path, "full until exit", interval=INTERVAL)
    assert trial["returncode"] == 0 and trial["finished"], trial["stderr_tail"]
    assert trial["reported_unwritten"], trial["stderr_tail"]
