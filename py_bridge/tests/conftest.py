"""Make the worker's modules importable by their bare names, as pythonia imports them."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pytest_configure(config):  # noqa: ANN001, ANN201, D103 - pytest's hook signature
    # torchvision 0.29's notice that its decoders are deprecated (data.py explains why they stay)
    config.addinivalue_line("filterwarnings", "ignore:The image decoding and encoding capabilities:DeprecationWarning")
