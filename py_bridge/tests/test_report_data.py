"""What the HTML report draws, in every EvaluationReport (pair histograms, PR curve, retrieval list); thumbnails."""

import base64
import io
import json

import pytest
import torch
from PIL import Image

from evaluation import report, thumbnails
from evaluation.pairs import PairHistogram
from evaluation.retrieval import pick_queries


def approx(x, rel=1e-6, abs=1e-6):  # noqa: A002
    return pytest.approx(x, rel=rel, abs=abs)


def test_pair_histogram_by_hand():
    # scores 0, 0.25, 0.5, 1 need bins of 0.5 to fit in 4 fine bins (0.25 would need 5): [0, .5) [.5, 1) [1, 1.5)
    h = PairHistogram(fine_bins=4)
    scores = torch.tensor([[0.0, 0.25], [0.5, 1.0]])
    h.add(scores, torch.tensor([0, 1]), torch.tensor([0, 1]))  # positives: 0 (row 0) and 1.0 (row 1)
    fine = h.result(bins=4)
    assert fine == {"edges": [0.0, 0.5, 1.0, 1.5], "positive": [1, 0, 1], "negative": [1, 1, 0]}
    # grouped into 2 bins of 2 fine bins: [0, 1) [1, 2)
    assert h.result(bins=2) == {"edges": [0.0, 1.0, 2.0], "positive": [1, 1], "negative": [2, 0]}


def test_pair_histogram_is_the_same_block_by_block_and_at_once():
    gen = torch.Generator().manual_seed(1)
    scores = torch.randint(-500, 500, (40, 30), generator=gen).float() / 64  # exact binary fractions
    scores[7, 3] = 40.0  # a late block widens the range: earlier bins merge
    q_ids, g_ids = torch.randint(0, 5, (40,), generator=gen), torch.randint(0, 5, (30,), generator=gen)
    whole = PairHistogram()
    whole.add(scores, q_ids, g_ids)
    parts = PairHistogram()
    for start in range(0, 40, 3):
        parts.add(scores[start : start + 3], q_ids[start : start + 3], g_ids)
    assert parts.result() == whole.result()
    out = whole.result()
    assert len(out["edges"]) == len(out["positive"]) + 1 <= 51
    same = q_ids[:, None] == g_ids[None, :]
    assert sum(out["positive"]) == int(same.sum()) and sum(out["negative"]) == int((~same).sum())
    assert out["edges"][0] <= float(scores.min()) and out["edges"][-1] > float(scores.max())
    # every score lies in the bin the counts say
    edges = torch.tensor(out["edges"], dtype=torch.float64)
    pos_counts = torch.bincount(torch.bucketize(scores[same].double(), edges, right=True) - 1, minlength=len(edges) - 1)
    assert pos_counts.tolist() == out["positive"]


def test_pair_histogram_counts_every_pair_where_a_mask_puts_it():
    # float scores of any value, query labels the gallery lacks, a NaN: the counts by label index agree
    # with a full mask of pairs, block by block
    gen = torch.Generator().manual_seed(2)
    scores = torch.randn(60, 45, generator=gen)
    scores[5, 7] = float("nan")
    q_ids, g_ids = torch.randint(0, 9, (60,), generator=gen), torch.randint(0, 6, (45,), generator=gen)
    h = PairHistogram()
    for start in range(0, 60, 7):
        h.add(scores[start : start + 7], q_ids[start : start + 7], g_ids)
    out = h.result(bins=10_000)  # the fine bins themselves
    edges = torch.tensor(out["edges"], dtype=torch.float64)
    same = (q_ids[:, None] == g_ids[None, :]) & scores.isfinite()
    other = ~(q_ids[:, None] == g_ids[None, :]) & scores.isfinite()
    for mask, counts in ((same, out["positive"]), (other, out["negative"])):
        bins = torch.bucketize(scores[mask].double(), edges, right=True) - 1
        assert torch.bincount(bins, minlength=len(edges) - 1).tolist() == counts


def test_pr_curve_and_retrieval_by_hand():
    # query a ranks a, b, a (AP (1 + 2/3) / 2); query b finds its only positive first (AP 1)
    g = torch.tensor([[3.0, 0.0], [2.0, 1.0], [1.0, 0.0]])
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    out = report.evaluate(
        q, ["a", "b"], g, ["a", "b", "a"], metric="inner", query_images=["qa.jpg", "qb.jpg"], gallery_images=list("xyz")
    )
    json.dumps(report.to_report(out), allow_nan=False)
    pr = out["pr_curve"]
    assert pr["queries"] == 2 and len(pr["recall"]) == 101 and pr["recall"][50] == 0.5
    # query a: precision 1 up to recall 0.5, then the best precision at recall 1 is 2/3
    assert pr["precision"][:51] == approx([1.0] * 51)
    assert pr["precision"][51:] == approx([(1 + 2 / 3) / 2] * 50)
    # two candidates: one worst (the lower AP), one best
    worst, best = out["retrieval"]
    assert (worst["kind"], worst["query"], worst["label"], worst["image"]) == ("worst", 0, "a", "qa.jpg")
    assert worst["ap"] == approx((1 + 2 / 3) / 2) and worst["hasPositives"]
    assert [(m["row"], m["label"], m["correct"], m["image"]) for m in worst["matches"]] == [
        (0, "a", True, "x"),
        (1, "b", False, "y"),
        (2, "a", True, "z"),
    ]
    assert [m["score"] for m in worst["matches"]] == approx([3.0, 2.0, 1.0])
    assert (best["kind"], best["query"], best["ap"]) == ("best", 1, 1.0)
    # pairs: positives 3, 1 (a) and 1 (b); negatives 2 (a) and 0, 0 (b)
    hist = out["pair_histogram"]
    assert sum(hist["positive"]) == 3 and sum(hist["negative"]) == 3
    assert hist["edges"][0] <= 0.0 and hist["edges"][-1] > 3.0


def test_pr_curve_ties_and_queries_without_positives():
    # all tied: the only threshold takes every item, precision 2/5 at recall 1, at every level
    out = report.evaluate(torch.ones(2, 3), [2, 9], torch.ones(5, 3), [1, 2, 2, 1, 3])
    assert out["pr_curve"]["queries"] == 1  # label 9 has no gallery item
    assert out["pr_curve"]["precision"] == approx([2 / 5] * 101)
    assert [e["query"] for e in out["retrieval"]] == [0]  # only queries with a positive compete
    assert out["retrieval"][0]["image"] is None and out["retrieval"][0]["matches"][0]["image"] is None
    assert len(out["retrieval"][0]["matches"]) == 5
    none = report.evaluate(torch.ones(1, 3), ["q"], torch.ones(2, 3), ["a", "b"])
    assert none["pr_curve"]["precision"] == [None] * 101 and none["pr_curve"]["queries"] == 0
    assert [e["query"] for e in none["retrieval"]] == [0]  # no query has a positive: all compete


def test_pick_queries_worst_first_ties_by_index():
    ap = torch.tensor([0.5, 0.2, 0.5, 1.0, 0.2, 0.9, 0.0])
    npos = torch.tensor([1, 1, 1, 1, 1, 1, 0])  # the last is an unknown identity
    assert pick_queries(ap, npos, worst=3, best=2) == [
        ("worst", 1),
        ("worst", 4),
        ("worst", 0),
        ("best", 3),
        ("best", 5),
    ]
    assert pick_queries(ap, npos, worst=12, best=4) == [("worst", i) for i in (1, 4, 0, 2, 5)] + [("best", 3)]
    # a perfectly ranked query is never "worst": with few imperfect ones, fewer worst ones
    perfect = torch.tensor([1.0, 1.0, 0.5, 1.0, 1.0, 1.0])
    assert pick_queries(perfect, torch.ones(6), worst=12, best=2) == [("worst", 2), ("best", 0), ("best", 1)]
    assert pick_queries(torch.ones(4), torch.ones(4), worst=12, best=4) == [("best", i) for i in (0, 1, 2, 3)]


def test_report_fields_with_averaged_references_have_no_gallery_images():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    g = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    out = report.evaluate(q, ["a", "b"], g, ["a", "a", "b"], average_refs=True, gallery_images=["1", "2", "3"])
    assert all(m["image"] is None for e in out["retrieval"] for m in e["matches"])
    assert all(len(e["matches"]) == 2 for e in out["retrieval"])  # 2 references


def test_thumbnails(tmp_path, monkeypatch):
    big = tmp_path / "big.png"
    Image.new("RGB", (300, 150), (200, 10, 10)).save(big)
    out = thumbnails.thumbnails({"paths": [str(big), str(tmp_path / "gone.jpg")], "size": 96})["thumbnails"]
    with Image.open(io.BytesIO(base64.b64decode(out[0]["data"]))) as img:
        assert img.format == "JPEG" and img.size == (96, 48)
    assert out[0]["error"] is None
    assert out[1]["data"] is None and "not found" in out[1]["error"]
    monkeypatch.setenv("RECOGNITE_MAX_IMAGE_PIXELS", "1000")
    refused = thumbnails.thumbnails({"paths": [str(big)], "size": 96})["thumbnails"][0]
    assert refused["data"] is None and "RECOGNITE_MAX_IMAGE_PIXELS" in refused["error"]


def test_pairs_without_a_finite_score_are_not_counted():
    # a diverged model's NaN embeddings reach fit's validation as they come: its pairs are left out, not a crash
    q = torch.tensor([[1.0, 0.0], [float("nan"), float("nan")], [0.6, 0.8]])
    g = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    hist = report.evaluate(q, ["a", "b", "a"], g, ["a", "b"])["pair_histogram"]
    assert (sum(hist["positive"]), sum(hist["negative"])) == (2, 2)
    nothing = report.evaluate(torch.full((2, 2), float("nan")), ["a", "b"], g, ["a", "b"])["pair_histogram"]
    assert nothing == {"edges": [], "positive": [], "negative": []}
