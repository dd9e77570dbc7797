"""The worker's Recognizer against recognite's semantics, and against recognite itself."""

import json
from pathlib import Path

import pytest
import torch
from torch import nn
from torchvision import models

from bridge.errors import BridgeValidationError
from model.catalog import SUPPORTED_MODELS
from model.classifier_ops import (
    ClassifierNotFoundError,
    classifier_path,
    get_path_to_ultimate_classifier,
    split_backbone_classifier,
    update_classifier,
)
from model.recognizer import Recognizer

pytestmark = pytest.mark.filterwarnings("ignore:The default weight initialization:FutureWarning")

REPO = Path(__file__).resolve().parents[2]
SIZE = 64  # small inputs keep the forwards fast


def images(n: int = 2, size: int = SIZE) -> torch.Tensor:
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(n + size))


def row_norms(linear: nn.Linear) -> torch.Tensor:
    return linear.weight.detach().norm(dim=1)


def test_supported_models_are_recognites():
    from recognite.model import SUPPORTED_MODELS as RECOGNITE_MODELS

    assert SUPPORTED_MODELS == RECOGNITE_MODELS
    assert len(SUPPORTED_MODELS) == 78
    assert not any(name.startswith("squeezenet") for name in SUPPORTED_MODELS)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_eval_embeddings_have_norm_one(name):
    rec = Recognizer(name, num_classes=5).eval()
    with torch.no_grad():
        out = rec(images())
    assert out.shape == (2, rec.embedding_dim)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(2))


def test_training_forward_gives_logits_and_renormalises_classifier_rows():
    rec = Recognizer("resnet18", num_classes=7).train()
    with torch.no_grad():
        rec.classifier.weight.mul_(torch.linspace(0.1, 5.0, 7).unsqueeze(1))
    assert not torch.allclose(row_norms(rec.classifier), torch.ones(7))
    logits = rec(images(3))
    assert logits.shape == (3, 7)
    torch.testing.assert_close(row_norms(rec.classifier), torch.ones(7))
    assert rec._ult_clf is rec.classifier
    # logits are cosine similarities
    assert logits.abs().max() <= 1 + 1e-5


def test_bias_only_with_clf_bias():
    assert Recognizer("resnet18", num_classes=4).classifier.bias is None
    biased = Recognizer("resnet18", num_classes=4, clf_bias=True)
    assert biased.classifier.bias is not None
    assert biased.classifier.bias.shape == (4,)
    assert "classifier.bias" in biased.state_dict()


def test_without_num_classes_embeddings_in_both_modes():
    rec = Recognizer("resnet18")
    assert rec.classifier is None
    assert not any(key.startswith(("classifier.", "_ult_clf.")) for key in rec.state_dict())
    x = images()
    for training in (True, False):
        rec.train(training)
        with torch.no_grad():
            out = rec(x)
        assert out.shape == (2, 512)
        torch.testing.assert_close(out.norm(dim=1), torch.ones(2))


def test_normalize_false_leaves_norms_alone():
    rec = Recognizer("resnet18", num_classes=6, normalize=False)
    with torch.no_grad():
        rec.classifier.weight.mul_(3.0)
    before = row_norms(rec.classifier).clone()
    rec.train()
    logits = rec(images())
    assert logits.shape == (2, 6)
    torch.testing.assert_close(row_norms(rec.classifier), before)
    rec.eval()
    with torch.no_grad():
        norms = rec(images()).norm(dim=1)
    assert not torch.allclose(norms, torch.ones(2))


def test_classifier_slot_becomes_identity():
    rec = Recognizer("mobilenet_v3_small", num_classes=3)
    assert isinstance(rec.backbone.classifier[3], nn.Identity)
    assert rec.classifier.in_features == 1024 and rec.classifier.out_features == 3
    assert Recognizer("resnet18", num_classes=3).backbone.fc.__class__ is nn.Identity


@pytest.mark.parametrize(
    ("name", "path", "dim"),
    [
        ("resnet18", "fc", 512),
        ("alexnet", "classifier.6", 4096),
        ("mobilenet_v3_small", "classifier.3", 1024),
        ("vit_b_32", "heads.head", 768),
        ("swin_t", "head", 768),
        ("inception_v3", "fc", 2048),
    ],
)
def test_classifier_paths(name, path, dim):
    with torch.device("meta"):
        model = models.get_model(name, weights=None)
    assert classifier_path(model) == path
    assert model.get_submodule(path).in_features == dim


def test_unsupported_model_name():
    with pytest.raises(BridgeValidationError, match='Unsupported model "squeezenet1_0"') as info:
        Recognizer("squeezenet1_0")
    assert info.value.path == "model"
    assert isinstance(info.value, ValueError)  # as recognite raises
    with pytest.raises(BridgeValidationError, match="Unsupported model"):
        Recognizer("not_a_model")


def test_classifier_not_found():
    squeezenet = models.get_model("squeezenet1_0", weights=None)  # ends in Sequential(..., ReLU, AvgPool)
    for model in (
        squeezenet,
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()),
        nn.Sequential(nn.Linear(3, 4), nn.Sequential()),
        nn.Conv2d(3, 4, 3),
    ):
        with pytest.raises(ClassifierNotFoundError, match="cannot find a final fully-connected layer"):
            get_path_to_ultimate_classifier(model)
    with pytest.raises(ValueError, match="cannot find a final fully-connected layer"):
        update_classifier(squeezenet, 3)
    with pytest.raises(ClassifierNotFoundError):
        split_backbone_classifier(nn.Linear(3, 4))  # a bare Linear cannot be its own backbone


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, "3"])
def test_bad_num_classes(bad):
    with pytest.raises(BridgeValidationError, match="num_classes"):
        Recognizer("resnet18", num_classes=bad)


@pytest.mark.parametrize(
    "config",
    [
        {"model_name": "resnet18", "num_classes": 5},
        {"model_name": "resnet18", "num_classes": 5, "clf_bias": True},
        {"model_name": "resnet18"},
        {"model_name": "mobilenet_v3_small", "num_classes": 4, "normalize": False},
        {"model_name": "googlenet", "num_classes": 3},
    ],
    ids=lambda config: "-".join(str(v) for v in config.values()),
)
def test_state_dict_matches_recognite(config, tmp_path):
    from recognite.model import Recognizer as RecogniteRecognizer

    ours = Recognizer(**config)
    theirs = RecogniteRecognizer(**config)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in ours.state_dict().items():
        assert value.shape == theirs.state_dict()[key].shape, key

    # a checkpoint saved here loads into recognite, and back
    torch.save(ours.state_dict(), tmp_path / "ours.pt")
    theirs.load_state_dict(torch.load(tmp_path / "ours.pt", weights_only=True))
    x = images()
    for training in (False, True):
        ours.train(training)
        theirs.train(training)
        torch.manual_seed(0)  # dropout in training mode
        out_ours = ours(x)
        torch.manual_seed(0)
        # exact by construction: the same modules, weights, input and ops, in one process on one CPU
        torch.testing.assert_close(out_ours, theirs(x), rtol=0, atol=0)

    fresh_theirs = RecogniteRecognizer(**config)
    torch.save(fresh_theirs.state_dict(), tmp_path / "theirs.pt")
    ours.load_state_dict(torch.load(tmp_path / "theirs.pt", weights_only=True))
    ours.eval()
    fresh_theirs.eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), fresh_theirs(x), rtol=0, atol=0)


def test_weights_path_loads_the_base_model(tmp_path):
    base = models.get_model("resnet18", weights=None)
    torch.save(base.state_dict(), tmp_path / "resnet18.pth")
    rec = Recognizer("resnet18", num_classes=3, weights_path=tmp_path / "resnet18.pth")
    torch.testing.assert_close(rec.backbone.conv1.weight, base.conv1.weight)
    torch.testing.assert_close(rec.backbone.layer4[1].bn2.running_var, base.layer4[1].bn2.running_var)
    assert rec.classifier.weight.shape == (3, 512)

    no_clf = Recognizer("resnet18", weights_path=str(tmp_path / "resnet18.pth")).eval()
    base.fc = nn.Identity()
    base.eval()
    with torch.no_grad():
        expected = base(images())
        torch.testing.assert_close(no_clf(images()), expected / expected.norm(dim=1, keepdim=True))


def test_weights_path_googlenet_as_torchvision_builds_pretrained(tmp_path):
    source = models.get_model("googlenet", weights=None, aux_logits=True, init_weights=False)
    torch.save(source.state_dict(), tmp_path / "googlenet.pth")
    rec = Recognizer("googlenet", num_classes=2, weights_path=tmp_path / "googlenet.pth")
    assert rec.backbone.aux1 is None and rec.backbone.aux2 is None
    assert rec.backbone.transform_input
    assert not any(key.startswith("backbone.aux") for key in rec.state_dict())
    torch.testing.assert_close(rec.backbone.conv1.conv.weight, source.conv1.conv.weight)


def test_weights_path_densenet_old_keys(tmp_path):
    source = models.get_model("densenet121", weights=None)
    old = {k.replace("norm1.", "norm.1.").replace("conv2.", "conv.2."): v for k, v in source.state_dict().items()}
    assert any(".norm.1." in k for k in old)
    torch.save(old, tmp_path / "densenet.pth")
    rec = Recognizer("densenet121", weights_path=tmp_path / "densenet.pth")
    weight = source.features.denseblock1.denselayer1.conv2.weight
    torch.testing.assert_close(rec.backbone.features.denseblock1.denselayer1.conv2.weight, weight)


def test_weights_path_errors(tmp_path):
    with pytest.raises(BridgeValidationError, match="not found") as info:
        Recognizer("resnet18", weights_path=tmp_path / "missing.pth")
    assert info.value.path == "weightsPath"

    torch.save(models.get_model("mobilenet_v3_small", weights=None).state_dict(), tmp_path / "other.pth")
    with pytest.raises(BridgeValidationError, match="does not fit resnet18"):
        Recognizer("resnet18", weights_path=tmp_path / "other.pth")

    torch.save({"epoch": 3}, tmp_path / "not_a_state_dict.pth")
    with pytest.raises(BridgeValidationError, match="state dict"):
        Recognizer("resnet18", weights_path=tmp_path / "not_a_state_dict.pth")

    (tmp_path / "garbage.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(BridgeValidationError, match="cannot read"):
        Recognizer("resnet18", weights_path=tmp_path / "garbage.pth")

    with pytest.raises(BridgeValidationError, match="not both"):
        Recognizer("resnet18", weights="DEFAULT", weights_path=tmp_path / "other.pth")


def test_catalog_matches_models():
    catalog = json.loads((REPO / "src/sdk/model/catalog.json").read_text())
    assert [entry["name"] for entry in catalog] == SUPPORTED_MODELS
    by_name = {entry["name"]: entry for entry in catalog}
    for entry in catalog:
        assert list(entry) == sorted(entry)
        assert entry["weights"][-1] == "DEFAULT"
        assert entry["minInputSize"] <= entry["defaultInputSize"]
    resnet18 = by_name["resnet18"]
    assert resnet18["embeddingDim"] == 512 and resnet18["classifierPath"] == "fc"
    assert resnet18["parameters"] == sum(p.numel() for p in models.get_model("resnet18").parameters())
    assert "ResNet18_Weights.IMAGENET1K_V1" in resnet18["weights"]
    assert by_name["vit_b_16"]["fixedInputSize"] and by_name["vit_b_16"]["minInputSize"] == 224
    assert not resnet18["fixedInputSize"]
    # the sizes recorded work, and the size below the minimum does not
    rec = Recognizer("mobilenet_v3_small", num_classes=2)
    smallest = by_name["mobilenet_v3_small"]["minInputSize"]
    for training in (True, False):
        rec.train(training)
        with torch.no_grad():
            rec(images(2, smallest))


def test_save_atomic_removes_temporaries_of_killed_saves_and_names_bad_targets(tmp_path) -> None:
    import os

    from model.checkpoints import save_atomic

    target = tmp_path / "model.pt"
    stale = tmp_path / ".model.pt.999999999.abc.tmp"  # a pid that cannot be alive
    mine = tmp_path / f".model.pt.{os.getpid()}.live.tmp"  # a save still running in a live process
    other = tmp_path / ".other.pt.999999999.abc.tmp"
    for f in (stale, mine, other):
        f.write_bytes(b"partial")
    save_atomic({"w": torch.zeros(2)}, str(target))
    assert target.is_file() and not stale.exists()
    assert mine.exists() and other.exists()  # only dead temporaries of this target go
    with pytest.raises(BridgeValidationError, match="is a folder"):
        save_atomic({}, str(tmp_path))
    with pytest.raises(BridgeValidationError, match="cannot write"):
        save_atomic({}, "/proc/recognite-test/model.pt")
