"""The evaluation report: hand-computed cases, agreement with recognite, chunked = unchunked, input checks."""

import json
import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from bridge.errors import BridgeValidationError
from evaluation import recognite_compat, report, scoring

recognite_eval = pytest.importorskip("recognite.eval")


def approx(x, rel=1e-6, abs=1e-6):  # noqa: A002
    return pytest.approx(x, rel=rel, abs=abs)


def test_evaluate_hand_computed_and_json():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    g = torch.tensor([[1.0, 0.1], [0.1, 1.0], [1.0, -0.1], [-1.0, 0.0]])
    out = report.evaluate(q, ["cat", "dog", "fox"], g, ["cat", "dog", "cat", "eel"], k=10, return_top_k=True)
    json.dumps({k: v for k, v in out.items() if not isinstance(v, torch.Tensor)}, allow_nan=False)
    assert out["num_queries"] == 3 and out["num_gallery"] == 4 and out["queries_without_positives"] == 1
    assert out["accuracy"] == approx(2 / 3) and out["top_k_accuracy"] == approx(2 / 3)
    assert len(out["cmc"]) == 10 and out["cmc"][-1] == approx(2 / 3)
    assert out["knn_accuracy"] == approx(1 / 3)  # k = all 4: cat has 2 votes for every query
    assert out["mAP"] == approx(2 / 3) and out["mAP_with_positives"] == approx(1.0)
    assert out["AP_per_label"] == [
        {"label": "cat", "ap": 1.0},
        {"label": "dog", "ap": 1.0},
        {"label": "fox", "ap": 0.0},
    ]
    assert out["precision_at_1"] == 1.0 and out["r_precision"] == 1.0 and out["map_at_r"] == 1.0
    assert out["top_k_indices"].shape == (3, 4) and out["top_k_indices"][0].tolist() == [0, 2, 1, 3]
    assert out["top_k_indices"][2, :2].tolist() == [0, 1]  # fox ties between 0 and 1 (cos 1.1/√2.02)
    assert out["mean_hard_neg_score"] is not None


def test_evaluate_identical_embeddings_ties_and_single_query():
    g = torch.ones(5, 3)
    out = report.evaluate(torch.ones(1, 3), [2], g, [1, 2, 2, 1, 3], k=3, return_top_k=True, return_per_query=True)
    assert out["top_k_indices"].tolist() == [[0, 1, 2]]  # all tied: gallery order
    assert out["accuracy"] == 0.0 and out["cmc"] == [0.0, 1.0, 1.0]
    assert out["knn_accuracy"] == 1.0  # labels 1, 2, 2 among the 3 neighbours: 2 wins
    assert out["per_query"]["ap"].tolist() == approx([2 / 5])
    assert out["per_query"]["knn_prediction"] == [2] and out["per_query"]["first_hit_rank"].tolist() == [1]
    missing = report.evaluate(torch.ones(1, 3), ["q"], g, list("abcde"), return_per_query=True)["per_query"]
    assert missing["first_hit_rank"].tolist() == [-1] and math.isnan(missing["hard_pos_score"][0])


def test_evaluate_agrees_with_recognite(random_set):
    query, q_labels, gallery, g_labels = random_set
    out = report.evaluate(query, q_labels, gallery, g_labels, metric="inner", k=5, chunk=64)
    scores = query @ gallery.T
    assert out["accuracy"] == approx(float(recognite_eval.accuracy(scores, g_labels, q_labels)))
    assert out["top_k_accuracy"] == approx(float(recognite_eval.top_k_accuracy(scores, g_labels, q_labels, 5)))
    assert out["mAP"] == approx(float(recognite_eval.pr_metrics(scores, g_labels, q_labels)["mAP"]), rel=1e-5)
    cosine = F.normalize(query, dim=1) @ F.normalize(gallery, dim=1).T
    out_cos = report.evaluate(query, q_labels, gallery, g_labels, metric="cosine", k=5)
    assert out_cos["mAP"] == approx(float(recognite_eval.pr_metrics(cosine, g_labels, q_labels)["mAP"]), rel=1e-5)
    assert out_cos["queries_without_positives"] == int((~torch.isin(q_labels, g_labels)).sum())


def test_evaluate_average_refs():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    g = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    out = report.evaluate(q, ["a", "b"], g, ["a", "a", "b"], metric="inner", average_refs=True, return_top_k=True, k=2)
    assert out["num_gallery"] == 2 and out["accuracy"] == 1.0
    ref = F.normalize(torch.tensor([0.9, 0.3]), dim=0)
    assert out["top_k_scores"][0].tolist() == approx([float(ref[0]), 0.0])


# Scores of a 7-row block and of the whole set come from matrix products of different shapes, which
# BLAS computes with different kernels and summation orders (which differ between CPUs too: AMD EPYC
# vs Intel Xeon), so the same score may differ in its last bits. Floats are compared with FLOAT_TOL
# (float32 keeps ~7 digits: a few hundred ulps of slack). Ranks, indices and labels are compared
# exactly for every query whose ranking has no near-tie (relative gap below NEAR_TIE) where it
# matters (the top k + 1 and around the first correct match): there, no rounding can reorder them.
# The few queries with a near-tie may swap two neighbours, which can move a mean of per-query
# values in [0, 1] by at most 1 / queries each: report-level numbers get that much more slack.
FLOAT_TOL = {"rtol": 1e-5, "atol": 1e-6}
NEAR_TIE = 1e-5


def _assert_same_report(a, b, atol, path="report"):
    """Nested report values equal: floats within FLOAT_TOL's rtol and ``atol``, everything else exactly."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _assert_same_report(a[key], b[key], atol, f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same_report(x, y, atol, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=FLOAT_TOL["rtol"], abs=atol), path
    else:
        assert a == b, path


def _rows_without_near_ties(scores, first_hit, k):
    """Queries whose ranking no last-bit difference can change: no near-tie in the top k + 1 or at the first hit."""
    srt = torch.sort(scores.double(), dim=1, descending=True).values
    gap = (srt[:, :-1] - srt[:, 1:]) / srt.abs().max()  # gap[i, r]: between ranks r and r + 1
    ok = (gap[:, :k] >= NEAR_TIE).all(dim=1)
    for i, r in enumerate(first_hit.tolist()):
        if r >= 0:
            ok[i] &= bool((gap[i, max(0, r - 1) : r + 1] >= NEAR_TIE).all())
    return ok


@pytest.mark.parametrize("metric", scoring.METRICS)
def test_chunked_equals_unchunked(random_set, metric):
    query, q_labels, gallery, g_labels = random_set
    labels = [f"id{x}" for x in q_labels.tolist()], [f"id{x}" for x in g_labels.tolist()]
    kwargs = {"metric": metric, "k": 7, "return_top_k": True, "return_per_query": True}
    small = report.evaluate(query, labels[0], gallery, labels[1], chunk=7, **kwargs)
    whole = report.evaluate(query, labels[0], gallery, labels[1], chunk=100000, **kwargs)
    per_q_small, per_q_whole = small.pop("per_query"), whole.pop("per_query")
    ok = _rows_without_near_ties(scoring.score_matrix(query, gallery, metric), per_q_whole["first_hit_rank"], 7)
    assert int((~ok).sum()) <= 10  # the exact comparisons below must cover almost every query

    # ranks, indices and labels: exact where no near-tie exists
    for key in ("top_k_indices",):
        assert torch.equal(small.pop(key)[ok], whole.pop(key)[ok]), key
    assert torch.equal(per_q_small.pop("first_hit_rank")[ok], per_q_whole.pop("first_hit_rank")[ok])
    knn_small, knn_whole = per_q_small.pop("knn_prediction"), per_q_whole.pop("knn_prediction")
    assert [x for x, keep in zip(knn_small, ok.tolist(), strict=True) if keep] == [
        x for x, keep in zip(knn_whole, ok.tolist(), strict=True) if keep
    ]
    # scores and per-query floats: within FLOAT_TOL
    torch.testing.assert_close(small.pop("top_k_scores")[ok], whole.pop("top_k_scores")[ok], **FLOAT_TOL)
    assert per_q_small.keys() == per_q_whole.keys()
    for key in per_q_small:
        torch.testing.assert_close(per_q_small[key][ok], per_q_whole[key][ok], **FLOAT_TOL, equal_nan=True, msg=key)
    # report-level numbers: floats within tolerance (plus the near-tied queries' share), counts exactly
    _assert_same_report(small, whole, atol=FLOAT_TOL["atol"] + int((~ok).sum()) / len(ok))


def test_evaluate_validation():
    q, g = torch.randn(2, 3), torch.randn(4, 3)
    with pytest.raises(BridgeValidationError):
        report.evaluate(q, [0, 1], g, [0, 1, 2], k=1)  # one label short
    with pytest.raises(BridgeValidationError):
        report.evaluate(q, [0, 1], g, [0, 1, 2, 3], k=0)
    with pytest.raises(BridgeValidationError):
        report.evaluate(q, [0, 1], g, [0, 1, 2, 3], metric="hamming")
    with pytest.raises(BridgeValidationError):
        recognite_compat.accuracy(torch.zeros(2, 3), [0, 1, 2, 3], [0, 1])


def test_encode_labels():
    (a, b), names = scoring.encode_labels(["b", "a"], ["c", "a"])
    assert names == ["a", "b", "c"] and a.tolist() == [1, 0] and b.tolist() == [2, 0]
    (a, b), names = scoring.encode_labels(torch.tensor([5, 3]), torch.tensor([9]))
    assert names == [3, 5, 9] and a.tolist() == [1, 0] and b.tolist() == [2]
    (a,), names = scoring.encode_labels([1, "x", 1])  # unsortable: order of appearance
    assert names == [1, "x"] and a.tolist() == [0, 1, 0]
