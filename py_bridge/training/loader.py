"""The shuffled, augmenting training loader: made once per fit, reproducible from each epoch's seed.

An epoch's row order is a permutation drawn from a generator seeded with that epoch's seed, and
every row travels to the loader processes as ``(seed, row)``: its random crop and flip come from
a generator seeded by both (``ImageDataset``), in whichever process decodes it. So an epoch's
batches follow from its seed alone: not from ``numWorkers``, the machine's core count, what ran
before in the process, or other jobs running beside this one; and a fit resumed at epoch e draws
exactly what an uninterrupted one draws there. Because nothing is seeded per process, the loader
processes can stay up for the whole fit (``persistent_workers``) instead of being started again
every epoch.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from data.dataset import loader_options


def epoch_order(rows: int, seed: int) -> list[int]:
    """The row order of the epoch whose seed is ``seed``: that of a ``DataLoader(shuffle=True)`` seeded alike."""
    generator = torch.Generator().manual_seed(seed)
    # the base-seed draw a shuffling DataLoader makes from its generator first, as earlier versions drew it
    torch.empty((), dtype=torch.int64).random_(generator=generator)
    return torch.randperm(rows, generator=generator).tolist()


class EpochSampler(Sampler[tuple[int, int]]):
    """The rows of one epoch as ``(seed, row)`` keys, in an order drawn from ``seed`` (set before each epoch)."""

    def __init__(self, rows: int) -> None:
        """A sampler over ``rows`` rows; ``seed`` is set per epoch."""
        self.rows = rows
        self.seed = 0

    def __len__(self) -> int:
        """Rows per epoch."""
        return self.rows

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """This epoch's keys, read when the epoch starts (prefetching reads ahead within it only)."""
        seed = self.seed
        return iter([(seed, row) for row in epoch_order(self.rows, seed)])


class TrainingLoader:
    """The training batches of every epoch, from one DataLoader whose processes live as long as it does."""

    def __init__(
        self, dataset: Dataset, batch_size: int, num_workers: int, drop_last: bool, device: torch.device
    ) -> None:
        """``dataset`` takes ``(seed, row)`` keys (``ImageDataset`` with a random transform)."""
        self.sampler = EpochSampler(len(dataset))  # type: ignore[arg-type]
        self.loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=self.sampler,
            drop_last=drop_last,
            # the processes go when the loader does (when fit returns, or its job is forgotten)
            persistent_workers=num_workers > 0,
            **loader_options(num_workers, device),
        )

    def epoch(self, seed: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of the epoch whose seed is ``seed``."""
        self.sampler.seed = seed
        return iter(self.loader)

    def __len__(self) -> int:
        """Batches per epoch."""
        return len(self.loader)
