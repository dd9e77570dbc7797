"""The recognition model the worker trains and runs: recognite's ``Recognizer``, reimplemented.

Why this module exists: recognite-ts promises the semantics of the Python reference library
recognite (``recognite.model.Recognizer``) and checkpoints interchangeable with it, but recognite
is only a test-time dependency of the worker. This module rebuilds the same model from
torchvision alone: a torchvision classification model whose ultimate fully-connected layer
(see classifier_ops.py) is detached as ``classifier`` and replaced in the ``backbone`` by an
``nn.Identity``. Module names, and so state-dict keys, are exactly recognite's, including the
``_ult_clf`` alias of the classifier that recognite registers.

Semantics, as in recognite:

* training mode with a classifier: the L2-normalised embedding goes through the classifier,
  whose weight rows are renormalised to norm 1 before every forward; the result is logits;
* evaluation mode, or no classifier: the (L2-normalised) embedding is returned;
* ``normalize=False`` turns both normalisations off.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping

import torch
from torch import nn
from torchvision import models
from torchvision.models import WeightsEnum

from bridge.errors import BridgeValidationError
from model.catalog import SUPPORTED_MODELS
from model.classifier_ops import get_ultimate_classifier, split_backbone_classifier, update_classifier

# State-dict key prefixes of the auxiliary heads of GoogLeNet and Inception v3.
_AUX_PREFIXES: dict[str, tuple[str, ...]] = {"googlenet": ("aux1.", "aux2."), "inception_v3": ("AuxLogits.",)}

# Old-style DenseNet keys (``denselayer1.norm.1.weight``) used by torchvision's published files
# (torchvision's own pattern, plus ``num_batches_tracked`` for files saved by newer PyTorch).
_DENSENET_OLD_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$"
)


class Recognizer(nn.Module):
    """A recognition model: a torchvision backbone producing embeddings, plus an optional classifier.

    The classifier (one fully-connected layer, without bias by default) is only a training proxy:
    with normalisation on, its weight rows act as reference embeddings of the classes and its
    logits are cosine similarities. In evaluation mode the classifier is ignored and the
    embedding is returned, so that embeddings can be compared with a dot product.

    Attributes:
        backbone: The torchvision model with its ultimate classifier replaced by ``nn.Identity``.
        classifier: The new ``Linear(embedding_dim, num_classes)``, or ``None`` without ``num_classes``.
        normalize: Whether embeddings and classifier rows are L2-normalised.
        model_name: The torchvision model name.
        embedding_dim: Size of the embeddings (``in_features`` of the ultimate classifier).
    """

    classifier: nn.Linear | None

    def __init__(
        self,
        model_name: str,
        num_classes: int | None = None,
        weights: WeightsEnum | str | None = None,
        clf_bias: bool = False,
        normalize: bool = True,
        weights_path: str | os.PathLike[str] | None = None,
    ) -> None:
        """Build the model; arguments as ``recognite.model.Recognizer``'s, plus ``weights_path``.

        Args:
            model_name: One of ``SUPPORTED_MODELS``.
            num_classes: Output size of the classifier; ``None`` for no classifier, in which case
                the embedding is returned in training mode too.
            weights: Pretrained torchvision weights (an enum member or a name such as
                ``"ResNet18_Weights.IMAGENET1K_V1"`` or ``"DEFAULT"``); ``None`` for random
                initialisation. torchvision downloads them if they are not cached.
            clf_bias: Whether the classifier has a bias (off by default: a bias together with
                weight normalisation can worsen results).
            normalize: Whether to L2-normalise the embeddings and, in training mode, the
                classifier's weight rows.
            weights_path: A local file holding a torchvision-format state dict of the base model
                (with its 1000-class head), loaded before the classifier is replaced. The base
                model is built as torchvision builds it for pretrained weights. Exclusive with
                ``weights``.

        Raises:
            BridgeValidationError: For an unsupported model name, a bad ``num_classes``, both
                ``weights`` and ``weights_path``, or a ``weights_path`` file that does not fit.
        """
        super().__init__()
        if model_name not in SUPPORTED_MODELS:
            raise BridgeValidationError(
                f'Unsupported model "{model_name}"; supported: {", ".join(SUPPORTED_MODELS)}', path="model"
            )
        if num_classes is not None and (
            isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1
        ):
            raise BridgeValidationError(
                f"num_classes must be a positive integer, got {num_classes!r}", path="numClasses"
            )
        if weights is not None and weights_path is not None:
            raise BridgeValidationError("pass either weights or weights_path, not both", path="weightsPath")

        self.model_name = model_name
        self.normalize = normalize

        if weights_path is not None:
            model = build_from_state_dict_file(model_name, weights_path)
        else:
            model = models.get_model(model_name, weights=weights)
        self.embedding_dim = get_ultimate_classifier(model).in_features

        if num_classes is not None:
            update_classifier(model, num_classes, bias=clf_bias)
            self.backbone, self.classifier = split_backbone_classifier(model)
            # recognite registers this alias too, so its keys appear twice in the state dict.
            self._ult_clf = get_ultimate_classifier(self.classifier)
        else:
            self.backbone, _ = split_backbone_classifier(model)
            self.classifier = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits in training mode with a classifier, else the embeddings.

        Args:
            x: A batch of images, ``N x 3 x H x W``.

        Returns:
            ``N x num_classes`` logits, or ``N x embedding_dim`` embeddings (of norm 1 when
            ``normalize`` is on).
        """
        if self.training and self.normalize and self.classifier is not None:
            self._normalize_clf_layer()

        x = self.backbone(x)

        if hasattr(x, "logits"):
            # GoogLeNet and Inception v3 return (logits, aux logits...) in training mode.
            x = x.logits

        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()  # under autocast: normalise, and return embeddings, in float32

        if self.normalize:
            x = x / torch.norm(x, dim=1, keepdim=True)

        if self.training and self.classifier is not None:
            # cosine logits in float32 even under autocast: bf16 would round them to ~0.004 before logitScale
            with torch.autocast(x.device.type, enabled=False):
                x = self.classifier(x)

        return x

    def _normalize_clf_layer(self) -> None:
        """Rescale every weight row of the classifier to norm 1, in place (as recognite does)."""
        weight = self._ult_clf.weight
        weight.data = weight.data / torch.norm(weight.data, dim=1, keepdim=True)


def build_from_state_dict_file(model_name: str, weights_path: str | os.PathLike[str]) -> nn.Module:
    """Build a torchvision model and load a local torchvision-format state dict into it.

    The model is built as torchvision builds it for pretrained weights: GoogLeNet and Inception v3
    with ``transform_input=True`` (GoogLeNet's auxiliary heads dropped after loading, and either
    model's when the file lacks them), ViT with the image size the file's position embedding
    implies, and DenseNet files in torchvision's old key format accepted.

    Args:
        model_name: A torchvision model name.
        weights_path: The file, read with ``torch.load(..., weights_only=True)``.

    Returns:
        The model, with the 1000-class head (or whatever head the file holds).

    Raises:
        BridgeValidationError: When the file cannot be read, is not a state dict, or does not fit.
    """
    path = os.fspath(weights_path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise BridgeValidationError(f"weights file not found: {path}", path="weightsPath") from None
    except Exception as exc:
        raise BridgeValidationError(f"cannot read weights file {path}: {exc}", path="weightsPath") from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BridgeValidationError(
            f"{path} does not hold a state dict (a mapping of names to tensors)", path="weightsPath"
        )
    state = dict(state)

    kwargs: dict[str, object] = {}
    if model_name in _AUX_PREFIXES:
        kwargs = {"transform_input": True, "aux_logits": True, "init_weights": False}
    elif model_name.startswith("densenet"):
        for key in list(state):
            match = _DENSENET_OLD_KEY.match(key)
            if match:
                state[match.group(1) + match.group(2)] = state.pop(key)
    elif model_name.startswith("vit_") and "encoder.pos_embedding" in state:
        patches = state["encoder.pos_embedding"].shape[1] - 1
        grid = math.isqrt(patches)
        if grid * grid == patches:
            kwargs["image_size"] = grid * int(model_name.rsplit("_", 1)[1])

    model = models.get_model(model_name, weights=None, **kwargs)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise BridgeValidationError(f"{path} does not fit {model_name}: {exc}", path="weightsPath") from None

    aux = _AUX_PREFIXES.get(model_name, ())
    not_aux = [k for k in missing if not k.startswith(aux)] if aux else list(missing)
    if unexpected or not_aux:
        raise BridgeValidationError(
            f"{path} does not fit {model_name}: missing keys {not_aux[:5]}, unexpected keys {list(unexpected)[:5]}",
            path="weightsPath",
        )
    if aux and (missing or model_name == "googlenet"):
        _drop_aux_heads(model)
    return model


def _drop_aux_heads(model: nn.Module) -> None:
    """Remove the auxiliary heads of a GoogLeNet or Inception v3, as torchvision does.

    Args:
        model: The GoogLeNet or Inception3 instance, modified in place.
    """
    setattr(model, "aux_logits", False)  # noqa: B010 - an attribute of GoogLeNet and Inception3, not of Module
    for name in ("aux1", "aux2", "AuxLogits"):
        if hasattr(model, name):
            setattr(model, name, None)
