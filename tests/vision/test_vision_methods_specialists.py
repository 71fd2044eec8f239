"""Generalist + specialists: class mapping, covariance groups, initialisation, and the combined inference."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kd.vision.methods import METHODS
from kd.vision.methods.specialists import (active_specialists, combine_specialists, correct_for_enrichment,
                                           covariance_groups, group_labels, init_from_generalist, merge_log_probs)


def test_group_mapping_and_merged_distribution():
    labels = torch.tensor([0, 1, 2, 3])
    assert group_labels(labels, [2, 0], 4).tolist() == [1, 2, 0, 2]        # 2 -> 0, 0 -> 1, others -> dustbin 2
    p = torch.tensor([[0.1, 0.2, 0.3, 0.4]])
    merged = merge_log_probs(p.log(), [2, 0]).exp()
    assert torch.allclose(merged, torch.tensor([[0.3, 0.1, 0.6]]))


def test_active_set_from_the_generalists_top_n():
    logits = torch.tensor([[5.0, 4.0, 0.0, 0.0], [0.0, 0.0, 1.0, 3.0]])
    groups = [[0, 1], [2, 3], [1, 2]]
    assert active_specialists(logits, groups, top_n=1).tolist() == [[True, False, False], [False, True, False]]
    assert active_specialists(logits, groups, top_n=2).tolist() == [[True, False, True], [False, True, True]]


def test_combination_with_one_active_specialist_matches_the_analytic_minimiser():
    # minimise KL(p_g||q) + KL(p_m||merge(q)) over q: q(c) = (p_g(c) + p_m(c)) / 2 on the group,
    # the outside mass (P_g(out) + p_m(dustbin)) / 2 split in proportion to p_g.
    p_g = torch.tensor([[0.40, 0.30, 0.20, 0.10]])
    p_m = torch.tensor([[0.20, 0.70, 0.10]])                    # group [0, 1] + dustbin
    q = combine_specialists(p_g.log(), [p_m.log(), torch.zeros(1, 3)], [[0, 1], [2, 3]], top_n=1).exp()
    outside = (0.30 + 0.10) / 2
    expected = torch.tensor([[0.30, 0.50, outside * 2 / 3, outside * 1 / 3]])
    assert torch.allclose(q, expected, atol=1e-5)


def test_combination_keeps_the_generalist_when_specialists_agree_and_none_when_inactive():
    p_g = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.5, 0.3, 0.1, 0.1]])
    groups = [[0, 1], [2, 3]]
    agreeing = [merge_log_probs(p_g.log(), g) for g in groups]   # specialists that say what the generalist says
    q = combine_specialists(p_g.log(), agreeing, groups, top_n=4).exp()
    assert torch.allclose(q, p_g, atol=1e-5)
    # both specialists active and confident about class 1 (group 0) and class 2 (group 1): the combination
    # is a proper distribution that moves towards them
    confident = [torch.tensor([[0.0, 4.0, -2.0]] * 2), torch.tensor([[0.0, -2.0, -2.0]] * 2)]
    q = combine_specialists(p_g.log(), confident, groups, top_n=4).exp()
    assert torch.allclose(q.sum(-1), torch.ones(2), atol=1e-6)
    assert (q[:, 1] > p_g[:, 1]).all()


def test_covariance_groups_find_the_confused_pairs():
    torch.manual_seed(0)
    # classes {0,1} are confused with each other, and {2,3}: predictions put mass on one pair at a time
    pair = torch.randint(0, 2, (400,))
    split = torch.rand(400, 1)
    probs = torch.zeros(400, 4)
    probs[pair == 0, 0:2] = torch.cat([split, 1 - split], 1)[pair == 0]
    probs[pair == 1, 2:4] = torch.cat([split, 1 - split], 1)[pair == 1]
    assert sorted(covariance_groups(probs, 2)) == [[0, 1], [2, 3]]


def test_enrichment_correction_is_bayes_prior_shift():
    logits = torch.zeros(1, 3)                                     # 2 group classes + dustbin, uniform
    p = correct_for_enrichment(logits, in_group_fraction=0.2, sampled_fraction=0.5).softmax(-1)
    # odds (group class : dustbin) go from 1:1 to (0.2/0.5) : (0.8/0.5)
    assert (p[0, 0] / p[0, 2]).item() == pytest.approx(0.25)


class Tiny(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.body = nn.Linear(6, 5)
        self.classifier = nn.Linear(5, n)

    def forward(self, x, return_features=False):
        return self.classifier(torch.relu(self.body(x)))


@pytest.mark.parametrize("arch", ["airbench", "torchvision:mobilenet_v3_small"])
def test_a_specialist_starts_from_a_generalist_whose_output_layer_has_no_bias_or_sits_in_a_sequential(arch):
    """airbench's classifier has no bias; a torchvision MobileNet's is a Sequential ending in the output layer."""
    from kd.vision.model_registry import build_model

    torch.manual_seed(0)
    generalist, specialist = build_model(arch, 10, image_size=32).eval(), build_model(arch, 3, image_size=32).eval()
    init_from_generalist(specialist, generalist, [2, 0])
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():  # the same body, so the group's logits start at the generalist's
        torch.testing.assert_close(specialist(x)[:, :2], generalist(x)[:, [2, 0]])


def test_specialist_starts_from_the_generalist_and_its_loss_is_the_mapped_kd():
    torch.manual_seed(0)
    generalist, specialist = Tiny(4), Tiny(3)
    init_from_generalist(specialist, generalist, [2, 0])
    assert torch.equal(specialist.body.weight, generalist.body.weight)
    assert torch.equal(specialist.classifier.weight[:2], generalist.classifier.weight[[2, 0]])
    x, y = torch.randn(8, 6), torch.randint(0, 4, (8,))
    g = generalist(x)
    # initialised so that the group logits equal the generalist's
    assert torch.allclose(specialist(x)[:, :2], g[:, [2, 0]])
    method = METHODS.build("specialist", teacher=generalist, student=specialist, num_classes=3, image_shape=(6,),
                           classes=[2, 0], temperature=2.0, alpha=0.5)
    terms = method(specialist, generalist, (x, y))
    target = merge_log_probs(F.log_softmax(g / 2, -1), [2, 0]).exp()
    expected = 4 * (target * (target.log() - F.log_softmax(specialist(x) / 2, -1))).sum(-1).mean()
    assert terms["kd"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert terms["ce"].item() == pytest.approx(F.cross_entropy(specialist(x), group_labels(y, [2, 0], 4)).item(),
                                               rel=1e-5)
    assert math.isclose(method.weights["kd"], 0.5)


def test_specialist_learns_the_generalists_merged_soft_targets(digits, shifted_teacher, one_torch_thread):
    """A specialist for {3, 4} + dustbin (at T = 1), trained on true labels and a generalist that calls digit y "y+1":
    on the digits where the two disagree (2 -> "3", 3 -> "4", 4 -> "5" = dustbin) it follows the generalist.
    Fails when the specialist's KD term is switched off (it then learns the mapped labels)."""
    from kd.common.engine import Distiller, predict
    from kd.common.utils.seed import seed_everything
    from kd.vision.model_registry import build_model

    generalist, _ = shifted_teacher
    seed_everything(1)
    classes = [3, 4]
    specialist = build_model("small_cnn", len(classes) + 1, in_channels=1, image_size=8)
    method = METHODS.build("specialist", teacher=generalist, student=specialist, num_classes=3, image_shape=(1, 8, 8),
                           classes=classes, temperature=1.0, alpha=0.9)
    Distiller(specialist, method, torch.optim.Adam(specialist.parameters(), 3e-3), device=torch.device("cpu"),
              teacher=generalist, progress=False).fit(digits.train_loader, 20)
    logits, labels = predict(specialist.eval(), digits.test_loader, torch.device("cpu"))
    generalist_logits, _ = predict(generalist, digits.test_loader, torch.device("cpu"))
    says = logits.argmax(-1)
    generalist_says = merge_log_probs(F.log_softmax(generalist_logits, -1), classes).argmax(-1)
    labels_say = group_labels(labels, classes, 10)
    disputed = generalist_says != labels_say                   # the images of digits 2, 3 and 4
    assert disputed.sum() > 90
    assert (says == generalist_says)[disputed].float().mean() > 0.75   # measured 0.94
    assert (says == labels_say)[disputed].float().mean() < 0.25


@pytest.mark.parametrize("enrich", [0.5, None], ids=["enriched", "plain shuffling"])
def test_a_specialists_draws_are_a_function_of_seed_and_epoch(enrich):
    """Epoch e of a fresh loader (a run resumed after epoch e) draws what epoch e of one uninterrupted loader did."""
    from torch.utils.data import TensorDataset

    from kd.vision.scripts.specialists import enriched_loader

    labels = torch.arange(40) % 4
    dataset = TensorDataset(torch.arange(40), labels)

    def epoch_draws(loader, epoch):
        loader.sampler.set_epoch(epoch)  # as the engine does before each epoch
        return torch.cat([batch[0] for batch in loader]).tolist()

    straight = enriched_loader(dataset, labels, [1, 2], enrich, 8, seed=3)[0]
    uninterrupted = [epoch_draws(straight, e) for e in range(3)]
    resumed = enriched_loader(dataset, labels, [1, 2], enrich, 8, seed=3)[0]
    assert epoch_draws(resumed, 2) == uninterrupted[2] and uninterrupted[2] != uninterrupted[1]
    if enrich is None:
        assert sorted(uninterrupted[0]) == list(range(40))  # a permutation
