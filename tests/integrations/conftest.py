"""Integration tests train real tiny models on the CPU.

Keras 3 reads its backend once, at its first import: the tests run it on PyTorch (the CPU build).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
