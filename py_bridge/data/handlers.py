"""Handlers of ``data.*`` calls: the synthetic data set generator and recognite's splits."""

from __future__ import annotations

import os
from typing import Any

from bridge import jobs
from bridge.errors import BridgeValidationError


def synthetic(payload: dict[str, Any]) -> dict[str, Any]:
    """Generate a synthetic data set as a job: ``{outDir, identities, samplesPerIdentity, size, seed, format}``."""
    from data.synthetic import generate

    out_dir = payload["outDir"]
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):  # refused now, not as an OSError mid-job
        raise BridgeValidationError(f"{out_dir} exists and is not a folder: choose a folder to write into", "outDir")

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        def progress(done: int, total: int) -> None:
            ctx.check_cancelled()
            ctx.report({"type": "progress", "done": done, "total": total})

        return generate(
            payload["outDir"],
            payload["identities"],
            payload["samplesPerIdentity"],
            size=payload["size"],
            seed=payload["seed"],
            progress=progress,
            image_format=payload["format"],
        )

    return {"job": jobs.start("synthetic", run).id}


def split(payload: dict[str, Any]) -> dict[str, Any]:
    """Split a CSV data set (recognite's semantics) and write one CSV per part into ``outDir``."""
    from data.split_files import split_to_csvs

    return split_to_csvs(payload)


def describe(payload: dict[str, Any]) -> dict[str, Any]:
    """Rows and distinct labels of a CSV data set (what a model trained on it needs as numClasses)."""
    from data.dataset import DatasetSpec, read_csv

    frame = read_csv(DatasetSpec.from_json(payload["dataset"]), "dataset")
    return {"rows": len(frame), "labels": int(frame["label"].nunique())}
