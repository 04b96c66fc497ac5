#!/usr/bin/env bash
# The Ax peer's environment: ax-platform and BoTorch on the CPU build of torch, apart from the
# project's own environment (Ax pins and upgrades packages the suite does not need). It sees the
# project's packages (--system-site-packages), so the harness and sigopt_ai import from it.
#
#   bash benchmarks/optimizer/ax_venv.sh            # prints the environment's python
#   "$(bash benchmarks/optimizer/ax_venv.sh)" -m benchmarks.optimizer.run --methods ax_constraint,ax_failed ...
set -euo pipefail
venv="${SIGOPT_AI_AX_VENV:-$HOME/.cache/sigopt-ai-bench/ax}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import ax, botorch" 2>/dev/null; then
  python -m venv --system-site-packages "$venv" >&2
  "$venv/bin/pip" install -q ax-platform==1.3.1 botorch==0.18.1 torch==2.13.0 >&2
fi
echo "$venv/bin/python"
