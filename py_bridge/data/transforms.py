"""The image transforms: training (random crop, optional flip), evaluation (centre crop) and three-crop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torchvision.transforms import v2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def train_transform(size: int, hflip: bool) -> v2.Compose:
    """Resize the shortest side to ``size``, take a random ``size`` square, maybe flip, normalise."""
    steps: list[Any] = [v2.Resize(size, antialias=True), v2.RandomCrop(size)]
    if hflip:
        steps.append(v2.RandomHorizontalFlip())
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return v2.Compose(steps)


def eval_transform(size: int) -> v2.Compose:
    """Resize the shortest side to ``size``, take the centre square, normalise."""
    return v2.Compose(
        [
            v2.Resize(size, antialias=True),
            v2.CenterCrop(size),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )


def three_crop_transform(size: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """Three views of an image, as recognite's ``three_crop``.

    Resize the shortest side to ``size`` and normalise, then take the start, centre and end
    ``size`` squares along the longest side, stacked as 3 × C × size × size.
    """
    prepare = v2.Compose(
        [
            v2.Resize(size, antialias=True),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )

    def crops(img: torch.Tensor) -> torch.Tensor:
        img = prepare(img)
        _, h, w = img.shape
        side = min(h, w)
        start = img[:, :side, :side]
        top, left = (h - side) // 2, (w - side) // 2
        centre = img[:, top : top + side, left : left + side]
        end = img[:, h - side :, w - side :]
        return torch.stack([start, centre, end])

    return crops
