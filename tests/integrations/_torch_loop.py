"""What the PyTorch-based integration tests (Lightning, Keras on torch) share: a declared memory cap
that raises torch's real OOM class, the experiment whose grid corners fail, and the checks of its loop."""

from __future__ import annotations

import sigopt_ai as sigopt

MEMORY_CAP = 256 * 1024
"""A declared memory cap in bytes: no GPU is here, so a model whose training would need more raises
torch's real ``torch.cuda.OutOfMemoryError``, as a GPU of that size would."""

DIVERGING_LR = 1e4
"""A learning rate at which plain SGD on the tiny regression really diverges (the loss turns inf, then NaN)."""

WIDE = 4096
"""A hidden width whose weights, gradients and momentum need more than :data:`MEMORY_CAP`."""


def check_memory(weights: int) -> None:
    """Raise CUDA's OOM when training ``weights`` float32 weights (with gradients and momentum) exceeds the cap."""
    import torch

    needed = 4 * weights * 3
    if needed > MEMORY_CAP:
        raise torch.cuda.OutOfMemoryError(
            f"CUDA out of memory. Tried to allocate {needed / 2**20:.2f} MiB "
            f"(a declared cap of {MEMORY_CAP / 2**20:.2f} MiB: no GPU here)"
        )


def grid_experiment(name: str, good_lr: float) -> sigopt.Experiment:
    """Five runs over a 2 x 2 grid (seeded so that all four corners are tried): a good and a diverging
    learning rate, a small and a too wide model."""
    return sigopt.create_experiment(
        name=name,
        parameters=[
            {"name": "lr", "type": "double", "grid": [good_lr, DIVERGING_LR]},
            {"name": "width", "type": "int", "grid": [16, WIDE]},
        ],
        metrics=[{"name": "val_loss", "objective": "minimize"}],
        budget=5,
        type="random",
        seed=3,
    )


def check_loop(exp: sigopt.Experiment) -> None:
    """The budget was spent exactly; a wide model failed ``oom`` (the cap is checked before any update),
    a diverging learning rate ``diverged``, and the others observed ``val_loss``."""
    observations = exp.observations()
    assert len(observations) == 5 and exp.progress.finished == 5 and exp.progress.remaining == 0
    kinds = set()
    for observation in observations:
        lr, width = observation.assignments["lr"], observation.assignments["width"]
        expected = "oom" if width == WIDE else "diverged" if lr == DIVERGING_LR else None
        assert observation.failure_kind == expected, observation
        assert observation.failed is (expected is not None)
        if expected is None:
            assert 0 <= observation.values["val_loss"] < 5
        kinds.add(expected)
    assert kinds == {None, "oom", "diverged"}  # the grid's corners were all tried
    assert exp.progress.failed_by_kind == {k: sum(o.failure_kind == k for o in observations) for k in kinds if k}
    record = sigopt.get_run(next(str(o.run) for o in observations if o.failure_kind == "oom"))
    assert record.failure is not None and record.failure.type == "torch.OutOfMemoryError"
