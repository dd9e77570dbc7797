"""How a gallery finds each query's nearest references: exact chunked search, or a FAISS index.

Scores follow evaluation/scoring.py: larger is more similar for every metric (distances are
negated). Exact search is the reference: a block of query rows at a time against every
reference, so memory stays near SEARCH_BUDGET whatever the gallery size. A FAISS index is a
structure derived from the stored references (gallery/rows.py), rebuilt from them when rows
are removed; it answers the same question approximately, and much faster at scale.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from bridge.errors import BridgeValidationError

SEARCH_BUDGET = 256 * 1024 * 1024
DISTANCES = ("euclid", "sq_euclid")
Progress = Callable[[int, int], None]


def search_chunk(num_refs: int, budget: int = SEARCH_BUDGET) -> int:
    """Query rows per block so that one block of float32 scores stays within ``budget`` bytes."""
    return max(1, min(4096, budget // (4 * max(num_refs, 1))))


def to_scores(raw: torch.Tensor, q_sq: torch.Tensor | None, g_sq: torch.Tensor | None, metric: str) -> torch.Tensor:
    """Inner products → the metric's scores (negated, clamped squared distances for the distance metrics)."""
    if q_sq is None or g_sq is None:
        return raw
    return -(q_sq[:, None] + g_sq[None, :] - 2 * raw).clamp_min_(0)


def finish(values: torch.Tensor, metric: str) -> torch.Tensor:
    """Top-k values of negated squared distances → minus the distance for ``euclid``."""
    return -(-values).clamp_min(0).sqrt() if metric == "euclid" else values


class ExactSearch:
    """Every query against every reference; the reference answer."""

    kind = "exact"

    def __init__(self, metric: str) -> None:
        """Search with ``metric`` over prepared rows (unit length already for cosine)."""
        self.metric = metric
        self.vectors = torch.empty(0, 0)
        self.sq: torch.Tensor | None = None

    @property
    def is_trained(self) -> bool:
        """Exact search needs no training."""
        return True

    def rebuild(self, vectors: torch.Tensor) -> None:
        """Search these rows from now on."""
        self.vectors = vectors
        self.sq = vectors.pow(2).sum(dim=1) if self.metric in DISTANCES else None

    def add(self, vectors: torch.Tensor, all_vectors: torch.Tensor) -> None:
        """Rows were appended: search all of them."""
        self.rebuild(all_vectors)

    def search(
        self, queries: torch.Tensor, k: int, progress: Progress | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``k`` best references of each query: scores (float32) and rows (int64), best first."""
        n, refs = queries.shape[0], self.vectors.shape[0]
        k = min(k, refs)
        scores = torch.empty(n, k, dtype=torch.float32)
        rows = torch.empty(n, k, dtype=torch.int64)
        chunk = search_chunk(refs)
        g_t = self.vectors.T
        for start in range(0, n, chunk):
            block = queries[start : start + chunk]
            q_sq = block.pow(2).sum(dim=1) if self.sq is not None else None
            values, idx = torch.topk(to_scores(block @ g_t, q_sq, self.sq, self.metric), k, dim=1)
            scores[start : start + chunk] = finish(values, self.metric)
            rows[start : start + chunk] = idx
            if progress is not None:
                progress(min(start + chunk, n), n)
        return scores, rows


class FaissSearch:
    """A FAISS index made from a factory string ('Flat', 'HNSW32', 'IVF1024,Flat', 'IVF4096,PQ64', …)."""

    kind = "faiss"

    def __init__(self, metric: str, dim: int, factory: str, params: dict[str, Any]) -> None:
        """Build the (empty, maybe untrained) index; ``params``: ``{nprobe, efSearch}``, each int or None."""
        import faiss

        self.faiss = faiss
        self.metric, self.dim, self.factory = metric, dim, factory
        faiss_metric = faiss.METRIC_L2 if metric in DISTANCES else faiss.METRIC_INNER_PRODUCT
        try:
            self.index = faiss.index_factory(dim, factory, faiss_metric)
        except RuntimeError as exc:
            raise BridgeValidationError(
                f"FAISS cannot build an index from {factory!r} for {dim}-dim embeddings: {_first_line(exc)}. "
                "Examples: 'Flat', 'HNSW32', 'IVF1024,Flat', 'IVF4096,PQ64' (the dims must divide by PQ's M)",
                path="index",
            ) from exc
        self.params = params
        self._apply_params()
        faiss.omp_set_num_threads(torch.get_num_threads())

    def _apply_params(self) -> None:
        space = self.faiss.ParameterSpace()
        for key, name in (("nprobe", "nprobe"), ("efSearch", "efSearch")):
            value = self.params.get(key)
            if value is None:
                continue
            try:
                space.set_index_parameter(self.index, name, int(value))
            except RuntimeError as exc:
                raise BridgeValidationError(
                    f"{key} does not apply to a {self.factory!r} index ({_first_line(exc)}); "
                    "nprobe is for IVF indexes, efSearch for HNSW",
                    path=key,
                ) from exc

    @property
    def is_trained(self) -> bool:
        """Whether the index may take rows (IVF and PQ indexes must be trained first)."""
        return bool(self.index.is_trained)

    def train(self, sample: torch.Tensor) -> None:
        """Train the index (k-means for IVF, codebooks for PQ) on prepared rows."""
        try:
            self.index.train(_array(sample))
        except RuntimeError as exc:
            raise BridgeValidationError(
                f"cannot train the {self.factory!r} index on {sample.shape[0]} references: {_first_line(exc)}. "
                "Add more references first (an IVF index with n lists needs at least n, ideally 39 × n)",
                path="train",
            ) from exc

    def rebuild(self, vectors: torch.Tensor) -> None:
        """Search these rows from now on (the training, if any, is kept)."""
        self.index.reset()
        if vectors.shape[0] and self.is_trained:
            self.index.add(_array(vectors))

    def add(self, vectors: torch.Tensor, all_vectors: torch.Tensor) -> None:
        """Append rows (held back until the index is trained: train() then adds every row)."""
        if self.is_trained:
            self.index.add(_array(vectors))

    def search(
        self, queries: torch.Tensor, k: int, progress: Progress | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``k`` best references of each query (row -1 and score NaN where the index found fewer)."""
        n = queries.shape[0]
        k = min(k, max(self.index.ntotal, 1))
        scores = torch.empty(n, k, dtype=torch.float32)
        rows = torch.empty(n, k, dtype=torch.int64)
        step = 4096
        for start in range(0, n, step):
            dist, idx = self.index.search(_array(queries[start : start + step]), k)
            values = torch.from_numpy(dist)
            if self.metric in DISTANCES:  # FAISS's L2 is the squared distance
                values = -values.clamp_min(0).sqrt() if self.metric == "euclid" else -values
            found = torch.from_numpy(idx)
            values[found < 0] = math.nan
            scores[start : start + step], rows[start : start + step] = values, found
            if progress is not None:
                progress(min(start + step, n), n)
        return scores, rows

    def to_bytes(self) -> np.ndarray:
        """The index serialised (faiss.serialize_index), for the gallery's folder."""
        return self.faiss.serialize_index(self.index)

    def from_bytes(self, data: np.ndarray) -> None:
        """Replace the index with a serialised one (search parameters re-applied)."""
        self.index = self.faiss.deserialize_index(data)
        self._apply_params()


def _array(vectors: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(vectors.detach().to("cpu", torch.float32).numpy())


def _first_line(exc: BaseException) -> str:
    """FAISS's message without its C++ location ("Error in <function> at <file>:<line>: ")."""
    text = " ".join(str(exc).split())
    failed = re.search(r"failed: (.*)$", text)
    return failed.group(1) if failed else re.sub(r"^Error in .*? at \S+:\d+: ", "", text)


def score_blocks(queries: torch.Tensor, vectors: torch.Tensor, metric: str) -> Any:
    """Yield ``(start, scores)`` blocks of the full query × reference score matrix (exact, for calibration)."""
    sq = vectors.pow(2).sum(dim=1) if metric in DISTANCES else None
    chunk, g_t = search_chunk(vectors.shape[0]), vectors.T
    for start in range(0, queries.shape[0], chunk):
        block = queries[start : start + chunk]
        q_sq = block.pow(2).sum(dim=1) if sq is not None else None
        scores = to_scores(block @ g_t, q_sq, sq, metric)
        yield start, finish(scores, metric) if metric == "euclid" else scores


def pair_scores(a: torch.Tensor, b: torch.Tensor, metric: str) -> torch.Tensor:
    """The score of each pair of rows (a[i], b[i]) of prepared embeddings."""
    if metric in DISTANCES:
        sq = (a - b).pow(2).sum(dim=1)
        return -sq.sqrt() if metric == "euclid" else -sq
    return (a * b).sum(dim=1)
