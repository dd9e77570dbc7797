"""The committed model catalog must match the installed torchvision (rerun `npm run catalog` if not).

Every entry is checked: names and order, pretrained weight names and default input size (from
torchvision's registry), and embedding size, classifier path and parameter count (from the model
built on the meta device, or on the CPU where a builder needs real tensors). Input sizes are checked
by the TypeScript all-models test, which forwards every model at its catalog minimum.
"""

import gc
import json
from pathlib import Path

import pytest
import torch
from torchvision import models

from model.catalog import SUPPORTED_MODELS
from model.classifier_ops import classifier_path, get_ultimate_classifier
from model.gen_catalog import default_input_size, reference_models, weight_names

CATALOG = json.loads((Path(__file__).resolve().parents[2] / "src/sdk/model/catalog.json").read_text())
BY_NAME = {entry["name"]: entry for entry in CATALOG}

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def test_names_and_order_are_recognites():
    # the generator takes its names from recognite; the runtime's list is the catalog's
    assert [entry["name"] for entry in CATALOG] == reference_models() == SUPPORTED_MODELS


def build_cheaply(name: str) -> torch.nn.Module:
    try:
        with torch.device("meta"):
            return models.get_model(name, weights=None)
    except Exception:  # RegNet's builder computes widths with real tensors
        return models.get_model(name, weights=None)


@pytest.mark.parametrize("name", SUPPORTED_MODELS)
def test_entry_matches_torchvision(name):
    entry = BY_NAME[name]
    assert entry["weights"] == weight_names(name)
    assert entry["defaultInputSize"] == default_input_size(name)
    model = build_cheaply(name)
    assert entry["classifierPath"] == classifier_path(model)
    assert entry["embeddingDim"] == get_ultimate_classifier(model).in_features
    assert entry["parameters"] == sum(p.numel() for p in model.parameters())
    del model
    gc.collect()
