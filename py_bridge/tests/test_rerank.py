"""k-reciprocal re-ranking against torchreid's numpy code, average query expansion, and mINP against fast-reid's."""

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from bridge.errors import BridgeValidationError
from bridge.jobs import JobContext
from evaluation import recognite_compat, rerank
from evaluation.per_query import stats_of_scores
from evaluation.report import evaluate
from evaluation.run import check_sizes, run
from evaluation.scoring import average_references, score_matrix

# float32 sums in another order (np.sum, np.mean, the Jaccard accumulation) move the last bits only;
# the rankings, reciprocal sets and expansions are equal exactly, so the distances agree to about 2e-7.
TOLERANCE = 1e-6


def torchreid_re_ranking(q_g_dist, q_q_dist, g_g_dist, k1=20, k2=6, lambda_value=0.3):
    """torchreid/utils/rerank.py's re_ranking, transcribed line for line (names as there)."""
    original_dist = np.concatenate(
        [np.concatenate([q_q_dist, q_g_dist], axis=1), np.concatenate([q_g_dist.T, g_g_dist], axis=1)], axis=0
    )
    original_dist = np.power(original_dist, 2).astype(np.float32)
    original_dist = np.transpose(1.0 * original_dist / np.max(original_dist, axis=0))
    V = np.zeros_like(original_dist).astype(np.float32)
    initial_rank = np.argsort(original_dist).astype(np.int32)
    query_num = q_g_dist.shape[0]
    gallery_num = q_g_dist.shape[0] + q_g_dist.shape[1]
    all_num = gallery_num
    for i in range(all_num):
        forward_k_neigh_index = initial_rank[i, : k1 + 1]
        backward_k_neigh_index = initial_rank[forward_k_neigh_index, : k1 + 1]
        fi = np.where(backward_k_neigh_index == i)[0]
        k_reciprocal_index = forward_k_neigh_index[fi]
        k_reciprocal_expansion_index = k_reciprocal_index
        for j in range(len(k_reciprocal_index)):
            candidate = k_reciprocal_index[j]
            candidate_forward_k_neigh_index = initial_rank[candidate, : int(np.around(k1 / 2.0)) + 1]
            candidate_backward_k_neigh_index = initial_rank[
                candidate_forward_k_neigh_index, : int(np.around(k1 / 2.0)) + 1
            ]
            fi_candidate = np.where(candidate_backward_k_neigh_index == candidate)[0]
            candidate_k_reciprocal_index = candidate_forward_k_neigh_index[fi_candidate]
            if len(np.intersect1d(candidate_k_reciprocal_index, k_reciprocal_index)) > 2.0 / 3 * len(
                candidate_k_reciprocal_index
            ):
                k_reciprocal_expansion_index = np.append(k_reciprocal_expansion_index, candidate_k_reciprocal_index)
        k_reciprocal_expansion_index = np.unique(k_reciprocal_expansion_index)
        weight = np.exp(-original_dist[i, k_reciprocal_expansion_index])
        V[i, k_reciprocal_expansion_index] = 1.0 * weight / np.sum(weight)
    original_dist = original_dist[:query_num,]
    if k2 != 1:
        V_qe = np.zeros_like(V, dtype=np.float32)
        for i in range(all_num):
            V_qe[i, :] = np.mean(V[initial_rank[i, :k2], :], axis=0)
        V = V_qe
    invIndex = [np.where(V[:, i] != 0)[0] for i in range(gallery_num)]
    jaccard_dist = np.zeros_like(original_dist, dtype=np.float32)
    for i in range(query_num):
        temp_min = np.zeros(shape=[1, gallery_num], dtype=np.float32)
        indNonZero = np.where(V[i, :] != 0)[0]
        indImages = [invIndex[ind] for ind in indNonZero]
        for j in range(len(indNonZero)):
            temp_min[0, indImages[j]] = temp_min[0, indImages[j]] + np.minimum(
                V[i, indNonZero[j]], V[indImages[j], indNonZero[j]]
            )
        jaccard_dist[i] = 1 - temp_min / (2.0 - temp_min)
    final_dist = jaccard_dist * (1 - lambda_value) + original_dist * lambda_value
    return final_dist[:query_num, query_num:]


def fast_reid_minp(distmat, q_pids, g_pids):
    """fast-reid's eval_market1501 (fastreid/evaluation/rank.py), its mINP part; no gallery item shares a camera."""
    indices = np.argsort(distmat, axis=1)
    matches = (g_pids[indices] == q_pids[:, np.newaxis]).astype(np.int32)
    all_INP = []
    for q_idx in range(distmat.shape[0]):
        raw_cmc = matches[q_idx]
        if not np.any(raw_cmc):
            continue
        cmc = raw_cmc.cumsum()
        pos_idx = np.where(raw_cmc == 1)
        max_pos_idx = np.max(pos_idx)
        inp = cmc[max_pos_idx] / (max_pos_idx + 1.0)
        all_INP.append(inp)
    return np.mean(all_INP)


def embeddings(nq, ng, dim=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(nq, dim, generator=g), torch.randn(ng, dim, generator=g)


@pytest.mark.parametrize(
    ("nq", "ng", "k1", "k2", "lam", "metric"),
    [
        (5, 7, 20, 6, 0.3, "euclid"),  # k1 + 1 beyond N: every slice is the whole row
        (30, 80, 20, 6, 0.3, "euclid"),
        (30, 80, 20, 6, 0.3, "cosine"),
        (50, 200, 7, 3, 0.5, "sq_euclid"),  # odd k1: round(3.5) = 4, numpy's half to even
        (40, 150, 5, 1, 0.0, "euclid"),  # k2 = 1 skips the local expansion; lambda 0: Jaccard alone
        (100, 400, 20, 6, 0.3, "cosine"),
    ],
)
def test_re_ranking_equals_torchreid(nq, ng, k1, k2, lam, metric):
    q, g = embeddings(nq, ng, seed=nq + ng)
    to_dist = (lambda s: 1 - s) if metric == "cosine" else (lambda s: -s)
    qg, qq, gg = (to_dist(score_matrix(a, b, metric)) for a, b in ((q, g), (q, q), (g, g)))
    ours = rerank.re_ranking(qg, qq, gg, k1, k2, lam)
    theirs = torchreid_re_ranking(qg.numpy(), qq.numpy(), gg.numpy(), k1, k2, lam)
    assert ours.dtype == torch.float32 and ours.shape == (nq, ng)
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=0, atol=TOLERANCE)
    # the scores evaluate uses are minus these distances (from the joint matrix, transposed: equal up to rounding)
    scores = rerank.reranked_scores(q, g, metric, k1, k2, lam, chunk=64)
    np.testing.assert_allclose(-scores.numpy(), theirs, rtol=0, atol=TOLERANCE)


def test_initial_rank_breaks_ties_towards_the_lower_index():
    gen = torch.Generator().manual_seed(3)
    dist = torch.randint(0, 4, (60, 60), generator=gen).float()  # many ties, also around the cut
    expected = torch.sort(dist, dim=1, stable=True).indices[:, :21]
    assert torch.equal(rerank._initial_rank(dist, 21), expected)
    assert torch.equal(rerank._initial_rank(dist[:15, :15], 15), torch.sort(dist[:15, :15], stable=True).indices)


def chains(seed, ids=40, per=8, dim=16, spread=1.5):
    """Each identity's gallery drifts away from its centre step by step: the far positives are reachable only
    through the near ones, which is what k-reciprocal neighbours find; the queries sit at the centres."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(ids, dim, generator=g)
    steps = spread * torch.randn(ids, per, dim, generator=g) / dim**0.5
    gallery = (centres[:, None, :] + steps.cumsum(dim=1)).reshape(-1, dim)
    query = centres + 0.3 * torch.randn(ids, dim, generator=g) / dim**0.5
    return query, torch.arange(ids), gallery, torch.arange(ids).repeat_interleave(per)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_re_ranking_and_query_expansion_improve_map_on_chains(seed):
    query, q_labels, gallery, g_labels = chains(seed)
    plain = evaluate(query, q_labels, gallery, g_labels, metric="euclid")
    reranked = evaluate(query, q_labels, gallery, g_labels, metric="euclid", rerank=(20, 6, 0.3))
    again = evaluate(query, q_labels, gallery, g_labels, metric="euclid", rerank=(20, 6, 0.3))
    expanded = evaluate(query, q_labels, gallery, g_labels, metric="euclid", expansion_k=3, normalize_refs=False)
    # measured: mAP 0.88, 0.89, 0.86 → 0.98, 0.98, 0.97 re-ranked, 0.96, 0.98, 0.96 expanded; mINP 0.5-0.6 → 0.96+
    assert reranked["mAP"] > plain["mAP"] + 0.05
    assert reranked["mINP"] > plain["mINP"] + 0.2
    assert expanded["mAP"] > plain["mAP"] + 0.05
    assert again == reranked  # deterministic
    assert (reranked["rerank"], reranked["query_expansion"]) == ({"k1": 20, "k2": 6, "lambda": 0.3}, None)
    assert (plain["rerank"], expanded["query_expansion"]) == (None, {"k": 3})


@pytest.mark.parametrize("average", [False, True])
def test_every_metric_is_of_the_re_ranked_scores(average):
    query, q_labels, gallery, g_labels = chains(0, ids=12, per=5)
    common = {"metric": "cosine", "k": 3, "chunk": 7, "average_refs": average, "rerank": (6, 3, 0.3)}
    report = evaluate(query, q_labels, gallery, g_labels, return_scores=True, return_top_k=True, **common)
    scores = report["scores"]
    columns = sorted(set(g_labels.tolist())) if average else g_labels
    assert scores.shape == (12, len(columns))
    refs = average_references(gallery, g_labels, True)[0] if average else gallery
    torch.testing.assert_close(scores, rerank.reranked_scores(query, refs, "cosine", 6, 3, 0.3, 64), rtol=0, atol=0)
    assert recognite_compat.accuracy(scores, columns, q_labels) == report["accuracy"]
    assert recognite_compat.pr_metrics(scores, columns, q_labels)["mAP"] == pytest.approx(report["mAP"], abs=1e-12)
    torch.testing.assert_close(report["top_k_scores"][:, 0], scores.max(dim=1).values, rtol=0, atol=0)


def test_size_limit_and_metric_inner_are_refused():
    rerank.check_rerank(10_000, 10_000, "cosine")  # at the limit: allowed
    with pytest.raises(BridgeValidationError, match=r"Nq \+ Ng = 20001 exceeds its limit of 20000") as err:
        rerank.check_rerank(10_000, 10_001, "euclid")
    assert err.value.path == "rerank" and "queryExpansion works at any size" in str(err.value)
    with pytest.raises(BridgeValidationError, match="metric 'inner' has none") as err:
        rerank.check_rerank(3, 3, "inner")
    assert err.value.path == "rerank"
    # evaluate refuses before scoring; run's check_sizes before embedding, counting references when averaged
    with pytest.raises(BridgeValidationError, match="exceeds its limit"):
        evaluate(torch.randn(20_000, 2), [0] * 20_000, torch.randn(1, 2), [0], rerank=(20, 6, 0.3))
    sides = {
        "query": {"embeddings": None, "labels": [0] * 19_000},
        "gallery": {"frame": {"label": [i % 10 for i in range(1001)]}},
    }
    options = {"rerank": {"k1": 20, "k2": 6, "lambda": 0.3}, "averageReferences": False, "metric": "cosine"}
    with pytest.raises(BridgeValidationError, match="Nq \\+ Ng = 20001"):
        check_sizes(sides, options)
    check_sizes(sides, {**options, "averageReferences": True})
    check_sizes(sides, {**options, "rerank": None})


def test_the_typescript_limit_is_the_same():
    config = Path(__file__).resolve().parents[2] / "src" / "sdk" / "evaluation" / "config.ts"
    found = re.search(r"MAX_RERANK_ITEMS = ([\d_]+);", config.read_text(encoding="utf-8"))
    assert found and int(found.group(1)) == rerank.MAX_RERANK_ITEMS


def test_query_expansion_is_the_renormalised_mean_of_the_query_and_its_k_best():
    q, g = embeddings(9, 30, seed=5)
    g[7] = g[3]  # a tie: the lower index wins
    expanded = rerank.expand_queries(q, g, "cosine", 4, chunk=4, normalize=True)
    best = torch.sort(score_matrix(q, g, "cosine"), dim=1, descending=True, stable=True).indices[:, :4]
    expected = F.normalize((q + g[best].sum(dim=1)) / 5, dim=1)
    torch.testing.assert_close(expanded, expected)
    plain = rerank.expand_queries(q, g, "euclid", 100, chunk=100, normalize=False)  # k beyond the gallery: all of it
    torch.testing.assert_close(plain, (q + g.sum(dim=0)) / 31)


def test_minp_matches_fast_reid_and_a_hand_computed_case():
    gen = torch.Generator().manual_seed(7)
    q, g = torch.randn(200, 8, generator=gen), torch.randn(300, 8, generator=gen)
    q_ids, g_ids = torch.randint(0, 40, (200,), generator=gen), torch.randint(0, 30, (300,), generator=gen)
    report = evaluate(q, q_ids, g, g_ids, metric="euclid", chunk=64, return_per_query=True)
    assert report["queries_without_positives"] > 0  # labels 30..39: skipped by both
    distmat = torch.cdist(q.double(), g.double()).numpy()
    assert report["mINP"] == pytest.approx(fast_reid_minp(distmat, q_ids.numpy(), g_ids.numpy()), abs=1e-12)
    inp = report["per_query"]["inp"]
    assert inp.shape == (200,) and torch.isnan(inp).sum() == report["queries_without_positives"]
    # positives at ranks 1 and 4 of 5: INP 2/4; a query without positives: NaN, and not in the mean
    scores = torch.tensor([[5.0, 4, 3, 2, 1], [5, 4, 3, 2, 1]])
    hand = stats_of_scores(scores, ["a", "b", "b", "a", "c"], ["a", "z"])[0]
    assert hand["inp"][0] == 0.5 and torch.isnan(hand["inp"][1])
    assert evaluate(torch.eye(2), ["x", "y"], torch.eye(2), ["a", "b"])["mINP"] is None


def test_run_sends_the_options_through_and_reports_them():
    query, q_labels, gallery, g_labels = chains(1, ids=10, per=4)
    sides = {
        "gallery": {"embeddings": gallery, "labels": g_labels.tolist()},
        "query": {"embeddings": query, "labels": q_labels.tolist()},
    }
    options = {"metric": "euclid", "k": 3, "averageReferences": False, "topMatches": False, "perQuery": True}
    options |= {"returnScores": False, "curves": False, "returnEmbeddings": True, "chunkSize": None}
    options |= {"tta": "none", "size": 32, "batchSize": 8, "numWorkers": 0, "precision": "fp32"}
    options |= {"rerank": {"k1": 6, "k2": 2, "lambda": 0.5}, "queryExpansion": {"k": 2}}
    report = run(SimpleNamespace(normalize=False), torch.device("cpu"), sides, options, JobContext())
    assert report["rerank"] == {"k1": 6, "k2": 2, "lambda": 0.5} and report["queryExpansion"] == {"k": 2}
    assert 0 < report["mINP"] <= 1 and report["perQuery"]["inp"].dtype == torch.float32
    assert torch.equal(report["embeddings"]["query"], query)  # the model's embeddings, not the expanded ones
    direct = evaluate(
        query, q_labels, gallery, g_labels, "euclid", 3, normalize_refs=False, rerank=(6, 2, 0.5), expansion_k=2
    )
    assert report["mAP"] == direct["mAP"] and report["mINP"] == direct["mINP"]
