"""A gallery: enrolled references (embeddings with labels) that answer "who is this?", or "nobody I know".

It holds the references (rows.py), a search structure over them (search.py: exact or FAISS),
and an acceptance threshold, set by hand or by ``calibrate`` from labelled held-out queries
with the evaluation's open-set threshold summaries (evaluation/thresholds.py).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name

from bridge.errors import BridgeValidationError
from evaluation.rerank import reranked_scores
from evaluation.scoring import average_references
from evaluation.thresholds import suggest_thresholds
from gallery.rows import Rows, prepare
from gallery.search import ExactSearch, FaissSearch, pair_scores, score_blocks


class Gallery:
    """References, their search structure, and the threshold below which a query is unknown."""

    def __init__(self, config: dict[str, Any], model: dict[str, Any] | None) -> None:
        """``config``: a resolved GalleryConfig plus ``dim``; ``model``: ``{modelName, embeddingDim}`` or None."""
        self.config = config
        self.metric: str = config["metric"]
        self.dim = int(config["dim"])
        self.average = bool(config["averageReferences"])
        self.model = model
        self.rows = Rows(self.dim)
        self.search: ExactSearch | FaissSearch = (
            ExactSearch(self.metric)
            if config["backend"] == "exact"
            else FaissSearch(self.metric, self.dim, config["index"], {k: config[k] for k in ("nprobe", "efSearch")})
        )
        self.threshold: float | None = None
        self.calibration: dict[str, Any] | None = None
        self.lock = threading.Lock()  # one operation at a time: jobs run on threads of their own
        self._ref_labels: list[Any] = []  # the label of each searched row (per label when averaging)
        self._stale = False  # averaged references must be recomputed before the next search
        self._searched = self.rows.vectors

    # ------------------------------------------------------------------ contents

    def add(self, embeddings: torch.Tensor, labels: list[Any]) -> None:
        """Enrol references, one label per row; the gallery may keep ``embeddings`` itself (do not change it later)."""
        if embeddings.ndim != 2 or embeddings.shape[1] != self.dim:
            raise BridgeValidationError(
                f"embeddings of shape {tuple(embeddings.shape)} do not fit this gallery of {self.dim}-dim embeddings",
                path="embeddings",
            )
        if embeddings.shape[0] != len(labels):
            raise BridgeValidationError(
                f"{embeddings.shape[0]} embeddings need {embeddings.shape[0]} labels, got {len(labels)}", path="labels"
            )
        _check_finite(embeddings, "embeddings")
        vectors = prepare(embeddings, self.metric)
        self.rows.add(vectors, labels)
        if self.average:
            self._stale = True
        else:
            self._ref_labels = self.rows.labels
            self.search.add(vectors, self.rows.vectors)

    def remove(self, labels: list[Any]) -> int:
        """Forget every reference of these labels; returns how many rows went."""
        gone = set(labels)
        mask = torch.tensor([label not in gone for label in self.rows.labels], dtype=torch.bool)
        removed = int((~mask).sum())
        if removed:
            self.rows.keep(mask)
            self._stale = True
        return removed

    def _searched_set(self) -> tuple[torch.Tensor, list[Any]]:
        """What is searched: every row, or one averaged reference per label."""
        if self.average and len(self.rows):
            means, names = average_references(self.rows.vectors, self.rows.labels, normalize=self.metric == "cosine")
            return means.contiguous(), names
        return self.rows.vectors, self.rows.labels

    def refresh(self) -> tuple[torch.Tensor, list[Any]]:
        """The searched rows and their labels, after rebuilding what ``add``/``remove`` left stale."""
        if self._stale:
            self._searched, self._ref_labels = self._searched_set()
            self.search.rebuild(self._searched)
            self._stale = False
        elif not self.average:
            self._searched, self._ref_labels = self.rows.vectors, self.rows.labels
        return self._searched, self._ref_labels

    def restored(self, index_restored: bool) -> None:
        """Rows were loaded from a folder: the FAISS index too (it then holds them), or it is rebuilt on demand."""
        if index_restored:
            self._searched, self._ref_labels = self._searched_set()
        self._stale = not index_restored

    def train(self, sample: int | None, seed: int) -> int:
        """Train a FAISS index that needs it on the references (or a seeded sample), then index them all."""
        if not isinstance(self.search, FaissSearch):
            raise BridgeValidationError("only a FAISS gallery has an index to train", path="backend")
        searched, _ = self.refresh()
        if searched.shape[0] == 0:
            raise BridgeValidationError("the gallery is empty: add references before training its index", path="train")
        chosen = searched
        if sample is not None and sample < searched.shape[0]:
            gen = torch.Generator().manual_seed(seed)
            chosen = searched[torch.randperm(searched.shape[0], generator=gen)[:sample]]
        self.search.train(chosen)
        self.search.rebuild(searched)
        return int(chosen.shape[0])

    # ------------------------------------------------------------------ answers

    def _ready(self) -> tuple[torch.Tensor, list[Any]]:
        searched, names = self.refresh()
        if len(self.rows) == 0:
            raise BridgeValidationError("the gallery is empty: add references first", path="gallery")
        if not self.search.is_trained:
            raise BridgeValidationError(
                f"the {self.config['index']!r} index is not trained yet: call gallery.train() once the references "
                "are added (an IVF index with n lists needs at least n references, ideally 39 × n)",
                path="train",
            )
        return searched, names

    def _queries(self, queries: torch.Tensor) -> torch.Tensor:
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise BridgeValidationError(
                f"query embeddings of shape {tuple(queries.shape)} do not fit this gallery of {self.dim}-dim "
                "embeddings",
                path="queries",
            )
        _check_finite(queries, "queries")
        return prepare(queries, self.metric)

    def identify(
        self,
        queries: torch.Tensor,
        k: int,
        threshold: float | None,
        vote: str,
        progress: Any = None,
        rerank: dict[str, Any] | None = None,
        expansion: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Top-k matches of each query and a verdict: a label, or unknown (-1) below the threshold.

        ``expansion`` (``{k}``): average query expansion through the gallery's own search first.
        ``rerank`` (``{k1, k2, lambda}``): k-reciprocal re-ranking of every score (exact backend, dense,
        so at most MAX_RERANK_ITEMS queries plus references); scores are then minus re-ranked distances.
        """
        searched, names = self._ready()
        q = self._queries(queries)
        if expansion is not None:
            _, near = self.search.search(q, int(expansion["k"]))
            q = _expanded(q, searched, near, self.metric == "cosine")
        if rerank is not None:
            if not isinstance(self.search, ExactSearch):
                raise BridgeValidationError("re-ranking scores every reference: use backend 'exact'", "rerank")
            full = reranked_scores(
                q, searched, self.metric, int(rerank["k1"]), int(rerank["k2"]), float(rerank["lambda"]), chunk=1024
            )
            scores, rows = torch.topk(full, min(k, full.shape[1]), dim=1)
        else:
            scores, rows = self.search.search(q, k, progress)
        seen: dict[Any, int] = {}
        flat = rows.flatten().tolist()
        index = torch.tensor(
            [-1 if r < 0 else seen.setdefault(names[r], len(seen)) for r in flat], dtype=torch.int32
        ).reshape(rows.shape)
        labels = list(seen)
        verdict, verdict_score = _verdicts(scores, index, threshold, vote)
        if self.average:
            rows = torch.where(rows >= 0, torch.full_like(rows, -1), rows)  # a label's mean is no gallery row
        return {
            "scores": scores,
            "rows": rows.to(torch.int32),  # int32 reads as numbers in TypeScript (a gallery holds < 2^31 rows)
            "labelIndex": index,
            "labels": labels,
            "verdict": verdict,
            "verdictScore": verdict_score,
            "threshold": threshold,
        }

    def verify(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The score of each pair of embeddings (a[i], b[i]) under the gallery's metric."""
        if a.shape != b.shape:
            raise BridgeValidationError(
                f"verify takes two batches of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}", path="b"
            )
        return pair_scores(self._queries(a), self._queries(b), self.metric)

    def calibrate(self, queries: torch.Tensor, labels: list[Any], target_far: float, strategy: str) -> dict[str, Any]:
        """Choose the threshold from labelled held-out queries, store it, and report the open-set figures."""
        searched, names = self._ready()
        q = self._queries(queries)
        if q.shape[0] != len(labels):
            raise BridgeValidationError(f"{q.shape[0]} queries need as many labels, got {len(labels)}", path="labels")
        ids = {label: i for i, label in enumerate(dict.fromkeys(names))}
        g_ids = torch.tensor([ids[n] for n in names], dtype=torch.int64)
        q_ids = torch.tensor([ids.get(label, -1) for label in labels], dtype=torch.int64)
        n = q.shape[0]
        best_pos, best_neg, top_score = (torch.full((n,), math.nan, dtype=torch.float64) for _ in range(3))
        top_ok = torch.zeros(n, dtype=torch.bool)
        for start, s in score_blocks(q, searched, self.metric):
            own = q_ids[start : start + s.shape[0], None] == g_ids[None, :]
            s = s.double()
            pos = torch.where(own, s, -math.inf).amax(dim=1)
            neg = torch.where(own, -math.inf, s).amax(dim=1)
            end = start + s.shape[0]
            best_pos[start:end] = torch.where(pos.isinf(), math.nan, pos)
            best_neg[start:end] = torch.where(neg.isinf(), math.nan, neg)
            top_score[start:end], top = s.max(dim=1)
            top_ok[start:end] = own.gather(1, top[:, None]).squeeze(1)
        known = q_ids >= 0
        summary = suggest_thresholds(best_pos[known], best_neg, [target_far])
        chosen = summary["far"][0]["threshold"] if strategy == "far" else (summary["max_f1"] or {}).get("threshold")
        if chosen is None:
            raise BridgeValidationError(
                "cannot calibrate: the validation set gives no scores to threshold "
                + ("(no query's identity is enrolled, needed for maxF1)" if strategy == "maxF1" else ""),
                path="validation",
            )
        chosen = _float32_at_least(chosen)
        report = _open_set_figures(chosen, best_pos, best_neg, top_score, top_ok, known)
        report.update(strategy=strategy, targetFar=target_far, maxF1=summary["max_f1"])
        self.threshold, self.calibration = float(chosen), report
        return report

    def measure_recall(self, sample: int, k: int, seed: int) -> dict[str, Any]:
        """Recall@k of the search structure against exact search, on a seeded sample of references as queries."""
        searched, _ = self._ready()
        gen = torch.Generator().manual_seed(seed)
        sample = min(sample, searched.shape[0])
        queries = searched[torch.randperm(searched.shape[0], generator=gen)[:sample]]
        exact = ExactSearch(self.metric)
        exact.rebuild(searched)
        t0 = time.perf_counter()
        _, truth = exact.search(queries, k)
        t1 = time.perf_counter()
        _, found = self.search.search(queries, k)
        t2 = time.perf_counter()
        hits = sum(len(set(a) & set(b)) for a, b in zip(truth.tolist(), found.tolist(), strict=True))
        k = truth.shape[1]
        return {
            "recall": hits / (sample * k),
            "k": k,
            "sample": sample,
            "exactMs": (t1 - t0) * 1e3,
            "indexMs": (t2 - t1) * 1e3,
        }


def _check_finite(embeddings: torch.Tensor, path: str) -> None:
    """Refuse NaN or infinite rows, naming them: every score against them would be garbage."""
    bad = (~torch.isfinite(embeddings).all(dim=1)).nonzero().flatten()
    if bad.numel():
        rows = f"{bad[:5].tolist()}{'…' if bad.numel() > 5 else ''}"
        raise BridgeValidationError(f"{path} hold NaN or infinite values in rows {rows}: fix or drop them", path=path)


def _expanded(q: torch.Tensor, searched: torch.Tensor, near: torch.Tensor, normalize: bool) -> torch.Tensor:
    """Each query averaged with its nearest references (alpha-QE with alpha 0), renormalised for cosine."""
    found = near >= 0
    total = q + (searched[near.clamp_min(0)] * found[..., None]).sum(dim=1)
    mean = total / (1 + found.sum(dim=1, keepdim=True))
    return F.normalize(mean, dim=1) if normalize else mean


def _verdicts(
    scores: torch.Tensor, index: torch.Tensor, threshold: float | None, vote: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per query: the winning label's index (-1: unknown) and its best score."""
    n = scores.shape[0]
    verdict = index[:, 0].clone() if scores.shape[1] else torch.full((n,), -1, dtype=torch.int32)
    best = scores[:, 0].clone() if scores.shape[1] else torch.full((n,), math.nan)
    if vote == "knn" and scores.shape[1] > 1:
        for i, (labels, values) in enumerate(zip(index.tolist(), scores.tolist(), strict=True)):
            tally: dict[int, tuple[int, float]] = {}
            for label, value in zip(labels, values, strict=True):
                if label >= 0:
                    count, top = tally.get(label, (0, -math.inf))
                    tally[label] = (count + 1, max(top, value))
            if tally:  # most votes, then the better best score
                label, (_, top) = max(tally.items(), key=lambda item: item[1])
                verdict[i], best[i] = label, top
    if threshold is not None:
        verdict[~(best.double() >= threshold)] = -1  # in float64, as TypeScript compares; NaN (none found) is unknown
    return verdict, best


def _float32_at_least(value: float) -> float:
    """The smallest float32 ≥ ``value``.

    Scores are float32, so this threshold accepts exactly the same scores as ``value`` whether it
    is compared in float32 (torch rounds a Python float to the tensor's dtype) or in float64 (TypeScript).
    """
    t = torch.tensor(value, dtype=torch.float32)
    if float(t) < value:
        t = torch.nextafter(t, torch.tensor(math.inf, dtype=torch.float32))
    return float(t)


def _open_set_figures(
    threshold: float,
    best_pos: torch.Tensor,
    best_neg: torch.Tensor,
    top_score: torch.Tensor,
    top_ok: torch.Tensor,
    known: torch.Tensor,
) -> dict[str, Any]:
    """True/false accept rates, identification rate of known queries, rejection of unknown ones, at ``threshold``."""
    accepted = top_score >= threshold
    unknown = ~known
    negatives = best_neg[~best_neg.isnan()]

    def rate(hits: torch.Tensor, of: torch.Tensor) -> float | None:
        return float(hits[of].double().mean()) if bool(of.any()) else None

    right = (known & top_ok & accepted) | (unknown & ~accepted)
    return {
        "threshold": float(threshold),
        "far": float((negatives >= threshold).double().mean()) if len(negatives) else None,
        "tar": rate(best_pos >= threshold, known),
        "identificationRate": rate(top_ok & accepted, known),
        "unknownRejection": rate(~accepted, unknown),
        "openSetAccuracy": float(right.double().mean()) if len(right) else None,
        "known": int(known.sum()),
        "unknown": int(unknown.sum()),
    }
