"""The image transforms: training (random crop, optional flip), evaluation (centre crop) and three-crop.

Each is a module-level class or a torchvision ``Compose`` of them, never a closure: loader worker
processes come from a forkserver (data/workers.py) and receive the transform pickled. The training
transform draws its crop and flip from a ``torch.Generator`` it is given (the loader seeds one per
row), so no job draws from the process-wide generator that other jobs share.
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _normalise() -> list[v2.Transform]:
    """uint8 → float in [0, 1] → ImageNet normalisation."""
    return [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]


class TrainTransform:
    """Resize the shortest side to ``size``, take a random ``size`` square, maybe flip, normalise.

    The same draws as torchvision's ``RandomCrop`` and ``RandomHorizontalFlip`` (top, left, then
    the flip), from ``generator`` when one is given, else from torch's global generator.
    """

    def __init__(self, size: int, hflip: bool) -> None:
        """``hflip``: flip horizontally with probability 0.5."""
        self.size, self.hflip = size, hflip
        self.resize = v2.Resize(size, antialias=True)
        self.finish = v2.Compose(_normalise())

    def __call__(self, img: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The augmented, normalised ``3 × size × size`` view of a ``3 × H × W`` uint8 image."""
        img = self.resize(img)
        _, h, w = img.shape
        top = int(torch.randint(0, h - self.size + 1, (), generator=generator)) if h > self.size else 0
        left = int(torch.randint(0, w - self.size + 1, (), generator=generator)) if w > self.size else 0
        img = img[:, top : top + self.size, left : left + self.size]
        if self.hflip and float(torch.rand(1, generator=generator)) < 0.5:
            img = img.flip(-1)
        return self.finish(img)


def train_transform(size: int, hflip: bool) -> TrainTransform:
    """The training transform (see ``TrainTransform``)."""
    return TrainTransform(size, hflip)


def eval_transform(size: int) -> v2.Compose:
    """Resize the shortest side to ``size``, take the centre square, normalise."""
    return v2.Compose([v2.Resize(size, antialias=True), v2.CenterCrop(size), *_normalise()])


class ThreeCrop:
    """Three views of an image, as recognite's ``three_crop``.

    Resize the shortest side to ``size`` and normalise, then take the start, centre and end
    ``size`` squares along the longest side, stacked as 3 × C × size × size.
    """

    def __init__(self, size: int) -> None:
        """The views are ``size`` squares."""
        self.prepare = v2.Compose([v2.Resize(size, antialias=True), *_normalise()])

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        """The three normalised crops of a ``3 × H × W`` uint8 image."""
        img = self.prepare(img)
        _, h, w = img.shape
        side = min(h, w)
        start = img[:, :side, :side]
        top, left = (h - side) // 2, (w - side) // 2
        centre = img[:, top : top + side, left : left + side]
        end = img[:, h - side :, w - side :]
        return torch.stack([start, centre, end])


def three_crop_transform(size: int) -> ThreeCrop:
    """The three-crop transform (see ``ThreeCrop``)."""
    return ThreeCrop(size)
