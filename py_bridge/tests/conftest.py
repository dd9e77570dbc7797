"""Make the worker's modules importable by their bare names, as pythonia imports them."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pytest_configure(config):  # noqa: ANN001, ANN201, D103 - pytest's hook signature
    # torchvision 0.29's notice that its decoders are deprecated (data.py explains why they stay)
    config.addinivalue_line("filterwarnings", "ignore:The image decoding and encoding capabilities:DeprecationWarning")


@pytest.fixture(scope="session")
def random_set():
    """Queries and a gallery of 32-d embeddings with integer labels, some queries without positives."""
    gen = torch.Generator().manual_seed(0)
    query = torch.randn(300, 32, generator=gen)
    gallery = torch.randn(400, 32, generator=gen)
    # labels 50..59 occur only among the queries: queries without positives
    q_labels = torch.randint(0, 60, (300,), generator=gen)
    g_labels = torch.randint(0, 50, (400,), generator=gen)
    # make matches likelier than chance so accuracies are not all ~0
    gallery[:50] = query[:50] + 0.3 * torch.randn(50, 32, generator=gen)
    g_labels[:50] = q_labels[:50] % 50
    return query, q_labels, gallery, g_labels


def _fit_options(csv: str, **changes: object) -> dict[str, object]:
    """Resolved fit options, as TypeScript sends them, for a small CPU fit of ``csv``; ``changes`` override."""
    return {
        "train": {"csv": csv, "imageColumn": "image", "labelColumn": "label"},
        "validation": None,
        "epochs": 1,
        "batchSize": 4,
        "lr": 0.05,
        "momentum": 0.9,
        "weightDecay": 5e-4,
        "size": 32,
        "hflip": True,
        "logitScale": 16.0,
        "margin": 0.2,
        "seed": 0,
        "numWorkers": 0,
        "checkpointDir": None,
        "resumeFrom": None,
        "precision": "fp32",
        **changes,
    }


@pytest.fixture
def fit_options():  # noqa: ANN201 - a factory
    """``fit_options(csv, **changes)``: the resolved options of a small CPU fit (one place for every test)."""
    return _fit_options
