"""Regularisers of nets.losses on tiny cases computed by hand."""

import math

import pytest
import torch
from torch import nn

from nets import DiskAE, DiskAEConfig
from nets import losses as L

EXACT = 1e-6  # float32 sums of a handful of small integers / halves


def test_latent_l2_hand_computed():
    # pairs (0,1): |x|^2 = 1, |z|^2 = 1 -> 0; (0,2): 4 vs 1 -> 9; (1,2): 5 vs 0 -> 25
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    z = torch.tensor([[0.0], [1.0], [1.0]])
    assert L.latent_l2(x, z).item() == pytest.approx(34 / 3, abs=EXACT)


def test_latent_l2_zero_for_an_isometry_and_image_shapes():
    x = torch.randn(6, 1, 4, 4, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(16, 16, dtype=torch.float64))
    z = x.reshape(6, 16) @ q  # an orthogonal map preserves all pairwise distances
    assert L.latent_l2(x, z).item() == pytest.approx(0.0, abs=1e-18 * 1e6)


def test_latent_l2_matches_a_pairwise_loop_on_disk_sized_images():
    # Images of a few thousand unit pixels (where a Gram-matrix distance could cancel), with a
    # duplicated image (distance 0): value and gradients against a plain double loop in float64.
    gen = torch.Generator().manual_seed(3)
    x = (torch.rand(9, 1, 63, 63, generator=gen) < 0.6).float()
    x[4] = x[1]
    z = torch.randn(9, 2, generator=gen).mul(40.0).requires_grad_(True)
    xr = x.clone().requires_grad_(True)
    got = L.latent_l2(xr, z)
    got.backward()
    x64, z64 = x.double().reshape(9, -1).requires_grad_(True), z.detach().double().requires_grad_(True)
    terms = [(torch.sum((x64[a] - x64[b]) ** 2) - torch.sum((z64[a] - z64[b]) ** 2)) ** 2
             for a in range(9) for b in range(a + 1, 9)]
    ref = torch.stack(terms).mean()
    ref.backward()
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(ref.item(), rel=1e-6)
    assert torch.allclose(z.grad.double(), z64.grad, rtol=1e-5, atol=1e-3)
    assert torch.isfinite(xr.grad).all()
    assert torch.allclose(xr.grad.double().reshape(9, -1), x64.grad, rtol=1e-4, atol=1e-2)


def test_latent_l2_bad_inputs():
    with pytest.raises(ValueError, match="batch"):
        L.latent_l2(torch.zeros(1, 3), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="same batch size"):
        L.latent_l2(torch.zeros(3, 3), torch.zeros(2, 1))
    for dtype in (torch.int64, torch.int32, torch.bool):
        with pytest.raises(TypeError, match="x must be a floating-point tensor"):
            L.latent_l2(torch.zeros(3, 3, dtype=dtype), torch.zeros(3, 1))
        with pytest.raises(TypeError, match="z must be a floating-point tensor"):
            L.latent_l2(torch.zeros(3, 3), torch.zeros(3, 1, dtype=dtype))
    with pytest.raises(ValueError, match="z must not be empty"):
        L.latent_l2(torch.zeros(3, 3), torch.zeros(3, 0))


def test_latent_l2_refuses_a_batch_past_the_memory_budget_before_allocating():
    import tracemalloc

    from geoshape.checks import MEMORY_BUDGET_BYTES

    # 200 000 codes: 2e10 pairs, hundreds of GiB of pair tensors; the inputs are 1.6 MB
    n = 200_000
    x, z = torch.zeros(n, 1), torch.zeros(n, 1)
    assert L._latent_l2_bytes(n, 1, 1) > MEMORY_BUDGET_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"x, z: the 19,999,900,000 pairs of a batch of 200000 would need .*"
                                             r"memory budget"):
            L.latent_l2(x, z)
        assert tracemalloc.get_traced_memory()[1] < 2**20
    finally:
        tracemalloc.stop()
    # the training batches of the experiments stay far below it (64 images of 64 x 64: 2.5 MiB)
    assert L._latent_l2_bytes(64, 64 * 64, 8) < 2**22


def _tiny_ae(bias_value=7.0, weight_value=0.5):
    # size 4, widths (2, 3): encoder convs 1->2 (18), 2->3 (54), latent 3->1 (3) = 75 weights;
    # decoder latent 1->3 (3), convs 3->2 (54), 2->1 (18) = 75 weights.
    ae = DiskAE(DiskAEConfig(size=4, widths=(2, 3)), seed=0)
    with torch.no_grad():
        for name, p in ae.named_parameters():
            p.fill_(bias_value if name.endswith("bias") else weight_value)
    return ae


def test_encoder_l2_counts_encoder_weights_only():
    assert L.encoder_l2(_tiny_ae()).item() == pytest.approx(75 * 0.25, abs=EXACT)


def test_all_l2_counts_every_weight_but_no_bias():
    assert L.all_l2(_tiny_ae()).item() == pytest.approx(150 * 0.25, abs=EXACT)


def test_encoder_l2_ignores_frozen_weights():
    ae = _tiny_ae()
    ae.encoder["latent"].weight.requires_grad_(False)
    assert L.encoder_l2(ae).item() == pytest.approx(72 * 0.25, abs=EXACT)


def test_encoder_l2_needs_an_encoder():
    with pytest.raises(ValueError, match="encoder"):
        L.encoder_l2(nn.Linear(2, 2))


class _Linear(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float64))

    def encode(self, x):
        return x.reshape(len(x), -1) @ self.w.T


class _Square(nn.Module):
    def encode(self, x):
        return (x**2).sum(dim=1, keepdim=True)


def test_contractive_of_a_linear_encoder_is_frobenius_norm():
    w = [[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]]  # |W|_F^2 = 1 + 4 + 1 + 9 = 15
    x = torch.randn(5, 3, dtype=torch.float64)
    assert L.contractive(_Linear(w), x).item() == pytest.approx(15.0, abs=1e-12)


def test_contractive_of_a_square_norm():
    # z = |x|^2 -> dz/dx = 2x -> |dz/dx|^2 = 4 |x|^2; batch mean of 4 * (1 + 4) and 4 * 9
    x = torch.tensor([[1.0, 2.0], [3.0, 0.0]], dtype=torch.float64)
    assert L.contractive(_Square(), x).item() == pytest.approx((20.0 + 36.0) / 2, abs=1e-12)


def test_contractive_is_differentiable_in_the_weights():
    m = _Linear([[1.0, 2.0]])
    L.contractive(m, torch.ones(2, 2, dtype=torch.float64)).backward()
    assert torch.allclose(m.w.grad, 2 * m.w.detach())  # d|W|^2/dW = 2W


def test_denoise_with_zero_noise_is_the_clean_loss():
    x = torch.rand(4, 5)
    fn = lambda a, b: torch.mean((2 * a - b) ** 2)
    assert L.denoise(fn, x, 0.0).item() == pytest.approx(fn(x, x).item(), abs=0)


def test_denoise_of_the_identity_is_the_noise_variance():
    # D(E(x + eta)) = x + eta -> mean eta^2 = sigma^2; 2e5 samples: relative sd sqrt(2/N) = 0.3 %
    sigma, n = 0.3, 200_000
    x = torch.zeros(n, 1)
    val = L.denoise(lambda a, b: torch.mean((a - b) ** 2), x, sigma, torch.Generator().manual_seed(0))
    assert val.item() == pytest.approx(sigma**2, rel=5 * math.sqrt(2 / n))


def test_denoise_bad_noise():
    with pytest.raises(ValueError, match="noise_std"):
        L.denoise(lambda a, b: a.sum(), torch.zeros(2, 2), -1.0)


@pytest.mark.parametrize("noise_std, err", [(math.inf, ValueError), (math.nan, ValueError), (-math.inf, ValueError),
                                            ("0.1", TypeError), (None, TypeError), (True, TypeError)])
def test_denoise_refuses_non_finite_and_non_numeric_noise(noise_std, err):
    with pytest.raises(err, match="noise_std"):
        L.denoise(lambda a, b: a.sum(), torch.zeros(2, 2), noise_std)


def test_denoise_other_arguments():
    with pytest.raises(TypeError, match="loss_fn"):
        L.denoise("mse", torch.zeros(2, 2), 0.1)
    with pytest.raises(TypeError, match="generator"):
        L.denoise(lambda a, b: a.sum(), torch.zeros(2, 2), 0.1, generator=0)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        L.denoise(lambda a, b: a.sum(), [[0.0]], 0.1)
    with pytest.raises(ValueError, match="batch"):
        L.denoise(lambda a, b: a.sum(), torch.zeros(()), 0.1)
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        L.denoise(lambda a, b: a.sum(), torch.zeros(2, 3, dtype=torch.int64), 0.1)
    with pytest.raises(ValueError, match="x must not be empty"):
        L.denoise(lambda a, b: a.sum(), torch.zeros(2, 0), 0.1)


def test_other_loss_arguments_are_named():
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        L.latent_l2([[0.0], [1.0]], torch.zeros(2, 1))
    with pytest.raises(TypeError, match="z must be a torch.Tensor"):
        L.latent_l2(torch.zeros(2, 1), [[0.0], [1.0]])
    with pytest.raises(TypeError, match="model"):
        L.encoder_l2("model")
    with pytest.raises(TypeError, match="model"):
        L.all_l2(None)
    with pytest.raises(TypeError, match="encode"):
        L.contractive(nn.Linear(2, 2), torch.zeros(2, 2))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        L.contractive(_Square(), torch.zeros(2, 2, dtype=torch.int64))
    with pytest.raises(TypeError, match="model"):
        L.reconstruction_mse(lambda x: x, torch.zeros(1, 2), torch.zeros(1, 2))
    with pytest.raises(TypeError, match="x_target"):
        L.reconstruction_mse(nn.Identity(), torch.zeros(1, 2), [[0.0, 0.0]])
    with pytest.raises(TypeError, match="x_target must be a floating-point tensor"):
        L.reconstruction_mse(nn.Identity(), torch.zeros(1, 2), torch.zeros(1, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="x_target must have as many elements"):
        L.reconstruction_mse(nn.Identity(), torch.zeros(1, 2), torch.zeros(1, 3))


def test_reconstruction_mse_hand_computed():
    ident = nn.Identity()
    x_in = torch.tensor([[1.0, 2.0]])
    x_t = torch.tensor([[0.0, 0.0]])
    assert L.reconstruction_mse(ident, x_in, x_t).item() == pytest.approx(2.5, abs=EXACT)
