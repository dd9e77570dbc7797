"""Write the model catalog that both sides read: ``src/sdk/model/catalog.json``.

Why this script exists: TypeScript validates model options (names, input sizes, weight names)
and reports model facts without starting Python, so those facts are measured here once, with the
real torchvision, and committed as JSON. Rerun it after a torchvision upgrade:

    python py_bridge/model/gen_catalog.py [OUTPUT_PATH]        (npm run catalog)

The model names come from the reference package recognite (``recognite.model.SUPPORTED_MODELS``,
pinned in requirements.txt), in its order: the runtime (catalog.py) and TypeScript take their list
from the file written here, never from a hand-written one. For every model, the entry holds (keys sorted):

* ``name``; ``classifierPath``, the dotted path of the ultimate classifier (``fc``,
  ``classifier.6``, ``heads.head``); ``embeddingDim``, its ``in_features``;
* ``parameters``: the parameter count of the base model (1000-class head), built with
  ``weights=None`` (so GoogLeNet and Inception v3 include their auxiliary heads);
* ``minInputSize``: the smallest square size at which a batch of 2 goes through the base model
  (``weights=None``) in both training and evaluation mode, found by bisection (checked);
  ``maxInputSize``: the largest size that works when the sizes that work are bounded above
  (ViT: 224; MaxViT-T, built for 224: 221 to 224 work, nothing above), else null;
  ``fixedInputSize``: true when the minimum is the only size that works (ViT);
* ``defaultInputSize``: the ``crop_size`` of the DEFAULT weights' transforms (224 when absent);
* ``weights``: the pretrained weight names (``ResNet18_Weights.IMAGENET1K_V1``…) plus ``DEFAULT``.

Sizes are tried on the CPU with real tensors (random weights, no gradients): forwards at the
small sizes searched are cheap, cheaper than on the meta device, whose Python overhead dominates.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import the worker's packages from py_bridge/, not model/
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import torch  # noqa: E402 - after the path fix above
from torch import nn  # noqa: E402
from torchvision import models  # noqa: E402

from model.catalog import CATALOG_PATH  # noqa: E402
from model.classifier_ops import classifier_path, get_ultimate_classifier  # noqa: E402

DEFAULT_OUTPUT = CATALOG_PATH
BATCH = 2
# Sizes above the minimum tried to tell a bounded input size from a free one.
ABOVE_MIN = (1, 2, 7, 32)
# Multiples of the largest size of a bounded run tried to check that nothing larger works.
LARGER_FACTORS = (1.5, 2, 3, 4)
# Sizes tried (with powers of two up to SMALL_LIMIT and the default size) before bisecting.
SMALL_LIMIT = 128
COMMON_SIZES = (224, 256, 299, 384, 512, 1024)


def forward_ok(model: nn.Module, size: int) -> bool:
    """Tell whether a batch of ``BATCH`` images of ``size x size`` passes in both modes.

    Args:
        model: The model, on the CPU; left in evaluation mode.
        size: Height and width of the input.

    Returns:
        True when the forward succeeds in training mode and in evaluation mode.
    """
    x = torch.zeros(BATCH, 3, size, size)
    try:
        with torch.no_grad():
            for training in (True, False):
                model.train(training)
                model(x)
    except Exception:  # too small: shape errors, torch._assert, BatchNorm's one-value check…
        return False
    finally:
        model.eval()
    return True


def default_input_size(name: str) -> int:
    """Return the input (crop) size of the DEFAULT weights' transforms, or 224.

    Args:
        name: The torchvision model name.

    Returns:
        The size in pixels.
    """
    try:
        transforms = models.get_model_weights(name).DEFAULT.transforms
    except (ValueError, AttributeError):
        return 224
    keywords = getattr(transforms, "keywords", {})
    size = keywords.get("crop_size", keywords.get("resize_size", 224))
    return int(size[0] if isinstance(size, (list, tuple)) else size)


def weight_names(name: str) -> list[str]:
    """Return the names of the pretrained weights of a model, plus ``DEFAULT``.

    Args:
        name: The torchvision model name.

    Returns:
        ``["ResNet18_Weights.IMAGENET1K_V1", ..., "DEFAULT"]``.
    """
    return [str(w) for w in models.get_model_weights(name)] + ["DEFAULT"]


def find_min_size(model: nn.Module, default: int) -> int:
    """Return the smallest size at which ``forward_ok`` holds.

    Powers of two are tried from 1 up to ``SMALL_LIMIT``, then the default input size and common
    sizes, until one works; the minimum is then bisected between it and the last size that failed.
    Bisection assumes that the sizes that work there form one interval. That is checked: the 8
    sizes below the result, and every 16th size from 1, must fail; when one works instead, every
    size from 1 up is tried.

    Args:
        model: The model.
        default: The default input size of the model.

    Returns:
        The size.

    Raises:
        RuntimeError: When none of the sizes tried works.
    """
    bad, good = 0, 0
    for size in sorted({*(2**k for k in range(SMALL_LIMIT.bit_length())), default, *COMMON_SIZES}):
        if forward_ok(model, size):
            good = size
            break
        bad = size
    if not good:
        raise RuntimeError(f"no input size up to {bad} works")
    while good - bad > 1:
        mid = (bad + good) // 2
        if forward_ok(model, mid):
            good = mid
        else:
            bad = mid
    below = sorted(set(range(max(1, good - 8), good)) | set(range(1, good, 16)))
    if any(forward_ok(model, size) for size in below):
        print(f"  sizes below {good} work too: trying every size from 1", file=sys.stderr)
        good = next(size for size in range(1, good) if forward_ok(model, size))
    return good


def find_max_size(model: nn.Module, min_size: int) -> int | None:
    """Return the largest size that works when the working sizes are bounded above, else None.

    When every size of ``ABOVE_MIN`` past the minimum works, the sizes are taken as unbounded.
    Otherwise the run of working sizes from the minimum up is followed to its end, and sizes
    right after it and a few multiples of it must fail too; when one works instead, the sizes
    have gaps but no bound, and None is returned (with a notice).

    Args:
        model: The model.
        min_size: The smallest size that works.

    Returns:
        The largest size, or None.
    """
    if all(forward_ok(model, min_size + step) for step in ABOVE_MIN):
        return None
    top = min_size
    while forward_ok(model, top + 1):
        top += 1
    larger = sorted({top + step for step in ABOVE_MIN} | {int(top * factor) for factor in LARGER_FACTORS})
    if any(forward_ok(model, size) for size in larger):
        print(f"  sizes {min_size}..{top} work, then not, then some larger ones again", file=sys.stderr)
        return None
    return top


def describe(name: str) -> dict[str, Any]:
    """Measure one model, built with random weights on the CPU.

    Args:
        name: The torchvision model name.

    Returns:
        The catalog entry, keys sorted.
    """
    model = models.get_model(name, weights=None)
    default = default_input_size(name)
    min_size = find_min_size(model, default)
    max_size = find_max_size(model, min_size)
    entry: dict[str, Any] = {
        "name": name,
        "classifierPath": classifier_path(model),
        "embeddingDim": get_ultimate_classifier(model).in_features,
        "parameters": sum(p.numel() for p in model.parameters()),
        "defaultInputSize": default,
        "weights": weight_names(name),
        "minInputSize": min_size,
        "maxInputSize": max_size,
        "fixedInputSize": max_size == min_size,
    }
    del model
    gc.collect()
    return dict(sorted(entry.items()))


def reference_models() -> list[str]:
    """The model names of the reference package recognite, in its order (the catalog's source of truth)."""
    from recognite.model import SUPPORTED_MODELS

    return list(SUPPORTED_MODELS)


def main(argv: list[str]) -> int:
    """Write the catalog to ``argv[1]`` (default ``src/sdk/model/catalog.json``).

    Args:
        argv: ``sys.argv``.

    Returns:
        The exit status.
    """
    output = Path(argv[1] if len(argv) > 1 else DEFAULT_OUTPUT)
    torch.manual_seed(0)
    # The forwards are small: one thread is barely slower, and immune to the collapse that
    # OpenMP's busy-waiting threads suffer when other processes load the CPUs.
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)  # GoogLeNet's notice about its init
    started = time.monotonic()
    entries = []
    for name in reference_models():
        t0 = time.monotonic()
        entry = describe(name)
        entries.append(entry)
        print(
            f"{name}: min {entry['minInputSize']}, max {entry['maxInputSize']}"
            f"{' (fixed)' if entry['fixedInputSize'] else ''}, "
            f"default {entry['defaultInputSize']}, dim {entry['embeddingDim']}, "
            f"{entry['parameters']:,} parameters [{time.monotonic() - t0:.1f}s]",
            file=sys.stderr,
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(entries, indent=2) + "\n")
    print(f"wrote {output} ({len(entries)} models) in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
