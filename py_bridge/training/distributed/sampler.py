"""Each rank's share of an epoch: torch's ``DistributedSampler`` over the order one process would draw.

The order is the single-process fit's (``epoch_order`` in training/loader.py, from ``seed + epoch``),
and rank ``r`` of ``N`` takes its rows ``r, r + N, r + 2N…``, the tail that does not divide by ``N``
dropped, as ``DistributedSampler(shuffle=True, drop_last=True)`` deals them (set per epoch): the
shards of an epoch are disjoint and equal, so every rank runs the same number of steps (DDP needs
that). Dealt this way, step ``k`` of the N ranks together trains on the very rows of step ``k`` of a
single process with an N times larger batch, and one process reproduces a single-process fit exactly.
Rows travel as ``(seed + epoch, row)`` keys, as in the single-process loader, so a row's crop and
flip depend on the epoch and the row alone, not on which rank or loader process decodes it.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch.utils.data import DistributedSampler, Sampler

from training.loader import epoch_order


class ShardSampler(Sampler[tuple[int, int]]):
    """One rank's ``(seed, row)`` keys of an epoch; call ``set_epoch`` before each."""

    def __init__(self, rows: int, rank: int, world: int, seed: int) -> None:
        """A shard of ``rows`` rows for ``rank`` of ``world``, orders drawn from ``seed + epoch``."""
        self.seed = seed
        self.epoch = 0
        self.rows_total = rows
        # the shard's size and dealing rule are DistributedSampler's
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
        inner = self.inner
        order = epoch_order(self.rows_total, self.seed + self.epoch)[: inner.total_size]
        return order[inner.rank : inner.total_size : inner.num_replicas]

    def __len__(self) -> int:
        """Rows per epoch on this rank."""
        return len(self.inner)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """This epoch's keys."""
        key = self.seed + self.epoch
        return iter([(key, row) for row in self.rows()])
