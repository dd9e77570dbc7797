"""Each rank's share of an epoch: torch's ``DistributedSampler``, keyed for the augmenting dataset.

``DistributedSampler`` (``shuffle``, ``drop_last``, seeded with the fit's seed and ``set_epoch`` per
epoch) draws one permutation from ``seed + epoch`` on every rank and gives rank ``r`` the rows
``r, r + N, r + 2N…`` of it, the tail that does not divide by ``N`` dropped: the shards of an epoch
are disjoint and equal, so every rank runs the same number of steps (DDP needs that). Rows travel as
``(seed + epoch, row)`` keys, as in the single-process loader (training/loader.py), so a row's crop
and flip depend on the epoch and the row alone, not on which rank or loader process decodes it.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import DistributedSampler, Sampler


class ShardSampler(Sampler[tuple[int, int]]):
    """One rank's ``(seed, row)`` keys of an epoch; call ``set_epoch`` before each."""

    def __init__(self, rows: int, rank: int, world: int, seed: int) -> None:
        """A shard of ``rows`` rows for ``rank`` of ``world``, orders drawn from ``seed + epoch``."""
        self.seed = seed
        self.epoch = 0
        self.inner: DistributedSampler[int] = DistributedSampler(
            range(rows),  # type: ignore[arg-type]  # only its length is read
            num_replicas=world,
            rank=rank,
            shuffle=True,
            seed=seed,
            drop_last=True,
        )

    def set_epoch(self, epoch: int) -> None:
        """Draw the order of ``epoch`` (0-based) next."""
        self.epoch = epoch
        self.inner.set_epoch(epoch)

    def rows(self) -> list[int]:
        """This rank's rows of the current epoch, in order."""
        return list(self.inner)

    def __len__(self) -> int:
        """Rows per epoch on this rank."""
        return len(self.inner)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """This epoch's keys."""
        key = self.seed + self.epoch
        return iter([(key, row) for row in self.rows()])
