"""Open-set acceptance thresholds: where to cut scores so unknown identities are rejected."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

DEFAULT_FAR_TARGETS = (0.01, 0.001)


def suggest_thresholds(
    positive_scores: torch.Tensor, negative_scores: torch.Tensor, far_targets: Sequence[float] = DEFAULT_FAR_TARGETS
) -> dict[str, Any]:
    """Open-set acceptance thresholds (accept a match when its score is at least the threshold).

    ``evaluate`` passes each query's best positive and best negative score: a query of a known
    identity is accepted correctly when its best positive clears the threshold, and a query of an
    unknown identity (which only sees negatives) is falsely accepted when its best negative does.
    Any other pair of distributions (all positive and negative pairs, say) works the same way.

    Args:
        positive_scores: Scores that should be accepted (NaN entries are ignored).
        negative_scores: Scores that should be rejected (NaN entries are ignored).
        far_targets: False-accept rates to meet.

    Returns:
        ``max_f1``: the threshold with the highest F1 of accepting positives over negatives (the
        highest such threshold on ties), with its precision, recall and F1; ``far``: per target, the
        lowest threshold whose false-accept rate is at most the target, with the false- and
        true-accept rates there. The rate's resolution is 1 / the number of negatives. Thresholds are
        ``None`` when there is nothing to threshold.
    """
    pos = positive_scores.detach().double().flatten().cpu()
    neg = negative_scores.detach().double().flatten().cpu()
    pos, neg = pos[~pos.isnan()], neg[~neg.isnan()]
    out: dict[str, Any] = {"positives": len(pos), "negatives": len(neg), "max_f1": None, "far": []}

    if len(pos):
        values = torch.cat([pos, neg])
        is_pos = torch.cat([torch.ones(len(pos), dtype=torch.bool), torch.zeros(len(neg), dtype=torch.bool)])
        values, order = torch.sort(values, descending=True, stable=True)
        tp = is_pos[order].cumsum(0).double()
        accepted = torch.arange(1, len(values) + 1, dtype=torch.float64)
        distinct = torch.ones(len(values), dtype=torch.bool)
        distinct[:-1] = values[:-1] != values[1:]
        precision, recall = tp / accepted, tp / len(pos)
        f1 = torch.where(distinct, (2 * precision * recall / (precision + recall)).nan_to_num(0.0), -1.0)
        i = int(f1.argmax())
        out["max_f1"] = {
            "threshold": float(values[i]),
            "f1": float(f1[i]),
            "precision": float(precision[i]),
            "recall": float(recall[i]),
        }

    neg_desc = torch.sort(neg, descending=True).values
    for target in far_targets:
        allowed = math.floor(target * len(neg) + 1e-9)
        if len(neg) == 0 or allowed >= len(neg):
            everything = torch.cat([pos, neg])  # every negative may pass: accept everything
            threshold = float(everything.min()) if len(everything) else None
        else:
            # just above the (allowed + 1)-th highest negative, so at most `allowed` negatives pass
            threshold = float(torch.nextafter(neg_desc[allowed], torch.tensor(math.inf, dtype=torch.float64)))
        entry: dict[str, Any] = {"target": target, "threshold": threshold, "far": None, "tar": None}
        if threshold is not None:
            entry["far"] = float((neg >= threshold).double().mean()) if len(neg) else 0.0
            entry["tar"] = float((pos >= threshold).double().mean()) if len(pos) else None
        out["far"].append(entry)
    return out
