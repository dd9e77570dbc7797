"""A short fingerprint of the weights that make a model's embeddings, stored with a gallery.

Only the backbone (and whether embeddings are normalised) decides the embeddings; the
classifier does not, so retraining only the classifier keeps the fingerprint.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from model.recognizer import Recognizer


def weights_fingerprint(model: Recognizer) -> str:
    """The first 16 hex digits of a SHA-256 over the backbone's state dict (names, dtypes, shapes, values)."""
    digest = hashlib.sha256(f"normalize={bool(model.normalize)}".encode())
    state = model.backbone.state_dict()
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: hash its bits
            tensor = tensor.view(torch.int16)
        digest.update(np.ascontiguousarray(tensor.numpy()).tobytes())
    return digest.hexdigest()[:16]
