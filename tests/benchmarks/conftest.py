"""The benchmark scripts' smoke tests import ``benchmarks``, which is a folder of scripts beside the
package, not an installed package: the checkout's root goes on ``sys.path`` once, here."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
