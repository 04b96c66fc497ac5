"""Optimizer benchmark: problems with hidden failures, peer optimizers and the summary report.

Run ``python -m benchmarks.optimizer.run --help`` from the repository root. The protocol is
``/work/shared/reference/optimizer-design.md`` §3 (problems, metrics, baselines).
"""
