"""The hot paths under fake CUDA tensors: no GPU here, but a CPU tensor mixed into CUDA work still fails.

torch's ``FakeTensorMode`` gives tensors a device and a shape but no data, and refuses an operation
whose inputs lie on different devices, as CUDA would. A model built under ``torch.device("cuda")``
runs its forward this way on a machine without a GPU (backward needs a real CUDA context, and
``module.to()`` cannot swap fake parameters, so training steps and layout changes are left to
``bench/gpu/run.py`` on a GPU). What runs here: embedding with every TTA, training-mode logits, the
loss, and the scoring of a block of queries.
"""

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from evaluation import per_query
from evaluation.per_query import chunk_stats
from evaluation.scoring import score_chunks
from model.embedding import embed_batch
from model.recognizer import Recognizer
from training.loss import cosface_loss

CUDA = torch.device("cuda", 0)


@pytest.fixture(scope="module")
def fake():
    mode = FakeTensorMode()
    with mode, torch.device(CUDA):
        model = Recognizer("resnet18", num_classes=5)
    return mode, model


def test_fake_mode_refuses_a_cpu_tensor_in_cuda_work(fake):
    mode, _ = fake
    with mode, pytest.raises(Exception, match="device"):
        torch.rand(3, 4, device=CUDA) @ torch.rand(4, 2)


@pytest.mark.parametrize("tta", ["none", "flip", "threeCrop", "threeCropFlip"])
def test_embedding_stays_on_the_device(fake, tta):
    mode, model = fake
    with mode:
        model.eval()
        x = torch.rand(4, 3, 3, 32, 32, device=CUDA) if tta.startswith("threeCrop") else torch.rand(4, 3, 32, 32)
        emb = embed_batch(model, x.to(CUDA), tta)
    assert (emb.device, emb.shape, emb.dtype) == (CUDA, (4, 512), torch.float32)


def test_training_logits_and_loss_stay_on_the_device(fake):
    mode, model = fake
    with mode:
        model.train()
        logits = model(torch.rand(4, 3, 32, 32, device=CUDA))
        loss = cosface_loss(logits, torch.tensor([0, 1, 2, 3], device=CUDA), scale=16.0, margin=0.2)
    assert (logits.device, logits.shape, logits.dtype) == (CUDA, (4, 5), torch.float32)
    assert loss.device == CUDA and loss.shape == ()


@pytest.mark.parametrize("metric", ["cosine", "inner", "euclid", "sq_euclid"])
def test_scoring_a_block_of_queries_on_the_device(fake, metric, monkeypatch):
    mode, _ = fake
    # fake tensors hold no data to look for ties in: the general path (the untied one adds a few small
    # tensors, each made on its input's device, and needs data to size them)
    monkeypatch.setattr(per_query, "untied", lambda distinct: False)
    with mode:
        query, gallery = torch.rand(6, 8, device=CUDA), torch.rand(10, 8, device=CUDA)
        q_ids, g_ids = torch.randint(0, 3, (6,), device=CUDA), torch.randint(0, 3, (10,), device=CUDA)
        for start, scores in score_chunks(query, gallery, metric, chunk=4):
            assert scores.device == CUDA
            stats = chunk_stats(scores, q_ids[start : start + scores.shape[0]], g_ids, k=5)
    assert stats["ap"].shape == (2,) and stats["top_idx"].shape == (2, 5)
