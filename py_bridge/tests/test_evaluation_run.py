"""evaluation.run with resolved options: the report's extras agree with its metrics, and perQuery's types."""

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from bridge.jobs import JobContext
from evaluation import recognite_compat
from evaluation.run import run

OPTIONS = {
    "metric": "cosine",
    "k": 3,
    "averageReferences": False,
    "tta": "none",
    "topMatches": True,
    "perQuery": True,
    "returnScores": True,
    "curves": True,
    "returnEmbeddings": False,
    "chunkSize": 4,
    "size": 32,
    "batchSize": 8,
    "numWorkers": 0,
    "precision": "fp32",
    "rerank": None,
    "queryExpansion": None,
}


def sides(seed=0, labels=6, per_label=4, queries=15):
    g = torch.Generator().manual_seed(seed)
    centres = F.normalize(torch.randn(labels, 16, generator=g), dim=1)
    g_labels = [f"id{i % labels}" for i in range(labels * per_label)]
    q_labels = [f"id{i % (labels + 1)}" for i in range(queries)]  # id6 has no gallery item
    centres = torch.cat([centres, F.normalize(torch.randn(1, 16, generator=g), dim=1)])
    g_emb = centres[[int(s[2:]) for s in g_labels]] + 0.6 * torch.randn(len(g_labels), 16, generator=g)
    q_emb = centres[[int(s[2:]) for s in q_labels]] + 0.6 * torch.randn(len(q_labels), 16, generator=g)
    return {
        "gallery": {"embeddings": g_emb, "labels": g_labels},
        "query": {"embeddings": q_emb, "labels": q_labels},
    }


def evaluate(**overrides):
    model = SimpleNamespace(normalize=True)
    s = sides()
    return s, run(model, torch.device("cpu"), s, {**OPTIONS, **overrides}, JobContext())


@pytest.mark.parametrize("average", [False, True])
def test_scores_curves_and_top_matches_agree_with_the_metrics(average):
    s, report = evaluate(averageReferences=average)
    scores = report["scores"]
    columns = report["referenceLabels"] if average else s["gallery"]["labels"]
    assert ("referenceLabels" in report) == average
    if average:
        assert columns == sorted(set(s["gallery"]["labels"]))
    assert scores.shape == (report["numQueries"], len(columns)) == (15, report["numGallery"])
    q_labels = s["query"]["labels"]
    # exact by construction: the same score values (not recomputed), ranked the same way, give the same hits
    assert recognite_compat.accuracy(scores, columns, q_labels) == report["accuracy"]
    assert recognite_compat.top_k_accuracy(scores, columns, q_labels, 3) == report["topKAccuracy"]
    pr = recognite_compat.pr_metrics(scores, columns, q_labels, return_curves=True)
    assert pr["mAP"] == pytest.approx(report["mAP"], abs=1e-12)
    assert len(report["curves"]) == 15
    for curve, p, r in zip(report["curves"], pr["Precisions"], pr["Recalls"], strict=True):
        assert curve["precision"] == p.tolist() and curve["recall"] == r.tolist()
    indices = report["topMatches"]["indices"]
    assert indices.shape == (15, 3) and int(indices.max()) < len(columns)
    best = [columns[i] for i in indices[:, 0].tolist()]
    assert sum(b == q for b, q in zip(best, q_labels, strict=True)) / 15 == report["accuracy"]
    # exact by construction: both are the very same float values, taken from the same score blocks
    torch.testing.assert_close(report["topMatches"]["scores"][:, 0], scores.max(dim=1).values, rtol=0, atol=0)


def test_per_query_types():
    s, report = evaluate()
    pq = report["perQuery"]
    assert isinstance(pq["knnPrediction"], list) and len(pq["knnPrediction"]) == 15
    assert set(pq["knnPrediction"]) <= set(s["gallery"]["labels"])  # labels as the gallery spells them
    rank = pq["firstHitRank"]
    assert rank.dtype == torch.int64 and rank.shape == (15,)
    no_positive = torch.tensor([label == "id6" for label in s["query"]["labels"]])
    assert (rank[no_positive] == -1).all() and (rank[~no_positive] >= 0).all()
    assert report["queriesWithoutPositives"] == int(no_positive.sum())


def test_non_finite_embeddings_are_refused_with_their_rows() -> None:
    import math

    import pytest
    import torch

    from bridge.errors import BridgeValidationError
    from evaluation.run import check_finite

    emb = torch.ones(4, 3)
    check_finite(emb, "gallery", True)
    emb[2, 1] = math.nan
    emb[3, 0] = math.inf
    with pytest.raises(BridgeValidationError, match=r"2 gallery embeddings \(rows \[2, 3\]\) hold NaN"):
        check_finite(emb, "gallery", True)
