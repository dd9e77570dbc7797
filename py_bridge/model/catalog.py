"""The model catalog that ``npm run catalog`` generates (``src/sdk/model/catalog.json``), read once.

The list of supported models is not written out here: the runtime reads it from the same
generated file TypeScript validates against, so the two sides cannot drift. The generator
(gen_catalog.py) takes the names from the reference package recognite, in its order.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

CATALOG_PATH = Path(__file__).resolve().parents[2] / "src" / "sdk" / "model" / "catalog.json"


@cache
def catalog() -> tuple[dict[str, Any], ...]:
    """Every catalog entry (``name``, ``embeddingDim``, input sizes, weight names…), in recognite's order."""
    entries = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "name" in e for e in entries):
        raise RuntimeError(f"{CATALOG_PATH} is not a list of model entries: rerun `npm run catalog`")
    return tuple(entries)


def supported_models() -> list[str]:
    """The supported model names, in recognite's order."""
    return [entry["name"] for entry in catalog()]


SUPPORTED_MODELS: list[str] = supported_models()
