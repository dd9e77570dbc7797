"""A deterministic synthetic recognition data set: procedurally drawn identities, many distorted views of each.

Why this module exists: examples, tests and benchmarks of recognite-ts need a recognition data set
(images in one folder per identity plus a CSV of ``image,label`` rows, the layout recognite's
``train_val_datasets`` reads) without downloading anything. This module draws one on the spot.

Each identity is a visual pattern drawn from its own random generator: a two-colour gradient
background, sometimes stripes, and a few coloured shapes (ellipses, rings, polygons, bars). Each
sample is a distorted view of its identity's pattern: rotated, scaled, sheared and shifted, then
colour-jittered, sometimes blurred, sprinkled with noise and partly hidden by a random patch. The
patterns differ in kind, not only in colour, so a network trained on some identities learns
embeddings that also separate identities it never saw, as a recognition model should.

Determinism: every generator derives from ``numpy.random.SeedSequence(seed)``: identity ``k`` gets
child ``k`` of the seed, and splits it into one generator for its pattern and one per sample. The
same arguments therefore give byte-identical files, and an identity's images do not depend on how
many identities or samples are asked for (50 identities are the first 50 of 100; 10 samples are
the first 10 of 20), only on ``seed``, ``size`` and the format.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from bridge.errors import BridgeValidationError, check_int

# File formats accepted, and the extension each writes.
FORMATS: dict[str, str] = {"png": "png", "jpg": "jpg", "jpeg": "jpg"}

# Side of the pattern canvas, and of the region a sample shows at scale 1, relative to ``size``: the canvas
# is larger than any view so that rotated and shifted views never reach its edge.
_CANVAS_FACTOR = 2.0
_VIEW_FACTOR = 1.2

# JPEG quality of the ``jpg`` format.
_JPEG_QUALITY = 92

# zlib level of the ``png`` format: noisy images barely compress, so the fastest level loses little room.
_PNG_COMPRESS_LEVEL = 1


def _random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    """Draw a colour, mixing fully random and saturated ones so that identities stay far apart.

    Args:
        rng: The generator to draw from.

    Returns:
        An RGB triple of ints in ``[0, 255]``.
    """
    colour = rng.integers(0, 256, size=3)
    if rng.random() < 0.5:
        # push one channel up and another down: a saturated colour
        high, low = rng.permutation(3)[:2]
        colour[high] = rng.integers(190, 256)
        colour[low] = rng.integers(0, 70)
    return int(colour[0]), int(colour[1]), int(colour[2])


def _regular_polygon(
    centre: tuple[float, float], radius: float, sides: int, angle: float, aspect: float
) -> list[tuple[float, float]]:
    """Corners of a rotated, stretched regular polygon.

    Args:
        centre: Its centre ``(x, y)``.
        radius: The distance of its corners from the centre, before stretching.
        sides: Its number of corners.
        angle: Its rotation in radians.
        aspect: The factor its second axis is stretched by.

    Returns:
        The corners as ``(x, y)`` pairs.
    """
    corners = []
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    for k in range(sides):
        phi = 2 * math.pi * k / sides
        x, y = radius * math.cos(phi), radius * aspect * math.sin(phi)
        corners.append((centre[0] + x * cos_a - y * sin_a, centre[1] + x * sin_a + y * cos_a))
    return corners


def draw_pattern(rng: np.random.Generator, size: int) -> Image.Image:
    """Draw one identity's pattern on a canvas larger than the views taken of it.

    Args:
        rng: The identity's pattern generator.
        size: The side of the images, in pixels; the canvas side is ``2 * size``.

    Returns:
        An RGB image whose centre region of side ``1.2 * size`` holds the shapes.
    """
    side = round(_CANVAS_FACTOR * size)
    view = _VIEW_FACTOR * size
    centre = side / 2

    # background: a linear gradient between two colours at a random angle
    grid = (np.arange(side, dtype=np.float32) - centre) / side
    phi = rng.uniform(0, 2 * np.pi)
    ramp = np.clip(0.5 + math.cos(phi) * grid[None, :] + math.sin(phi) * grid[:, None], 0, 1)[..., None]
    first, second = np.array(_random_colour(rng), np.float32), np.array(_random_colour(rng), np.float32)
    canvas = first * (1 - ramp) + second * ramp

    # sometimes stripes, blended over the gradient
    if rng.random() < 0.5:
        psi = rng.uniform(0, np.pi)
        period = rng.uniform(0.08, 0.3) * view
        phase = (math.cos(psi) * grid[None, :] + math.sin(psi) * grid[:, None]) * side / period
        stripes = ((phase - np.floor(phase)) < rng.uniform(0.3, 0.7))[..., None]
        alpha = rng.uniform(0.4, 0.9)
        stripe_colour = np.array(_random_colour(rng), np.float32)
        canvas = np.where(stripes, canvas * (1 - alpha) + stripe_colour * alpha, canvas)

    image = Image.fromarray(np.clip(canvas + 0.5, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 7))):
        kind = int(rng.integers(0, 4))
        x, y = centre + rng.uniform(-0.38, 0.38, size=2) * view
        radius = rng.uniform(0.08, 0.28) * view
        colour = _random_colour(rng)
        angle = rng.uniform(0, 2 * np.pi)
        aspect = rng.uniform(0.4, 1.0)
        if kind == 0:  # filled polygon with 3 to 6 corners
            draw.polygon(_regular_polygon((x, y), radius, int(rng.integers(3, 7)), angle, aspect), fill=colour)
        elif kind == 1:  # ellipse (an axis-aligned one; rotation of the view turns it)
            box = (x - radius, y - radius * aspect, x + radius, y + radius * aspect)
            draw.ellipse(box, fill=colour)
        elif kind == 2:  # ring
            width = max(1, round(radius * rng.uniform(0.15, 0.4)))
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), outline=colour, width=width)
        else:  # bar
            dx, dy = radius * math.cos(angle), radius * math.sin(angle)
            width = max(1, round(radius * rng.uniform(0.2, 0.5)))
            draw.line((x - dx, y - dy, x + dx, y + dy), fill=colour, width=width)
    return image


def draw_sample(pattern: Image.Image, rng: np.random.Generator, size: int) -> np.ndarray:
    """Take one distorted view of an identity's pattern.

    Args:
        pattern: The identity's pattern, as ``draw_pattern`` returns it.
        rng: The sample's generator.
        size: The side of the image, in pixels.

    Returns:
        The view as a ``size × size × 3`` uint8 array.
    """
    centre = pattern.width / 2
    view = _VIEW_FACTOR * size

    # pose: output pixel -> pattern pixel, rotate(theta) @ stretch(sx, sy) around a shifted centre
    theta = rng.uniform(-np.pi / 6, np.pi / 6)
    scale = rng.uniform(0.85, 1.2)
    stretch = rng.uniform(0.9, 1.1)
    shift_x, shift_y = rng.uniform(-0.08, 0.08, size=2) * view
    step = view / (scale * size)
    sx, sy = step * stretch, step / stretch
    a, b = sx * math.cos(theta), -sy * math.sin(theta)
    d, e = sx * math.sin(theta), sy * math.cos(theta)
    half = size / 2
    c = centre + shift_x - a * half - b * half
    f = centre + shift_y - d * half - e * half
    image = pattern.transform((size, size), Image.Transform.AFFINE, (a, b, c, d, e, f), Image.Resampling.BILINEAR)
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0) * size / 64))

    # colour: contrast, brightness and per-channel gain, then noise
    pixels = np.asarray(image, dtype=np.float32)
    mean = pixels.mean()
    contrast = rng.uniform(0.75, 1.25)
    brightness = rng.uniform(-25, 25)
    gain = rng.uniform(0.9, 1.1, size=3).astype(np.float32)
    pixels = ((pixels - mean) * contrast + mean + brightness) * gain
    pixels += rng.standard_normal(pixels.shape, dtype=np.float32) * rng.uniform(2, 8)

    # occlusion: a random patch of one colour
    if rng.random() < 0.6:
        height, width = (rng.uniform(0.15, 0.35, size=2) * size).astype(int) + 1
        top, left = int(rng.integers(0, size - height + 1)), int(rng.integers(0, size - width + 1))
        pixels[top : top + height, left : left + width] = rng.integers(0, 256, size=3)
    return np.clip(pixels + 0.5, 0, 255).astype(np.uint8)


def label_name(identity: int, identities: int) -> str:
    """The label of identity number ``identity``: ``id`` and at least four digits (``id0007``).

    Args:
        identity: The identity's number, from 0.
        identities: The number of identities, which sets the digit count beyond four.

    Returns:
        The label.
    """
    return f"id{identity:0{max(4, len(str(identities - 1)))}d}"


def generate(
    out_dir: str | os.PathLike[str],
    identities: int,
    samples_per_identity: int,
    size: int = 64,
    seed: int = 0,
    progress: Callable[[int, int], Any] | None = None,
    image_format: str = "png",
) -> dict[str, Any]:
    """Write a synthetic recognition data set: ``images/<label>/<n>.<ext>`` and ``dataset.csv``.

    Existing files of the same names are overwritten; other files in ``out_dir`` are left alone.

    Args:
        out_dir: The folder to write to; created if missing.
        identities: The number of identities (labels), at least 2.
        samples_per_identity: The number of images per identity, at least 1.
        size: The side of the square RGB images in pixels, between 8 and 1024.
        seed: The seed every random choice derives from; a non-negative integer.
        progress: Called as ``progress(done, total)`` with the number of images written so far,
            every 1% of the images or so and after the last one.
        image_format: ``"png"`` (lossless) or ``"jpg"``/``"jpeg"``.

    Returns:
        A summary: ``csvPath`` and ``imageDir`` (absolute paths), ``numImages``, ``identities``,
        ``samplesPerIdentity``, ``size``, ``format`` (the extension written) and ``seed``. The CSV
        has the columns ``image`` (the path relative to the CSV's folder, with ``/``) and ``label``,
        one row per image, by identity then sample.

    Raises:
        BridgeValidationError: For a bad ``identities``, ``samples_per_identity``, ``size``,
            ``seed`` or ``image_format``.
    """
    identities = check_int(identities, "identities", "identities", 2)
    samples_per_identity = check_int(samples_per_identity, "samples_per_identity", "samplesPerIdentity", 1)
    size = check_int(size, "size", "size", 8, 1024)
    seed = check_int(seed, "seed", "seed", 0)
    if not isinstance(image_format, str) or image_format.lower() not in FORMATS:
        raise BridgeValidationError(
            f"image_format must be one of {', '.join(FORMATS)}, got {image_format!r}", path="format"
        )
    ext = FORMATS[image_format.lower()]

    root = Path(out_dir).resolve()
    image_dir = root / "images"
    total = identities * samples_per_identity
    every = max(1, total // 100)
    rows: list[tuple[str, str]] = []
    done = 0

    for identity, identity_seq in enumerate(np.random.SeedSequence(seed).spawn(identities)):
        label = label_name(identity, identities)
        pattern_seq, samples_seq = identity_seq.spawn(2)
        pattern = draw_pattern(np.random.default_rng(pattern_seq), size)
        folder = image_dir / label
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BridgeValidationError(f"cannot create {folder}: {exc.strerror}", path="outDir") from None
        for sample, sample_seq in enumerate(samples_seq.spawn(samples_per_identity)):
            pixels = draw_sample(pattern, np.random.default_rng(sample_seq), size)
            name = f"{sample}.{ext}"
            image = Image.fromarray(pixels, "RGB")
            if ext == "png":
                image.save(folder / name, format="PNG", compress_level=_PNG_COMPRESS_LEVEL)
            else:
                image.save(folder / name, format="JPEG", quality=_JPEG_QUALITY)
            rows.append((f"images/{label}/{name}", label))
            done += 1
            if progress is not None and (done % every == 0 or done == total):
                progress(done, total)

    csv_path = root / "dataset.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("image", "label"))
        writer.writerows(rows)

    return {
        "csvPath": str(csv_path),
        "imageDir": str(image_dir),
        "numImages": total,
        "identities": identities,
        "samplesPerIdentity": samples_per_identity,
        "size": size,
        "format": ext,
        "seed": seed,
    }
