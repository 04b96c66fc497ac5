"""Storage backends: the :class:`Backend` contract and its SQL implementation."""
