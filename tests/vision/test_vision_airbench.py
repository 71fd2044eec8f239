"""The airbench net: whitening from the first training batch, identity-initialised convolutions, BatchNorm
bias at 64x the learning rate, test-time augmentation, and the triangular schedule."""
import pytest
import torch

from kd.vision.model_registry import build_model
from kd.vision.pipeline import triangle


def test_whitening_decorrelates_the_first_batch_and_is_then_frozen():
    torch.manual_seed(0)
    net = build_model("airbench", 10).train()
    mixing = torch.randn(3, 3)
    x = torch.einsum("dc,nchw->ndhw", mixing, torch.randn(64, 3, 32, 32))   # correlated colour channels
    net(x)
    assert bool(net.whiten.initialised) and not net.whiten.weight.requires_grad
    weight = net.whiten.weight.clone()
    patches = x.unfold(2, 2, 1).unfold(3, 2, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, 12)
    out = patches @ weight[:12].reshape(12, 12).t()                  # the 12 positive whitening filters
    covariance = out.t() @ out / len(out)
    off_diagonal = covariance - torch.diag(covariance.diag())
    assert off_diagonal.abs().max() < 1e-3                            # decorrelated
    assert (covariance.diag() > 0.5).all() and (covariance.diag() < 1.0 + 1e-4).all()  # lambda / (lambda + eps)
    net(torch.randn(8, 3, 32, 32))
    assert torch.equal(net.whiten.weight, weight)                     # set once


def test_whitening_fitted_over_batches_is_the_fit_on_their_union_and_is_kept_by_training(whitening_gram):
    """``fit_to_data`` accumulates the patch covariance over batches (one fit of all their images), and the first
    training batch then leaves the filters as they are."""
    torch.manual_seed(0)
    x = torch.einsum("dc,nchw->ndhw", torch.randn(3, 3), torch.randn(48, 3, 32, 32))
    whole, batched = build_model("airbench", 10), build_model("airbench", 10).train()
    whole.whiten.fit([x])
    batched.fit_to_data(iter([x[:16], x[16:40], x[40:]]))
    assert torch.allclose(whitening_gram(batched.whiten.weight), whitening_gram(whole.whiten.weight),
                          rtol=1e-3, atol=1e-4)
    weight = batched.whiten.weight.clone()
    batched(torch.randn(8, 3, 32, 32))
    assert torch.equal(batched.whiten.weight, weight)


def test_identity_start_bias_scaling_and_tta():
    torch.manual_seed(0)
    net = build_model("airbench", 10, tta=2)
    conv = net.groups[1][0]
    assert torch.equal(conv.weight[:64, :, 1, 1], torch.eye(64))      # dirac: identity on the first 64 filters
    norm = net.groups[0][2]
    assert not norm.weight.requires_grad
    with torch.no_grad():
        norm.bias.fill_(0.5)
    x = torch.randn(4, 3, 32, 32)
    net.train()
    net(x)
    net.eval()
    out = norm(torch.zeros(1, 64, 2, 2))
    assert torch.allclose(out, torch.full_like(out, 4.0) - norm.running_mean.view(1, -1, 1, 1)
                          / (norm.running_var.view(1, -1, 1, 1) + 1e-12).sqrt(), atol=1e-4)   # bias = 8 x 0.5
    net.tta = 1
    assert torch.allclose(net(x), net(x.flip(-1)), atol=1e-5)         # mirror average: flip-invariant
    logits, feats = net(x, return_features=True)
    assert [f.shape[1] for f in feats[:-1]] == [64, 256, 256] and feats[-1].shape == (4, 256)


def test_triangle_schedule():
    factor = triangle(100)
    assert factor(0) == pytest.approx(0.2) and factor(23) == pytest.approx(1.0) and factor(100) == pytest.approx(0.07)
    assert factor(11) == pytest.approx(0.2 + 0.8 * 11 / 23)
