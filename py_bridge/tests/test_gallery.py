"""The gallery against exact scoring: search backends, verdicts, calibration, persistence, bad inputs."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch

from bridge.errors import BridgeValidationError
from evaluation.scoring import score_matrix
from gallery import persist
from gallery.gallery import Gallery

TOL = 1e-5  # float32 matrix products summed in different orders (FAISS vs torch) differ in the last bits


def assert_same_rows(got: torch.Tensor, want: torch.Tensor, scores: torch.Tensor, tol: float = TOL) -> None:
    """Rows equal, except where two references score within ``tol`` of each other.

    Two computations of the same scores (torch vs FAISS, float32 vs float64, one BLAS or CPU vs another) may
    round the last bits differently, which can swap near-tied neighbours; that is not a different answer.
    """
    differ = got.long() != want.long()
    for q, j in differ.nonzero().tolist():
        row_scores = scores[q]
        assert abs(float(row_scores[j]) - float(row_scores[min(j + 1, len(row_scores) - 1)])) <= tol or (
            j > 0 and abs(float(row_scores[j]) - float(row_scores[j - 1])) <= tol
        ), f"query {q}, rank {j}: row {int(got[q, j])} instead of {int(want[q, j])} without a near-tie"


def config(**changes: object) -> dict[str, object]:
    """A resolved GalleryConfig plus dim, as the handler builds it."""
    base: dict[str, object] = {
        "metric": "cosine",
        "backend": "exact",
        "index": "Flat",
        "nprobe": None,
        "efSearch": None,
        "averageReferences": False,
        "dim": 16,
    }
    return {**base, **changes}


def clusters(n_labels: int, per_label: int, dim: int = 16, seed: int = 0, spread: float = 0.2):
    """Embeddings around one random centre per label, and their labels."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(n_labels, dim, generator=gen)
    labels = torch.arange(n_labels).repeat_interleave(per_label)
    emb = centres[labels] + spread * torch.randn(len(labels), dim, generator=gen)
    return emb, [f"id{int(label)}" for label in labels], centres


@pytest.mark.parametrize("metric", ["cosine", "inner", "euclid", "sq_euclid"])
def test_exact_identify_matches_the_score_matrix(metric: str) -> None:
    emb, labels, centres = clusters(20, 5)
    g = Gallery(config(metric=metric), None)
    g.add(emb, labels)
    queries = centres + 0.3 * torch.randn(centres.shape, generator=torch.Generator().manual_seed(1))
    out = g.identify(queries, 5, None, "top1")
    scores = score_matrix(queries, emb, metric).float()
    want, rows = scores.topk(5, dim=1)
    assert_same_rows(out["rows"][:, :1], rows[:, :1], want)
    torch.testing.assert_close(out["scores"], want, atol=TOL, rtol=TOL)
    verdict_labels = [out["labels"][i] for i in out["verdict"].tolist()]
    assert verdict_labels == [labels[r] for r in out["rows"][:, 0].tolist()]  # the verdict is the best row's label


def test_threshold_makes_unknowns_and_knn_votes() -> None:
    emb, labels, centres = clusters(10, 4)
    g = Gallery(config(), None)
    g.add(emb, labels)
    strangers = torch.randn(5, 16, generator=torch.Generator().manual_seed(9))
    queries = torch.cat([centres, strangers])
    out = g.identify(queries, 4, 0.9, "knn")
    known = out["verdict"][:10].tolist()
    assert [out["labels"][i] for i in known] == [f"id{i}" for i in range(10)]
    assert out["verdict"][10:].tolist() == [-1] * 5  # random directions score far below 0.9
    assert bool((out["verdictScore"][10:] < 0.9).all())


def test_remove_and_averaged_references() -> None:
    emb, labels, centres = clusters(6, 3)
    g = Gallery(config(averageReferences=True), None)
    g.add(emb, labels)
    out = g.identify(centres, 2, None, "top1")
    assert out["rows"].tolist() == [[-1, -1]] * 6  # a label's mean is no gallery row
    assert [out["labels"][i] for i in out["verdict"].tolist()] == [f"id{i}" for i in range(6)]
    assert g.remove(["id0", "id1"]) == 6 and len(g.rows) == 12
    out = g.identify(centres[:1], 1, None, "top1")
    assert out["labels"][out["verdict"][0]] not in ("id0", "id1")


def test_faiss_flat_agrees_with_exact_and_ivf_needs_training() -> None:
    emb, labels, centres = clusters(50, 20, dim=32, spread=0.5)
    queries = centres + 0.4 * torch.randn(centres.shape, generator=torch.Generator().manual_seed(2))
    exact = Gallery(config(dim=32), None)
    flat = Gallery(config(dim=32, backend="faiss", index="Flat"), None)
    for g in (exact, flat):
        g.add(emb, labels)
    a, b = exact.identify(queries, 10, None, "top1"), flat.identify(queries, 10, None, "top1")
    assert_same_rows(b["rows"], a["rows"], a["scores"])
    torch.testing.assert_close(a["scores"], b["scores"], atol=TOL, rtol=TOL)

    ivf = Gallery(config(dim=32, backend="faiss", index="IVF16,Flat", nprobe=4), None)
    ivf.add(emb, labels)
    with pytest.raises(BridgeValidationError, match="not trained yet"):
        ivf.identify(queries, 10, None, "top1")
    assert ivf.train(None, 0) == 1000
    recall = ivf.measure_recall(200, 10, 0)
    assert 0.5 < recall["recall"] <= 1.0 and recall["k"] == 10
    ivf.remove(["id0"])  # rebuilt (at the next search) from the rows that stay, training kept
    ivf.refresh()
    assert ivf.search.index.ntotal == 980


def test_hnsw_recall_is_reported() -> None:
    emb, labels, _ = clusters(40, 10, dim=32)
    g = Gallery(config(dim=32, backend="faiss", index="HNSW16", efSearch=64), None)
    g.add(emb, labels)
    assert g.measure_recall(100, 5, 1)["recall"] >= 0.9


def test_calibrate_picks_the_far_threshold_and_reports_open_set_figures() -> None:
    emb, labels, centres = clusters(20, 5, seed=3)
    g = Gallery(config(), None)
    g.add(emb[:50], labels[:50])  # identities id0..id9 enrolled; id10..id19 are strangers
    gen = torch.Generator().manual_seed(4)
    validation = centres + 0.2 * torch.randn(centres.shape, generator=gen)
    names = [f"id{i}" for i in range(20)]
    report = g.calibrate(validation, names, 0.1, "far")
    assert g.threshold == report["threshold"]
    assert report["known"] == 10 and report["unknown"] == 10
    assert report["far"] <= 0.1
    assert report["identificationRate"] == 1.0 and report["tar"] == 1.0
    assert report["unknownRejection"] >= 0.8
    out = g.identify(validation, 1, g.threshold, "top1")
    rejected = (out["verdict"][10:] == -1).double().mean().item()
    assert math.isclose(rejected, report["unknownRejection"])
    strangers_only = Gallery(config(), None)
    strangers_only.add(emb[:5], labels[:5])
    with pytest.raises(BridgeValidationError, match="no query's identity is enrolled"):
        strangers_only.calibrate(validation[10:], names[10:], 0.1, "maxF1")


@pytest.mark.parametrize("backend,index", [("exact", "Flat"), ("faiss", "IVF8,Flat"), ("faiss", "HNSW16")])
def test_save_load_gives_identical_answers(tmp_path: Path, backend: str, index: str) -> None:
    emb, labels, centres = clusters(30, 10, dim=32)
    g = Gallery(config(dim=32, backend=backend, index=index, nprobe=2 if "IVF" in index else None), None)
    g.add(emb, labels)
    if index.startswith("IVF"):
        g.train(None, 0)
    g.threshold = 0.5
    before = g.identify(centres, 5, g.threshold, "top1")
    model = {"modelName": "resnet18", "embeddingDim": 32}
    g.model = model
    persist.save(g, str(tmp_path / "g"), "abc123")
    loaded = persist.load(str(tmp_path / "g"), {**model, "fingerprint": "abc123"})
    after = loaded.identify(centres, 5, loaded.threshold, "top1")
    for key in ("scores", "rows", "labelIndex", "verdict"):
        assert torch.equal(before[key], after[key]), key
    assert loaded.threshold == 0.5 and loaded.model == {**model, "fingerprint": "abc123"}


def test_load_refuses_other_models_and_damaged_or_foreign_folders(tmp_path: Path) -> None:
    emb, labels, _ = clusters(5, 2)
    g = Gallery(config(), {"modelName": "resnet18", "embeddingDim": 16})
    g.add(emb, labels)
    folder = tmp_path / "g"
    persist.save(g, str(folder), "aaaa")
    with pytest.raises(BridgeValidationError, match="built with resnet18, not resnet34"):
        persist.load(str(folder), {"modelName": "resnet34", "embeddingDim": 16, "fingerprint": "aaaa"})
    with pytest.raises(BridgeValidationError, match="other resnet18 weights"):
        persist.load(str(folder), {"modelName": "resnet18", "embeddingDim": 16, "fingerprint": "bbbb"})
    with pytest.raises(BridgeValidationError, match="16-dim embeddings, but this model makes 512"):
        persist.load(str(folder), {"modelName": "resnet18", "embeddingDim": 512, "fingerprint": "aaaa"})
    manifest = json.loads((folder / "gallery.json").read_text())
    npy = folder / manifest["data"] / "embeddings.npy"
    npy.write_bytes(npy.read_bytes()[:-4] + b"\0\0\0\1")
    with pytest.raises(BridgeValidationError, match="embeddings.npy is damaged"):
        persist.load(str(folder), None)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("hello")
    with pytest.raises(BridgeValidationError, match="gallery.json is missing"):
        persist.load(str(tmp_path / "other"), None)
    with pytest.raises(BridgeValidationError, match="holds no gallery"):
        persist.save(g, str(tmp_path / "other"), None)
    (folder / "gallery.json").write_text("{not json")
    with pytest.raises(BridgeValidationError, match="damaged: not valid JSON"):
        persist.load(str(folder), None)


def test_a_crash_mid_save_leaves_the_previous_gallery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emb, labels, _ = clusters(5, 2)
    g = Gallery(config(), None)
    g.add(emb, labels)
    folder = tmp_path / "g"
    persist.save(g, str(folder), None)
    g.add(emb, labels)

    def crash(*_: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash)  # dies just before the commit point
    with pytest.raises(OSError, match="power cut"):
        persist.save(g, str(folder), None)
    monkeypatch.undo()
    assert len(persist.load(str(folder), None).rows) == 10  # the previous gallery, intact
    persist.save(g, str(folder), None)  # the next save cleans the crashed one's leftovers
    assert len(persist.load(str(folder), None).rows) == 20
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2 and names[0].startswith("data-") and names[1] == "gallery.json", names


def test_bad_inputs_are_validation_errors() -> None:
    with pytest.raises(BridgeValidationError, match="could not parse index string"):
        Gallery(config(backend="faiss", index="IVF-nonsense"), None)
    with pytest.raises(BridgeValidationError, match="multiple of the number of subquantizers"):
        Gallery(config(backend="faiss", index="IVF4,PQ5"), None)
    with pytest.raises(BridgeValidationError, match="nprobe does not apply"):
        Gallery(config(backend="faiss", index="HNSW16", nprobe=4), None)
    g = Gallery(config(), None)
    with pytest.raises(BridgeValidationError, match="empty"):
        g.identify(torch.zeros(1, 16), 1, None, "top1")
    with pytest.raises(BridgeValidationError, match="do not fit this gallery of 16-dim"):
        g.add(torch.zeros(2, 8), ["a", "b"])
    with pytest.raises(BridgeValidationError, match="2 embeddings need 2 labels, got 1"):
        g.add(torch.zeros(2, 16), ["a"])
    with pytest.raises(BridgeValidationError, match="NaN"):
        g.add(torch.full((1, 16), math.nan), ["a"])
    ivf = Gallery(config(backend="faiss", index="IVF64,Flat"), None)
    ivf.add(torch.randn(10, 16), list(range(10)))
    with pytest.raises(BridgeValidationError, match="Number of training points"):
        ivf.train(None, 0)


def test_identify_with_rerank_and_query_expansion() -> None:
    from evaluation.rerank import reranked_scores

    emb, labels, centres = clusters(8, 4, seed=5, spread=0.5)
    queries = centres + 0.5 * torch.randn(centres.shape, generator=torch.Generator().manual_seed(6))
    g = Gallery(config(), None)
    g.add(emb, labels)
    params = {"k1": 20, "k2": 6, "lambda": 0.3}
    out = g.identify(queries, 5, None, "top1", rerank=params)
    want = reranked_scores(torch.nn.functional.normalize(queries, dim=1), g.rows.vectors, "cosine", 20, 6, 0.3, 1024)
    values, rows = want.topk(5, dim=1)
    assert torch.equal(out["rows"].long(), rows)
    torch.testing.assert_close(out["scores"], values)
    assert bool((out["scores"] <= 0).all())  # minus re-ranked distances

    expanded = g.identify(queries, 5, None, "top1", expansion={"k": 3})
    q = torch.nn.functional.normalize(queries, dim=1)
    near = g.identify(queries, 3, None, "top1")["rows"].long()
    by_hand = torch.nn.functional.normalize(q + g.rows.vectors[near].sum(dim=1), dim=1)
    by_hand_answer = g.identify(by_hand, 5, None, "top1")  # the same means, summed in another order
    assert_same_rows(expanded["rows"], by_hand_answer["rows"], by_hand_answer["scores"])

    flat = Gallery(config(backend="faiss"), None)
    flat.add(emb, labels)
    with pytest.raises(BridgeValidationError, match="use backend 'exact'"):
        flat.identify(queries, 5, None, "top1", rerank=params)
