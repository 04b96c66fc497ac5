"""Validate SigOpt-shaped experiment definitions and build :class:`ExperimentDefinition` values.

The rules follow sigopt-server's experiment create handler and sigoptlite's validators. Where those
have an exact text for a rule, ours keeps it inside the sentence, so users searching for a SigOpt
error still find it. Every message starts with the path of the offending field
(``parameters[2].bounds: min (5) must be less than max (1).``) and validation stops at the first
problem. The one deliberate difference: ``parallel_bandwidth`` may exceed 1, as on sigopt-server.

Some rules go beyond SigOpt's, refusing what the optimizer or the store could not honour: numbers
past the 64-bit float range, int bounds and grid values beyond ±2**53 (the optimizer computes in
float64), double bounds whose width overflows, linear constraints whose weighted sums could
overflow, integers past 2**63 - 1, and text with lone surrogates (not encodable as UTF-8).

One module per concern, in the order :func:`parse_experiment` applies them: ``_experiment`` (the
top-level fields, budget and metadata), ``_conditionals``, ``_parameters``, ``_metrics``,
``_constraints`` (with the feasibility check, the only user of numpy and scipy), ``_yaml`` (experiment
files), and ``_common`` (what they share).
"""

from sigopt_ai.experiments._parse._experiment import parse_experiment
from sigopt_ai.experiments._parse._yaml import load_experiment_file

__all__ = ["load_experiment_file", "parse_experiment"]
