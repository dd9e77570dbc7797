"""Split a CSV data set into parts written as CSVs: what ``rt.data`` split functions run.

The splitting itself is splits.py (recognite's semantics); this module reads and checks
the CSV, applies the split asked for, and writes each part as a CSV of absolute image
paths and labels, so each part is a data set of its own for ``fit``, ``embed`` and
evaluation.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from bridge.errors import BridgeValidationError
from data.dataset import DatasetSpec, read_csv
from data.splits import k_fold_trainval_split, split_gallery_query


def _write(frame: pd.DataFrame, out_dir: str, name: str) -> dict[str, Any]:
    path = os.path.join(out_dir, f"{name}.csv")
    frame[["image", "label"]].to_csv(path, index=False)
    return {"csv": path, "rows": len(frame), "labels": int(frame["label"].nunique())}


def split_to_csvs(payload: dict[str, Any]) -> dict[str, Any]:
    """Run the split ``payload['kind']`` ('kFold', 'galleryQuery' or 'trainVal') and write its parts.

    ``payload`` is resolved: ``{kind, dataset, outDir, numFolds, valFold, numRefs, seed, refSeed}``,
    every key present (the ones a kind does not use are ignored).
    """
    frame = read_csv(DatasetSpec.from_json(payload["dataset"]), "dataset")
    out_dir = payload["outDir"]
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise BridgeValidationError(f"cannot create {out_dir}: {exc}", path="outDir") from None
    seed, ref_seed = payload["seed"], payload["refSeed"]
    kind = payload["kind"]
    warnings: list[str] = []
    if kind == "kFold":
        train, val = k_fold_trainval_split(frame, payload["numFolds"], payload["valFold"], seed)
        parts = {"train": train, "val": val}
    elif kind == "galleryQuery":
        gallery, query, warnings = split_gallery_query(frame, payload["numRefs"], seed)
        parts = {"gallery": gallery, "query": query}
    elif kind == "trainVal":
        train, val = k_fold_trainval_split(frame, payload["numFolds"], payload["valFold"], seed)
        gallery, query, warnings = split_gallery_query(val, payload["numRefs"], ref_seed)
        parts = {"train": train, "gallery": gallery, "query": query}
    else:
        raise BridgeValidationError(f"unknown split kind {kind!r}", path="kind")
    return {"parts": {name: _write(part, out_dir, name) for name, part in parts.items()}, "warnings": warnings}
