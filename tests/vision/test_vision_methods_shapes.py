"""Projector / regressor shapes inferred by a dummy forward; SimKD's deployable model; variants' config errors."""
import pytest
import torch
from torch import nn

from kd.common.utils.errors import ConfigError
from kd.vision.methods import METHODS
from kd.vision.model_registry import build_model


class TinyNet(nn.Module):
    """Stages of (3x3 conv with stride, ReLU); feats = stage maps + pooled embedding (the vision contract)."""

    def __init__(self, widths, strides, num_classes=5):
        super().__init__()
        layers, c = [], 3
        for w, s in zip(widths, strides):
            layers.append(nn.Sequential(nn.Conv2d(c, w, 3, s, 1), nn.ReLU()))
            c = w
        self.stages = nn.ModuleList(layers)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x, return_features=False):
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        emb = x.mean((2, 3))
        logits = self.classifier(emb)
        return (logits, feats + [emb]) if return_features else logits


def build(name, teacher, student, **kwargs):
    return METHODS.build(name, teacher=teacher, student=student, num_classes=5, image_shape=(3, 16, 16), **kwargs)


@pytest.mark.parametrize("pair", ["tiny", "resnet"])
def test_simkd_projector_matches_the_teacher_and_reuses_its_classifier(pair):
    if pair == "tiny":  # different widths and a student map larger than the teacher's (8x8 vs 2x2)
        teacher, student = TinyNet([12, 24], [2, 4]), TinyNet([8, 16], [2, 1])
        t_shape, image = (24, 2, 2), (3, 16, 16)
    else:
        teacher, student = build_model("resnet8x4", 5), build_model("resnet8", 5)
        t_shape, image = (256, 8, 8), (3, 32, 32)
    method = METHODS.build("simkd", teacher=teacher, student=student, num_classes=5, image_shape=image)
    x = torch.randn(3, *image)
    _, s_feats = student(x, return_features=True)
    projections, logits = method.head([f for f in s_feats[:-1]])
    assert projections[-1].shape == (3, *t_shape)
    assert logits.shape == (3, 5)
    deployed = method.inference_model(student)
    assert deployed(x).shape == (3, 5)
    assert torch.equal(deployed.classifier.weight, teacher.classifier.weight)
    assert not any(p.requires_grad for p in deployed.classifier.parameters())
    terms = method(student, teacher, (x, torch.randint(0, 5, (3,))))
    assert set(terms) == {"simkd", "ce"} and method.weights["ce"] == 0.0


def test_simkd_variants():
    teacher, student = TinyNet([12, 24, 32], [1, 2, 2]), TinyNet([8, 16, 16], [2, 1, 2])
    x, y = torch.randn(2, 3, 16, 16), torch.tensor([0, 3])
    ensemble = build("simkd", teacher, student, projectors=3)
    assert len(ensemble.head.last_projectors) == 3 and len(ensemble.head.stage_projectors) == 0
    unbiased = build("simkd", teacher, student, all_layers=True)
    projections, _ = unbiased.head([f for f in student(x, return_features=True)[1][:-1]])
    t_maps = teacher(x, return_features=True)[1][:-1]
    assert [p.shape[1] for p in projections] == [t.shape[1] for t in t_maps]   # one projector per stage
    assert [p.shape[-1] for p in projections] == [8, 8, 4]                     # min of the two spatial sizes
    kl = build("simkd", teacher, student, loss="kl", weights={"ce": 1.0})
    terms = kl(student, teacher, (x, y))
    assert kl.total(terms).item() == pytest.approx(terms["simkd"].item() + terms["ce"].item(), rel=1e-6)
    with pytest.raises(ConfigError):
        build("simkd", teacher, student, all_layers=True, projectors=2)
    with pytest.raises(ConfigError):
        build("simkd", teacher, student, loss="cosine")


def test_fitnet_regressor_and_at_and_sp_pairs_from_the_dummy_forward():
    teacher, student = TinyNet([12, 24, 32], [1, 2, 2]), TinyNet([8, 16], [2, 2])
    fitnet = build("fitnet", teacher, student)
    assert (fitnet.hint_layer, fitnet.guided_layer) == (1, 1)   # the middle stage of each
    x, y = torch.randn(2, 3, 16, 16), torch.tensor([0, 1])
    terms = fitnet(student, teacher, (x, y))
    assert set(terms) == {"ce", "hint"} and fitnet.weights["hint"] == 100.0
    at = build("at", teacher, student)
    assert at.pairs == [(0, 1), (1, 2)]   # every stage both have (no stem maps here), aligned from the deepest
    assert build("at", teacher, student, stages=1).pairs == [(1, 2)]
    sp = build("sp", teacher, student)
    assert sp.pairs == [(1, 2)] and sp.weights["sp"] == 3000.0   # the deepest stage of each
    assert set(sp(student, teacher, (x, y))) == {"ce", "sp"}


def test_dkd_warm_up_follows_the_epoch():
    teacher, student = TinyNet([4], [1]), TinyNet([4], [1])
    dkd = build("dkd", teacher, student, warmup=4)
    x, y = torch.randn(2, 3, 16, 16), torch.tensor([0, 1])
    full = build("dkd", teacher, student, warmup=0)(student, teacher, (x, y))["dkd"]
    dkd.set_epoch(0)
    assert dkd(student, teacher, (x, y))["dkd"].item() == pytest.approx(full.item() / 4, rel=1e-5)
    dkd.set_epoch(10)
    assert dkd(student, teacher, (x, y))["dkd"].item() == pytest.approx(full.item(), rel=1e-5)
    offline = dkd(student, None, (x, y, teacher(x)))   # cached teacher logits in offline batches
    assert offline["dkd"].item() == pytest.approx(full.item(), rel=1e-5)


def test_memo_teacher_answers_like_the_teacher_and_runs_it_once_per_image():
    from kd.vision.methods.memo_teacher import MemoTeacher

    teacher = TinyNet([4, 6], [1, 2]).eval()
    memo = MemoTeacher(teacher, store_dtype=torch.float32)
    x = torch.randn(4, 3, 8, 8)
    logits, feats = memo(x, return_features=True)
    ref_logits, ref_feats = teacher(x, return_features=True)
    assert torch.allclose(logits, ref_logits) and all(torch.allclose(a, b) for a, b in zip(feats, ref_feats))
    again = memo(x[[2, 0]])                          # other order, other batch: looked up
    assert torch.allclose(again, ref_logits[[2, 0]], atol=1e-6)
    assert (memo.misses, memo.hits) == (4, 2)


@pytest.mark.parametrize("teacher_arch, pairs", [("resnet8x4", [(1, 1), (2, 2), (3, 3)]),
                                                 ("airbench", [(1, 0), (2, 1), (3, 2)])])
def test_at_pairs_every_stage_after_the_stem_and_a_stemless_teacher_s_every_stage(teacher_arch, pairs):
    """RepDistiller's feat[1:-1]: resnet8 (stem + 3 stages) against resnet8x4 (stem + 3) or airbench (3 groups, no stem
    map) pairs 3 stages; dropping one map from each model's count would leave airbench's first group unpaired."""
    teacher, student = build_model(teacher_arch, 5), build_model("resnet8", 5)
    assert METHODS.build("at", teacher=teacher, student=student, num_classes=5, image_shape=(3, 32, 32)).pairs == pairs
