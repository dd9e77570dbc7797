"""Handler of ``report.thumbnails``: small JPEG thumbnails of image files, for the HTML report's retrieval grid.

The report is one self-contained file, so its images are data URIs: a ≤ 96 px JPEG is a few kB of
base64, few enough (a grid of 16 queries × 6 images) to travel in the JSON answer. Pixels are decoded
here, as everywhere (TypeScript never decodes images). A file that cannot be read gets ``None`` and
the reason, not a failed call: the report is still worth writing without one picture.
"""

from __future__ import annotations

import base64
import io
import os
from typing import Any

from PIL import Image

from bridge.errors import BridgeValidationError
from data.dataset import max_image_pixels, not_a_file

MAX_SIZE = 256
MAX_PATHS = 1000


def thumbnails(payload: dict[str, Any]) -> dict[str, Any]:
    """``{paths, size}`` → ``{thumbnails: [{data, error}]}``: base64 JPEG (longest side ≤ size) or why not."""
    paths, size = payload["paths"], int(payload["size"])
    if not 8 <= size <= MAX_SIZE:
        raise BridgeValidationError(f"size must be between 8 and {MAX_SIZE}, got {size}", path="size")
    if len(paths) > MAX_PATHS:
        raise BridgeValidationError(f"at most {MAX_PATHS} paths per call, got {len(paths)}", path="paths")
    out = []
    for path in paths:
        try:
            out.append({"data": thumbnail(str(path), size), "error": None})
        except (OSError, ValueError, BridgeValidationError) as exc:
            out.append({"data": None, "error": str(exc)})
    return {"thumbnails": out}


def thumbnail(path: str, size: int) -> str:
    """The image at ``path`` as a base64 JPEG whose longest side is at most ``size`` pixels.

    The header is read first: an image above the project's pixel limit ($RECOGNITE_MAX_IMAGE_PIXELS)
    is refused before any pixel is decoded, as data/dataset.py's ``load_image`` does.

    Raises:
        BridgeValidationError: the file is missing or too large.
        OSError: PIL cannot read it.
    """
    if not os.path.isfile(path):
        raise BridgeValidationError(f"{not_a_file(path)}: {path}", path="paths")
    with Image.open(path) as img:
        width, height = img.size
        limit = max_image_pixels()
        if width * height > limit:
            raise BridgeValidationError(
                f"{path} is {width} × {height} pixels, above the limit of {limit:,} (RECOGNITE_MAX_IMAGE_PIXELS)",
                path="paths",
            )
        img.draft("RGB", (size, size))  # JPEG: decode at a reduced scale straight away
        rgb = img.convert("RGB")
    rgb.thumbnail((size, size))
    buffer = io.BytesIO()
    rgb.save(buffer, format="JPEG", quality=80)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
