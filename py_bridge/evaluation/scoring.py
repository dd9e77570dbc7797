"""Score matrices over query and gallery embeddings, a block of query rows at a time, and labels as ids.

recognite's evaluation code (``recognite.eval``, ``recognite.utils``) builds the full
queries × gallery score matrix, and its Euclidean scores even an Nq × Ng × D tensor. Here the
score matrix is produced and consumed in blocks of query rows (``chunk``); every metric is a
per-query quantity (per_query.py) reduced at the end, so chunked and unchunked runs give the
same numbers. Labels may be integers or strings: they are mapped to integer ids before anything else.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the usual name

from bridge.errors import BridgeValidationError

METRICS = ("inner", "cosine", "euclid", "sq_euclid")
DEFAULT_CHUNK = 1024

Labels = torch.Tensor | Sequence[Any]


# --------------------------------------------------------------------------- labels


def encode_labels(*label_sets: Labels) -> tuple[list[torch.Tensor], list[Any]]:
    """Map labels of any hashable kind to shared integer ids.

    Args:
        *label_sets: Label sequences (lists, numpy arrays or 1-D tensors) sharing one label space.

    Returns:
        One ``int64`` id tensor per label set, and the label of each id. Ids follow the sorted
        order of the labels when they can be sorted, else their order of first appearance.
    """
    tensors = [s for s in label_sets if isinstance(s, torch.Tensor) and not s.is_floating_point()]
    if len(tensors) == len(label_sets):
        sizes = [s.numel() for s in tensors]
        flat = torch.cat([s.reshape(-1).to(torch.int64).cpu() for s in tensors])
        names, inverse = torch.unique(flat, sorted=True, return_inverse=True)
        return list(inverse.split(sizes)), names.tolist()
    python_sets = [_to_python_list(s) for s in label_sets]
    seen: dict[Any, None] = {}
    for labels in python_sets:
        for label in labels:
            seen.setdefault(label, None)
    try:
        ordered = sorted(seen)
    except TypeError:
        ordered = list(seen)
    index = {label: i for i, label in enumerate(ordered)}
    return [torch.tensor([index[x] for x in labels], dtype=torch.int64) for labels in python_sets], ordered


def _to_python_list(labels: Labels) -> list[Any]:
    """Plain Python values (``tolist`` turns numpy and torch scalars into ``int``/``str``)."""
    if hasattr(labels, "tolist"):
        out = labels.tolist()
        return out if isinstance(out, list) else [out]
    return list(labels)


# --------------------------------------------------------------------------- scores


def _float_dtype(emb: torch.Tensor) -> torch.dtype:
    """float64 stays, every other dtype (half precision, integers) computes in float32."""
    return torch.float64 if emb.dtype == torch.float64 else torch.float32


def _prepare(emb: torch.Tensor, metric: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Embeddings ready for the metric's matrix product, and squared norms for the distances."""
    if emb.dim() != 2:
        raise BridgeValidationError(f"embeddings must be 2-D (rows × dims), got shape {tuple(emb.shape)}", "embeddings")
    if metric == "cosine":
        return F.normalize(emb, dim=1), None
    if metric in ("euclid", "sq_euclid"):
        # float64 keeps |q|² + |g|² - 2 q·g from cancelling away small distances
        emb = emb.double()
        return emb, emb.pow(2).sum(dim=1)
    if metric == "inner":
        return emb, None
    raise BridgeValidationError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}", "metric")


def score_chunks(
    query: torch.Tensor, gallery: torch.Tensor, metric: str = "cosine", chunk: int = DEFAULT_CHUNK
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield the query × gallery score matrix in blocks of query rows.

    Larger is more similar for every metric: distances are negated. Only a ``chunk × Ng``
    block exists at a time, never an ``Nq × Ng × D`` tensor.

    Args:
        query: Query embeddings, one per row.
        gallery: Gallery embeddings, one per row, same width as ``query``.
        metric: ``"inner"`` (dot product), ``"cosine"`` (dot product of unit vectors),
            ``"euclid"`` (minus the Euclidean distance) or ``"sq_euclid"`` (minus its square).
        chunk: Number of query rows per block.

    Yields:
        ``(start, scores)``: the index of the block's first query and its ``rows × Ng`` scores,
        in the embeddings' floating dtype (float32 for half precision and integer input).
    """
    if chunk < 1:
        raise BridgeValidationError(f"chunk must be at least 1, got {chunk}", "chunk")
    dtype = torch.promote_types(_float_dtype(query), _float_dtype(gallery))
    g, g_sq = _prepare(gallery.to(dtype), metric)
    q, q_sq = _prepare(query.to(dtype), metric)
    if q.shape[1] != g.shape[1]:
        raise BridgeValidationError(
            f"query embeddings have {q.shape[1]} dims but gallery embeddings have {g.shape[1]}", "embeddings"
        )
    g_t = g.T
    for start in range(0, q.shape[0], chunk):
        block = q[start : start + chunk]
        scores = block @ g_t
        if q_sq is not None and g_sq is not None:
            sq = (q_sq[start : start + chunk, None] + g_sq[None, :] - 2 * scores).clamp_min_(0)
            scores = -(sq.sqrt_() if metric == "euclid" else sq)
            scores = scores.to(dtype)
        yield start, scores


def score_matrix(query: torch.Tensor, gallery: torch.Tensor, metric: str = "cosine") -> torch.Tensor:
    """The whole score matrix at once (for small sets and tests); see ``score_chunks``."""
    return torch.cat([s for _, s in score_chunks(query, gallery, metric, chunk=max(1, query.shape[0]))])


def average_references(
    embeddings: torch.Tensor, labels: Labels, normalize: bool = True
) -> tuple[torch.Tensor, list[Any]]:
    """Average the gallery embeddings of each label into one reference (recognite's ``avg_ref_embs``).

    Args:
        embeddings: One embedding per row.
        labels: Label of each row.
        normalize: Re-normalise each average to unit length (recognite does not; the mean of unit
            vectors is shorter than 1, which matters for the ``inner`` and distance metrics).

    Returns:
        The averaged embeddings, one row per label in sorted label order (as recognite), and those labels.
    """
    (ids,), names = encode_labels(labels)
    if len(ids) != embeddings.shape[0]:
        raise BridgeValidationError("there must be one label per embedding", "labels")
    ids = ids.to(embeddings.device)
    emb = embeddings if embeddings.is_floating_point() else embeddings.float()
    sums = torch.zeros(len(names), emb.shape[1], dtype=emb.dtype, device=emb.device).index_add_(0, ids, emb)
    means = sums / torch.bincount(ids, minlength=len(names)).to(emb.dtype)[:, None]
    if normalize:
        means = F.normalize(means, dim=1)
    return means, names
