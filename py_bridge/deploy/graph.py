"""What is exported: the embedding path of a Recognizer, on the CPU, exactly as ``model.embed`` runs it.

The exported module wraps a CPU copy of the whole Recognizer in evaluation mode, where its
``forward`` returns the (L2-normalised, when ``normalize``) embedding and ignores the classifier.
So the graph's output is by construction what ``model.embed`` gives: the normalisation is in the
graph exactly once, and a caller must not apply it again.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from model.recognizer import Recognizer


class EmbeddingGraph(nn.Module):
    """The module handed to the exporter: images (N × 3 × S × S) in, embeddings (N × D) out."""

    def __init__(self, model: Recognizer) -> None:
        """Wrap ``model``, which must be in evaluation mode (see ``cpu_copy``)."""
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The evaluation-mode embeddings of ``images``, as ``Recognizer.forward`` computes them."""
        return self.model(images)


def cpu_copy(model: Recognizer) -> Recognizer:
    """A frozen copy of ``model``'s embedding path on the CPU, in evaluation mode, without its classifier.

    Each backbone parameter and buffer is copied straight to the CPU (through ``deepcopy``'s memo), so a
    model on a GPU is never duplicated in GPU memory, and the live model's mode and device do not change.
    The classifier, which evaluation mode ignores, is left out: its weights would only bloat the file.
    """
    memo: dict[int, object] = {}
    with torch.no_grad():
        for param in model.backbone.parameters():
            memo[id(param)] = nn.Parameter(param.detach().to("cpu", copy=True), requires_grad=False)
        for buffer in model.backbone.buffers():
            memo[id(buffer)] = buffer.detach().to("cpu", copy=True)
    for name in ("classifier", "_ult_clf"):
        head = model._modules.get(name)
        if head is not None:
            memo[id(head)] = None
    clone = copy.deepcopy(model, memo)
    return clone.eval()


def weight_bytes(model: Recognizer) -> int:
    """Bytes of the parameters and buffers of the embedding path (the backbone)."""
    tensors = [*model.backbone.parameters(), *model.backbone.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)
