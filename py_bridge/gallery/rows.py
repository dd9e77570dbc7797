"""A gallery's references: embeddings in a buffer that grows by doubling, and their labels.

Adding a batch copies it once (amortised), instead of concatenating the whole gallery on
every ``add``; removing compacts the rows that stay. Embeddings are stored ready for the
metric (unit length for cosine), float32, on the CPU.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name

INITIAL_CAPACITY = 1024


def prepare(embeddings: torch.Tensor, metric: str) -> torch.Tensor:
    """Embeddings as the gallery stores and searches them: float32, contiguous, unit length for cosine."""
    emb = embeddings.detach().to("cpu", torch.float32).contiguous()
    return F.normalize(emb, dim=1) if metric == "cosine" else emb


class Rows:
    """Embeddings (rows × dim) and one label per row."""

    def __init__(self, dim: int) -> None:
        """Start empty, for embeddings of ``dim`` values."""
        self.dim = dim
        self._buffer = torch.empty(0, dim, dtype=torch.float32)
        self.labels: list[Any] = []

    def __len__(self) -> int:
        """How many references are held."""
        return len(self.labels)

    @property
    def vectors(self) -> torch.Tensor:
        """The stored embeddings, a view of the first ``len(self)`` rows of the buffer."""
        return self._buffer[: len(self.labels)]

    def add(self, vectors: torch.Tensor, labels: list[Any]) -> None:
        """Append prepared embeddings (the gallery's own tensor: it may be kept as it is) and their labels."""
        start, end = len(self.labels), len(self.labels) + vectors.shape[0]
        if start == 0 and end >= INITIAL_CAPACITY and vectors.is_contiguous():
            self._buffer = vectors  # a first large batch is adopted as it is: no second copy of a big gallery
            self.labels = list(labels)
            return
        if end > self._buffer.shape[0]:
            grown = torch.empty(max(end, 2 * self._buffer.shape[0], INITIAL_CAPACITY), self.dim)
            grown[:start] = self._buffer[:start]
            self._buffer = grown
        self._buffer[start:end] = vectors
        self.labels.extend(labels)

    def keep(self, mask: torch.Tensor) -> None:
        """Keep only the rows where ``mask`` is true, in their order; the buffer shrinks to fit."""
        self._buffer = self.vectors[mask].clone()
        self.labels = [label for label, kept in zip(self.labels, mask.tolist(), strict=True) if kept]
