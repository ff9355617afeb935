"""Random numbers that do not depend on how customers are chunked.

Each block of :data:`RANDOM_BLOCK_SIZE` consecutive customers owns a generator seeded from
``SeedSequence(seed, spawn_key=(block,))``. Every draw is made per block, either one row per
customer or a number of rows per customer, and the blocks' results are concatenated. As long as
the *sequence of calls* does not depend on the data (callers never skip a draw because nobody
needs it), a block sees the same numbers whichever chunk it is simulated in.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from credit_models.data.simulator.config import RANDOM_BLOCK_SIZE


class BlockRandom:
    """Generators for the blocks of one chunk of customers ``[first, first + count)``."""

    def __init__(self, seed: int, first_customer: int, count: int) -> None:
        if first_customer % RANDOM_BLOCK_SIZE:
            raise ValueError(
                f"a chunk must start on a block boundary ({RANDOM_BLOCK_SIZE}); "
                f"got {first_customer}"
            )
        self.count = count
        first_block = first_customer // RANDOM_BLOCK_SIZE
        n_blocks = -(-count // RANDOM_BLOCK_SIZE)
        self._generators = [
            np.random.Generator(
                np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(first_block + b,)))
            )
            for b in range(n_blocks)
        ]
        self._bounds = [
            (b * RANDOM_BLOCK_SIZE, min(count, (b + 1) * RANDOM_BLOCK_SIZE))
            for b in range(n_blocks)
        ]

    def uniform(self, width: int | None = None) -> np.ndarray:
        """Uniform [0, 1) numbers: shape (count,) or (count, width)."""
        return self._per_customer(lambda rng, size: rng.random(size), width)

    def normal(self, width: int | None = None) -> np.ndarray:
        """Standard normal numbers: shape (count,) or (count, width)."""
        return self._per_customer(lambda rng, size: rng.standard_normal(size), width)

    def poisson(self, rate: np.ndarray) -> np.ndarray:
        """One Poisson count per customer with its own rate."""
        parts = [rng.poisson(rate[lo:hi]) for rng, (lo, hi) in zip(self._generators, self._bounds)]
        return np.concatenate(parts).astype(np.int64)

    def uniform_rows(self, rows_per_customer: np.ndarray, width: int) -> np.ndarray:
        """``rows_per_customer[i]`` rows of ``width`` uniforms for customer ``i``, customers in
        order: the random numbers of per-event draws (orders) of variable number."""
        return self._rows(rows_per_customer, lambda rng, size: rng.random(size), width)

    def normal_rows(self, rows_per_customer: np.ndarray, width: int) -> np.ndarray:
        return self._rows(rows_per_customer, lambda rng, size: rng.standard_normal(size), width)

    def _per_customer(
        self, draw: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray], width: int | None
    ) -> np.ndarray:
        parts = [
            draw(rng, (hi - lo,) if width is None else (hi - lo, width))
            for rng, (lo, hi) in zip(self._generators, self._bounds)
        ]
        return np.concatenate(parts) if parts else np.empty((0,) if width is None else (0, width))

    def _rows(
        self,
        rows_per_customer: np.ndarray,
        draw: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray],
        width: int,
    ) -> np.ndarray:
        parts = [
            draw(rng, (int(rows_per_customer[lo:hi].sum()), width))
            for rng, (lo, hi) in zip(self._generators, self._bounds)
        ]
        return np.concatenate(parts) if parts else np.empty((0, width))
