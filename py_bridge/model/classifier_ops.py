"""Find, replace and detach the final fully-connected layer of a torchvision classification model.

Why this module exists: the worker builds recognite-style recognition models (a backbone plus a
cosine classifier) without importing recognite at run time, since recognite is only a test-time
reference. These helpers follow the rules of ``recognite.model.classifier_ops`` exactly, so the
models built here have the same layout, and hence the same state-dict keys, as recognite's.

The rule: the *ultimate classifier* is the model's last child when that is an ``nn.Linear``
(ResNet's ``fc``), or the last child of the last child when
the last child is an ``nn.Sequential`` ending in an ``nn.Linear`` (AlexNet's ``classifier.6``,
ViT's ``heads.head``). Anything else is not supported.
"""

from __future__ import annotations

from torch import nn

from bridge.errors import BridgeValidationError


class ClassifierNotFoundError(BridgeValidationError):
    """The model does not end in an ``nn.Linear``, nor in an ``nn.Sequential`` ending in one."""

    def __init__(self, model: nn.Module) -> None:
        """Name the model class in the message; the option at fault is the model name."""
        super().__init__(
            f"cannot find a final fully-connected layer in the model ({type(model).__name__}): "
            "its last child must be a Linear, or a Sequential whose last child is a Linear. "
            "Please use a different model.",
            path="model",
        )


def get_path_to_ultimate_classifier(model: nn.Module) -> list[str]:
    """Return the attribute path from ``model`` to its ultimate fully-connected layer.

    Args:
        model: A classification model whose last child is the classifier: an ``nn.Linear``
            (like ResNet) or an ``nn.Sequential`` whose last child is an ``nn.Linear`` (like AlexNet).

    Returns:
        The attribute names leading from ``model`` to the layer, e.g. ``["fc"]`` or
        ``["classifier", "6"]``; empty when ``model`` itself is an ``nn.Linear``.

    Raises:
        ClassifierNotFoundError: When no such layer exists.
    """
    named_children = list(model.named_children())
    if not named_children:
        last, path = model, []
    else:
        last_name, last = named_children[-1]
        path = [last_name]

    if isinstance(last, nn.Linear):
        return path
    if isinstance(last, nn.Sequential):
        sub_children = list(last.named_children())
        if sub_children and isinstance(sub_children[-1][1], nn.Linear):
            return [*path, sub_children[-1][0]]
    raise ClassifierNotFoundError(model)


def get_module_at_path(model: nn.Module, path: list[str]) -> nn.Module:
    """Return the submodule reached from ``model`` by following the attribute names in ``path``.

    Args:
        model: The root module.
        path: Attribute names, outermost first; empty for ``model`` itself.

    Returns:
        The submodule at ``path``.
    """
    module = model
    for name in path:
        module = getattr(module, name)
    return module


def set_module_at_path(model: nn.Module, path: list[str], new_module: nn.Module) -> None:
    """Replace the submodule at ``path`` (which must not be empty) by ``new_module``, in place.

    Args:
        model: The root module.
        path: Attribute names, outermost first, of the submodule to replace.
        new_module: The module put in its place.

    Raises:
        ValueError: When ``path`` is empty: a module cannot replace itself.
    """
    if not path:
        raise ValueError("cannot replace the root module itself")
    parent = get_module_at_path(model, path[:-1])
    setattr(parent, path[-1], new_module)


def get_ultimate_classifier(model: nn.Module) -> nn.Linear:
    """Return the ultimate fully-connected layer of ``model`` (see the module docstring).

    Args:
        model: The classification model, or a bare ``nn.Linear`` (which is returned as is).

    Returns:
        The layer.

    Raises:
        ClassifierNotFoundError: When no such layer exists.
    """
    layer = get_module_at_path(model, get_path_to_ultimate_classifier(model))
    assert isinstance(layer, nn.Linear)
    return layer


def update_classifier(model: nn.Module, num_classes: int, bias: bool = False) -> nn.Module:
    """Replace, in place, the ultimate classifier by a fresh ``Linear(in_features, num_classes)``.

    Args:
        model: The classification model to update.
        num_classes: Output features of the new layer.
        bias: Whether the new layer has a bias.

    Returns:
        ``model`` itself, updated.

    Raises:
        ClassifierNotFoundError: When the model has no ultimate classifier, or is one itself.
    """
    path, old = _replaceable_classifier(model)
    set_module_at_path(model, path, nn.Linear(old.in_features, num_classes, bias=bias))
    return model


def split_backbone_classifier(model: nn.Module) -> tuple[nn.Module, nn.Linear]:
    """Detach the ultimate classifier: its slot in ``model`` becomes an ``nn.Identity``.

    Args:
        model: The classification model; modified in place and returned as the backbone.

    Returns:
        ``(backbone, classifier)``: the model, now producing embeddings, and the detached layer.

    Raises:
        ClassifierNotFoundError: When the model has no ultimate classifier, or is one itself.
    """
    path, classifier = _replaceable_classifier(model)
    set_module_at_path(model, path, nn.Identity())
    return model, classifier


def _replaceable_classifier(model: nn.Module) -> tuple[list[str], nn.Linear]:
    """The path and the layer of the ultimate classifier, which must sit inside ``model`` (not be it)."""
    path = get_path_to_ultimate_classifier(model)
    if not path:
        raise ClassifierNotFoundError(model)
    layer = get_module_at_path(model, path)
    assert isinstance(layer, nn.Linear)
    return path, layer


def classifier_path(model: nn.Module) -> str:
    """Return the dotted path of the ultimate classifier, e.g. ``"fc"``, ``"classifier.6"``, ``"heads.head"``.

    Args:
        model: The classification model.

    Returns:
        The dotted path, as it prefixes the layer's state-dict keys.

    Raises:
        ClassifierNotFoundError: When no such layer exists.
    """
    return ".".join(get_path_to_ultimate_classifier(model))
