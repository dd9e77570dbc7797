"""The shuffled, augmenting training loader, reproducible from one seed with or without worker processes.

The order of the rows comes from a generator seeded with ``seed``; each loader worker process
seeds its own random generators (torch's, numpy's and ``random``'s: random crops and flips draw
from them) from ``seed`` and its worker id through ``worker_init_fn``, so the augmentation of a
row never depends on which process happened to load it, on the machine's core count (as long
as the same ``numWorkers`` is given) or on what ran in the process before.
"""

from __future__ import annotations

import functools
import random

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset


def worker_seed(seed: int, worker_id: int) -> int:
    """A 63-bit seed for loader worker ``worker_id`` of the epoch whose seed is ``seed``.

    ``SeedSequence`` mixes both numbers, so (epoch e, worker 1) and (epoch e + 1, worker 0) differ.
    """
    return int(np.random.SeedSequence([seed, worker_id]).generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))


def seed_worker(seed: int, worker_id: int) -> None:
    """``worker_init_fn``: seed every random generator of this loader worker process."""
    state = worker_seed(seed, worker_id)
    torch.manual_seed(state)
    random.seed(state)
    np.random.seed(state % 2**32)


def seeded_loader(dataset: Dataset, batch_size: int, num_workers: int, seed: int, drop_last: bool) -> DataLoader:
    """A shuffling DataLoader whose order and augmentation follow from ``seed`` alone (for a given ``num_workers``)."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(seed),
        worker_init_fn=functools.partial(seed_worker, seed),
        drop_last=drop_last,
    )
