"""Optimizer benchmark: problems with hidden failures, peer optimizers and the summary report.

Run ``python -m benchmarks.optimizer.run --help`` from the repository root. The protocol is
``docs/optimizer.md``, *Benchmark protocol* (problems, metrics, peers).
"""
