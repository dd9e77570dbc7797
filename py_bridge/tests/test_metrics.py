"""Recognition metrics: hand-computed cases, agreement with recognite, and chunking."""

import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from bridge.errors import BridgeValidationError
from evaluation import recognite_compat, scoring, thresholds

recognite_eval = pytest.importorskip("recognite.eval")
from recognite.eval.score_matrix import _cosine, _euclid, _sq_euclid  # noqa: E402
from recognite.utils import avg_ref_embs  # noqa: E402


def approx(x, rel=1e-6, abs=1e-6):  # noqa: A002
    return pytest.approx(x, rel=rel, abs=abs)


# --------------------------------------------------------------------------- scores


def test_cosine_is_normalised_per_row_unlike_recognite():
    gen = torch.Generator().manual_seed(1)
    q, g = torch.randn(3, 4, generator=gen), torch.randn(5, 4, generator=gen)
    expected = F.normalize(q, dim=1) @ F.normalize(g, dim=1).T
    torch.testing.assert_close(scoring.score_matrix(q, g, "cosine"), expected)
    with pytest.raises(RuntimeError):  # recognite divides by a norm vector without keepdim
        _cosine(q, g)
    # when both batch sizes equal the embedding size recognite runs, and is wrong
    q4, g4 = torch.randn(4, 4, generator=gen) * 3, torch.randn(4, 4, generator=gen)
    ours = scoring.score_matrix(q4, g4, "cosine")
    assert ours.abs().max() <= 1 + 1e-6
    assert not torch.allclose(ours, _cosine(q4, g4))


def test_inner_and_distances_hand_computed():
    q = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    g = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    torch.testing.assert_close(scoring.score_matrix(q, g, "inner"), torch.tensor([[0.0, 0.0], [11.0, 1.0]]))
    torch.testing.assert_close(
        scoring.score_matrix(q, g, "euclid"), torch.tensor([[-5.0, -1.0], [-math.sqrt(8), -2.0]])
    )
    torch.testing.assert_close(scoring.score_matrix(q, g, "sq_euclid"), torch.tensor([[-25.0, -1.0], [-8.0, -4.0]]))


def test_distances_agree_with_recognite(random_set):
    query, _, gallery, _ = random_set
    q, g = query[:40], gallery[:60]
    torch.testing.assert_close(scoring.score_matrix(q, g, "euclid"), -_euclid(q, g), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(scoring.score_matrix(q, g, "sq_euclid"), -_sq_euclid(q, g), rtol=1e-5, atol=1e-4)


def test_score_chunks_blocks_and_dtypes():
    q, g = torch.randn(10, 3), torch.randn(4, 3)
    chunks = list(scoring.score_chunks(q, g, "inner", chunk=4))
    assert [start for start, _ in chunks] == [0, 4, 8]
    assert [s.shape for _, s in chunks] == [(4, 4), (4, 4), (2, 4)]
    assert next(scoring.score_chunks(q.half(), g.half()))[1].dtype == torch.float32
    assert next(scoring.score_chunks(q.double(), g, "euclid"))[1].dtype == torch.float64
    with pytest.raises(BridgeValidationError):
        next(scoring.score_chunks(q, g, "manhattan"))
    with pytest.raises(BridgeValidationError):
        next(scoring.score_chunks(q, torch.randn(4, 5)))
    with pytest.raises(BridgeValidationError):
        next(scoring.score_chunks(q, g, chunk=0))


# --------------------------------------------------------------------------- accuracy, CMC


def test_accuracy_ties_go_to_lower_gallery_index():
    scores = torch.tensor([[1.0, 1.0, 0.0]])
    assert recognite_compat.accuracy(scores, [0, 1, 2], [1]) == 0.0  # index 0 (label 0) wins the tie
    assert recognite_compat.accuracy(scores, [0, 1, 2], [0]) == 1.0
    assert recognite_compat.top_k_accuracy(scores, [0, 1, 2], [1], k=2) == 1.0


def test_accuracy_hand_computed_with_string_labels_and_missing_label():
    scores = torch.tensor(
        [
            [0.9, 0.1, 0.5, 0.3],  # cat: best is cat
            [0.9, 0.1, 0.5, 0.3],  # dog: best cat, dog at rank 3
            [0.2, 0.8, 0.1, 0.0],  # fox: not in the gallery
        ]
    )
    gallery = ["cat", "dog", "cat", "eel"]
    query = ["cat", "dog", "fox"]
    assert recognite_compat.accuracy(scores, gallery, query) == approx(1 / 3)
    assert recognite_compat.top_k_accuracy(scores, gallery, query, k=2) == approx(1 / 3)
    assert recognite_compat.top_k_accuracy(scores, gallery, query, k=4) == approx(2 / 3)
    assert recognite_compat.top_k_accuracy(scores, gallery, query, k=100) == approx(2 / 3)  # k > gallery: all of it
    assert recognite_compat.cmc(scores, gallery, query, k=5).tolist() == approx([1 / 3, 1 / 3, 1 / 3, 2 / 3, 2 / 3])


def test_accuracy_agrees_with_recognite(random_set):
    query, q_labels, gallery, g_labels = random_set
    scores = scoring.score_matrix(query, gallery, "inner")
    assert recognite_compat.accuracy(scores, g_labels, q_labels) == approx(
        float(recognite_eval.accuracy(scores, g_labels, q_labels))
    )
    for k in (1, 5, 20, 1000):
        ours = recognite_compat.top_k_accuracy(scores, g_labels, q_labels, k)
        assert ours == approx(float(recognite_eval.top_k_accuracy(scores, g_labels, q_labels, k)))
    cmc = recognite_compat.cmc(scores, g_labels, q_labels, k=10)
    expected = [float(recognite_eval.top_k_accuracy(scores, g_labels, q_labels, r)) for r in range(1, 11)]
    assert cmc.tolist() == approx(expected)


# --------------------------------------------------------------------------- precision-recall


def test_pr_metrics_hand_computed():
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.6]])  # a single query: recognite fails on that
    out = recognite_compat.pr_metrics(scores, [1, 0, 1, 0], [1], return_curves=True)
    assert out["AP"].tolist() == approx([(1 + 2 / 3) / 2])
    assert out["Thresholds"][0].tolist() == approx([0.7, 0.8, 0.9])
    assert out["Precisions"][0].tolist() == approx([2 / 3, 1 / 2, 1, 1])
    assert out["Recalls"][0].tolist() == approx([1, 0.5, 0.5, 0])
    assert out["P@maxF1"].tolist() == approx([2 / 3])
    assert out["R@maxF1"].tolist() == approx([1.0])
    assert out["T@maxF1"].tolist() == approx([0.7])
    assert out["maxF1"].tolist() == approx([0.8])
    with pytest.raises(TypeError):
        recognite_eval.pr_metrics(scores, torch.tensor([1, 0, 1, 0]), torch.tensor([1]))


def test_pr_metrics_tied_scores_form_one_threshold():
    # stable order would rank the positive at index 1 before the negative at index 2 (AP 1);
    # as one threshold, 0.5 has precision 2/3 at recall 1
    scores = torch.tensor([[0.9, 0.5, 0.5], [0.9, 0.5, 0.5]])
    out = recognite_compat.pr_metrics(scores, [1, 1, 0], [1, 1], return_curves=True)
    assert out["AP"].tolist() == approx([5 / 6, 5 / 6])
    assert out["Thresholds"][0].tolist() == approx([0.5, 0.9])
    ref = recognite_eval.pr_metrics(scores, torch.tensor([1, 1, 0]), torch.tensor([1, 1]))
    assert ref["AP"].tolist() == approx(out["AP"].tolist())


def test_pr_metrics_identical_embeddings():
    emb = torch.ones(3, 4)
    scores = scoring.score_matrix(emb[:2], emb, "cosine")
    out = recognite_compat.pr_metrics(scores, [0, 1, 0], [0, 1])
    assert out["AP"].tolist() == approx([2 / 3, 1 / 3])  # one threshold: precision = positives / gallery
    assert out["T@maxF1"].tolist() == approx([1.0, 1.0])


def test_pr_metrics_query_without_positives_and_map_conventions():
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.6], [0.1, 0.4, 0.3, 0.2]])
    gallery, query = ["a", "b", "a", "b"], ["a", "z"]
    out = recognite_compat.pr_metrics(scores, gallery, query, return_curves=True)
    assert out["AP"].tolist() == approx([(1 + 2 / 3) / 2, 0.0])
    assert out["mAP"] == approx((1 + 2 / 3) / 4)  # recognite: a query without positives counts as 0
    assert out["mAP_with_positives"] == approx((1 + 2 / 3) / 2)  # re-id: skipped
    assert out["AP_per_label"] == approx({"a": (1 + 2 / 3) / 2, "z": 0.0})
    # recognite's values for the query without positives: precision 0 and recall 1 at the top score
    assert out["P@maxF1"][1] == 0 and out["R@maxF1"][1] == 1 and out["maxF1"][1] == 0
    assert out["T@maxF1"][1] == approx(0.4)
    assert out["Precisions"][1].tolist() == [0.0, 1.0] and out["Recalls"][1].tolist() == [1.0, 0.0]
    ref = recognite_eval.pr_metrics(scores, torch.tensor([0, 1, 0, 1]), torch.tensor([0, 9]))
    for key in ("AP", "P@maxF1", "R@maxF1", "T@maxF1", "maxF1"):
        assert out[key].tolist() == approx(ref[key].tolist()), key
    assert (
        recognite_compat.pr_metrics(scores, gallery, ["z", "y"])["mAP_with_positives"]
        != recognite_compat.pr_metrics(scores, gallery, query)["mAP"]
    )
    assert math.isnan(recognite_compat.pr_metrics(scores, gallery, ["z", "y"])["mAP_with_positives"])


def test_pr_metrics_agree_with_recognite(random_set):
    query, q_labels, gallery, g_labels = random_set
    scores = scoring.score_matrix(query, gallery, "inner")
    ref = recognite_eval.pr_metrics(scores, g_labels, q_labels)
    ours = recognite_compat.pr_metrics(scores, g_labels, q_labels, chunk=37, return_curves=True)
    assert ours["mAP"] == approx(float(ref["mAP"]))
    for key in ("AP", "P@maxF1", "R@maxF1", "T@maxF1", "maxF1"):
        torch.testing.assert_close(ours[key].double(), ref[key].double(), rtol=1e-5, atol=1e-6, msg=key)
    for key in ("Precisions", "Recalls", "Thresholds"):
        assert len(ours[key]) == len(ref[key])
        for a, b in zip(ours[key], ref[key], strict=True):
            torch.testing.assert_close(a.double(), b.double(), rtol=1e-5, atol=1e-6)


def test_pr_metrics_agree_with_recognite_on_quantised_scores():
    gen = torch.Generator().manual_seed(2)
    scores = torch.randint(0, 5, (200, 300), generator=gen).float() / 4  # many ties
    g_labels = torch.randint(0, 20, (300,), generator=gen)
    q_labels = torch.randint(0, 22, (200,), generator=gen)
    ref = recognite_eval.pr_metrics(scores, g_labels, q_labels)
    ours = recognite_compat.pr_metrics(scores, g_labels, q_labels)
    for key in ("AP", "P@maxF1", "R@maxF1", "T@maxF1", "maxF1"):
        torch.testing.assert_close(ours[key].double(), ref[key].double(), rtol=1e-5, atol=1e-6, msg=key)


# --------------------------------------------------------------------------- hardest positives and negatives


def test_hard_pos_neg_one_entry_per_query():
    scores = torch.tensor(
        [
            [0.9, 0.2, 0.5],  # label 0: positives 0.9, 0.5 → hardest 0.5; negative 0.2
            [0.3, 0.6, 0.1],  # label 7: no positive
            [0.4, 0.8, 0.7],  # label 1: no negative... except index 0 and 2 (label 0)
        ]
    )
    out = recognite_compat.hard_pos_neg_scores(scores, [0, 1, 0], [0, 7, 1])
    pos, neg = out["HardPosScores"], out["HardNegScores"]
    assert len(pos) == len(neg) == 3
    assert pos[0] == approx(0.5) and math.isnan(pos[1]) and pos[2] == approx(0.8)
    assert neg.tolist() == approx([0.2, 0.6, 0.7])
    only_pos = recognite_compat.hard_pos_neg_scores(torch.tensor([[0.3, 0.2]]), [4, 4], [4])
    assert only_pos["HardPosScores"].tolist() == approx([0.2]) and math.isnan(only_pos["HardNegScores"][0])
    # recognite drops the query without positives, so its lists no longer line up with the queries
    ref = recognite_eval.hard_pos_neg_scores(scores, torch.tensor([0, 1, 0]), torch.tensor([0, 7, 1]))
    assert len(ref["HardPosScores"]) == 2 and len(ref["HardNegScores"]) == 3
    assert ref["HardPosScores"].tolist() == approx(pos[~pos.isnan()].tolist())


def test_hard_pos_neg_agree_with_recognite_where_defined(random_set):
    query, q_labels, gallery, g_labels = random_set
    scores = scoring.score_matrix(query, gallery, "inner")
    ours = recognite_compat.hard_pos_neg_scores(scores, g_labels, q_labels, chunk=11)
    ref = recognite_eval.hard_pos_neg_scores(scores, g_labels, q_labels)
    pos = ours["HardPosScores"]
    assert len(pos) == len(q_labels) and int(pos.isnan().sum()) > 0
    torch.testing.assert_close(pos[~pos.isnan()], ref["HardPosScores"])
    torch.testing.assert_close(ours["HardNegScores"], ref["HardNegScores"])


# --------------------------------------------------------------------------- kNN


def test_knn_majority_and_tie_towards_nearest():
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.6], [0.1, 0.8, 0.7, 0.6]])
    gallery = torch.tensor([5, 2, 5, 2])
    assert recognite_compat.knn(scores, gallery, k=4) == [5, 2]  # 2 votes each: the nearest neighbour's label wins
    assert recognite_eval.knn(scores, gallery, k=4).tolist() == [2, 2]  # recognite: the smallest label
    assert recognite_compat.knn(scores, gallery, k=3) == [5, 2]
    assert recognite_compat.knn(scores, gallery, k=1) == [5, 2]
    assert recognite_compat.knn(scores, ["x", "y", "y", "z"], k=3) == ["y", "y"]
    assert recognite_compat.knn(scores, gallery, k=50) == [5, 2]  # k > gallery: all of it


def test_knn_agrees_with_recognite_without_vote_ties(random_set):
    query, _, gallery, _ = random_set
    scores = scoring.score_matrix(query, gallery, "inner")
    g_labels = torch.arange(400) % 3  # few labels: ties in votes are rare with k = 7
    k = 7
    ours = torch.tensor(recognite_compat.knn(scores, g_labels, k, chunk=9))
    ref = recognite_eval.knn(scores, g_labels, k)
    top = g_labels[scores.argsort(dim=1, descending=True)[:, :k]]
    counts = torch.stack([(top == c).sum(dim=1) for c in range(3)], dim=1)
    no_tie = (counts == counts.max(dim=1, keepdim=True).values).sum(dim=1) == 1
    assert int(no_tie.sum()) > 200
    assert torch.equal(ours[no_tie], ref[no_tie])


# --------------------------------------------------------------------------- pytorch-metric-learning metrics


def _pml_reference(scores, g_labels, q_labels):
    """A loop over queries with pytorch-metric-learning's definitions."""
    p1, rp, mapr = [], [], []
    for row, label in zip(scores, q_labels.tolist(), strict=True):
        r = int((g_labels == label).sum())
        if r == 0:
            continue
        rel = (g_labels[torch.sort(row, descending=True, stable=True).indices] == label).tolist()
        p1.append(float(rel[0]))
        rp.append(sum(rel[:r]) / r)
        hits, total = 0, 0.0
        for i, is_rel in enumerate(rel[:r], start=1):
            if is_rel:
                hits += 1
                total += hits / i
        mapr.append(total / r)
    return {"precision_at_1": sum(p1) / len(p1), "r_precision": sum(rp) / len(rp), "map_at_r": sum(mapr) / len(mapr)}


def test_pml_metrics_hand_computed():
    scores = torch.tensor([[0.9, 0.8, 0.7, 0.6], [0.5, 0.6, 0.7, 0.8], [0.1, 0.2, 0.3, 0.4]])
    out = recognite_compat.pml_metrics(
        scores, [1, 0, 1, 0], [1, 1, 9]
    )  # query 3's label is not in the gallery: left out
    # query 1: relevance 1,0 in the top R=2 → P@1 1, R-precision 1/2, MAP@R (1/1)/2
    # query 2: ranking 0,1,0,1 → P@1 0, R-precision 1/2, MAP@R (1/2)/2
    assert out == approx({"precision_at_1": 0.5, "r_precision": 0.5, "map_at_r": (0.5 + 0.25) / 2})
    assert recognite_compat.pml_metrics(scores, [1, 0, 1, 0], [7, 8, 9]) == {
        "precision_at_1": 0.0,
        "r_precision": 0.0,
        "map_at_r": 0.0,
    }


def test_pml_metrics_agree_with_reference_loop(random_set):
    query, q_labels, gallery, g_labels = random_set
    scores = scoring.score_matrix(query, gallery, "cosine")
    assert recognite_compat.pml_metrics(scores, g_labels, q_labels, chunk=13) == approx(
        _pml_reference(scores, g_labels, q_labels)
    )


# --------------------------------------------------------------------------- reference averaging


def test_average_references_matches_recognite_and_renormalises():
    gen = torch.Generator().manual_seed(3)
    emb = F.normalize(torch.randn(30, 8, generator=gen), dim=1)
    labels = torch.randint(0, 6, (30,), generator=gen)
    ref_emb, ref_labels = avg_ref_embs(emb, labels)
    plain, names = scoring.average_references(emb, labels, normalize=False)
    assert names == ref_labels.tolist()
    torch.testing.assert_close(plain, ref_emb)
    unit, _ = scoring.average_references(emb, labels, normalize=True)
    torch.testing.assert_close(unit.norm(dim=1), torch.ones(len(names)))
    torch.testing.assert_close(unit, F.normalize(ref_emb, dim=1))
    assert (ref_emb.norm(dim=1) < 0.999).any()  # recognite's averages are not unit length


def test_average_references_string_labels():
    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0]])
    out, names = scoring.average_references(emb, ["b", "b", "a"], normalize=False)
    assert names == ["a", "b"]
    torch.testing.assert_close(out, torch.tensor([[3.0, 4.0], [0.5, 0.5]]))
    out, _ = scoring.average_references(emb, ["b", "b", "a"])
    torch.testing.assert_close(out, torch.tensor([[0.6, 0.8], [2**-0.5, 2**-0.5]]))


# --------------------------------------------------------------------------- thresholds


def test_suggest_thresholds_hand_computed():
    pos = torch.tensor([0.9, 0.8, 0.7, math.nan], dtype=torch.float64)
    neg = torch.tensor([0.75, 0.3, 0.2, 0.1], dtype=torch.float64)
    out = thresholds.suggest_thresholds(pos, neg, far_targets=(0.25, 0.01, 1.0))
    assert out["positives"] == 3 and out["negatives"] == 4
    # ≥0.8: P 1, R 2/3, F1 0.8; ≥0.7: P 3/4, R 1, F1 6/7
    assert out["max_f1"] == approx({"threshold": 0.7, "f1": 6 / 7, "precision": 0.75, "recall": 1.0})
    far25, far1, far100 = out["far"]
    assert far25["far"] == 0.25 and far25["tar"] == 1.0 and 0.3 < far25["threshold"] < 0.3 + 1e-9
    assert far1["far"] == 0.0 and far1["tar"] == approx(2 / 3) and 0.75 < far1["threshold"] < 0.75 + 1e-9
    assert far100 == approx({"target": 1.0, "threshold": 0.1, "far": 1.0, "tar": 1.0})


def test_suggest_thresholds_degenerate():
    out = thresholds.suggest_thresholds(torch.tensor([]), torch.tensor([]))
    assert out["max_f1"] is None and all(e["threshold"] is None for e in out["far"])
    only_pos = thresholds.suggest_thresholds(torch.tensor([0.4, 0.6]), torch.tensor([]))
    assert only_pos["far"][0] == approx({"target": 0.01, "threshold": 0.4, "far": 0.0, "tar": 1.0})


# --------------------------------------------------------------------------- evaluate
