"""Every model family takes any square image size: zero padding to the layout's size, centred
(the odd pixel at the bottom and right), and the decoder's output cropped back.

The method is tested on its own, not against the code under test: a model of an odd size must
be the model of its padded size (same seed, same weights) run on a zero canvas that the test
builds by hand, with the crop window the docstrings state; a power-of-two size must pad and
crop nothing, so its outputs are those of the raw layers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from nets import (PCAAE, BetaTCVAE, BetaVAE, ConvAEConfig, DiskAE, DiskAEConfig, PCAAEConfig, PlainAE,
                  TCVAEConfig, TrainConfig, VAEConfig, train, train_pca_ae)
from nets.conv_ae import crop_images, n_decoder_parameters, n_encoder_parameters, pad_images, padded_side
from nets.losses import reconstruction_mse

ODD_SIZES = (28, 63, 100)
POW2 = 32
#: The stated convention: rows (and columns) of zeros above (and left of) the image; the rest
#: go below (and right). 28 -> 32: 2 + 2; 63 -> 64: 0 + 1; 100 -> 128: 14 + 14.
PADDED = {28: 32, 63: 64, 100: 128, 32: 32}
BEFORE = {28: 2, 63: 0, 100: 14, 32: 0}
# float32 means of a few thousand squared O(1) numbers, summed in two different orders
RTOL_MEAN = 1e-5

FAMILIES = ("PCAAE", "PlainAE", "PlainAE-allconv", "BetaVAE", "BetaTCVAE", "DiskAE")


@pytest.fixture(autouse=True)
def _one_thread():
    # small nets: one thread is faster than two that wait on each other on a shared machine
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _build(family: str, size: int, seed: int = 0):
    """A small model of ``family`` with nonzero decoders (``init="default"``: the kaiming init
    zeroes a linear output layer, which would make every decoder comparison trivial)."""
    arch = dict(size=size, n_stages=2, init="default")
    if family == "PCAAE":
        m = PCAAE(PCAAEConfig(**arch), seed=seed)
        m.add_stage()
        m.add_stage()
        return m
    if family == "PlainAE":
        return PlainAE(ConvAEConfig(**arch), seed=seed)
    if family == "PlainAE-allconv":
        return PlainAE(ConvAEConfig(**arch, arch="allconv"), seed=seed)
    if family == "BetaVAE":
        return BetaVAE(VAEConfig(**arch, beta=1.0), seed=seed)
    if family == "BetaTCVAE":
        return BetaTCVAE(TCVAEConfig(**arch, dataset_size=64), seed=seed)
    return DiskAE(DiskAEConfig(size=size, latent_dim=2), seed=seed)


def _images(n: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).uniform(size=(n, size, size)).astype(np.float32))


def _canvas(x: torch.Tensor, size: int) -> torch.Tensor:
    """``x`` (n, s, s) written by hand into zeros (n, 1, P, P) at the stated offset."""
    n, s = x.shape[0], x.shape[-1]
    out = torch.zeros(n, 1, PADDED[s], PADDED[s], dtype=x.dtype)
    b = BEFORE[s]
    out[:, 0, b : b + s, b : b + s] = x.reshape(n, s, s)
    return out


def _window(y: torch.Tensor, size: int) -> torch.Tensor:
    b = BEFORE[size]
    return y[:, :, b : b + size, b : b + size]


# --------------------------------------------------------------------------------------------
# the padding method


def test_padded_side_is_the_next_power_of_two():
    assert [padded_side(s) for s in (1, 2, 3, 8, 9, 16, 17, 28, 63, 64, 100, 1000, 1024)] == \
        [1, 2, 4, 8, 16, 16, 32, 32, 64, 64, 128, 1024, 1024]
    for s, p in PADDED.items():
        assert ConvAEConfig(size=s).padded_size == p
        assert DiskAEConfig(size=s).padded_size == p
    assert DiskAEConfig(size=5).padded_size == 8 and ConvAEConfig(size=9).padded_size == 16


@pytest.mark.parametrize("size", ODD_SIZES)
def test_pad_centres_on_zeros_and_crop_inverts_it(size):
    x = _images(3, size)[:, None]
    padded = pad_images(x, PADDED[size])
    assert torch.equal(padded, _canvas(x[:, 0], size))
    after = PADDED[size] - size - BEFORE[size]
    assert after - BEFORE[size] in (0, 1), "centred: the odd pixel goes below / right"
    assert torch.equal(crop_images(padded, size), x)


def test_a_power_of_two_pads_and_crops_nothing():
    x = _images(2, POW2)[:, None]
    assert pad_images(x, POW2) is x and crop_images(x, POW2) is x


# --------------------------------------------------------------------------------------------
# every family, every size


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("size", (*ODD_SIZES, POW2))
def test_shapes_are_the_users_size(family, size):
    m = _build(family, size).eval()
    assert m.config.padded_size == PADDED[size]
    x = _images(4, size)
    with torch.no_grad():
        z = m.encode(x)
        assert z.shape == (4, 2)
        assert m(x).shape == (4, 1, size, size)
        assert m(x[:, None]).shape == (4, 1, size, size)
        assert m.decode(z).shape == (4, 1, size, size)
        if family == "PCAAE":
            assert m.reconstruct(x, 1).shape == (4, 1, size, size)
        if family == "DiskAE":
            assert m.profile(1.0).shape == (size, size)
    with pytest.raises(ValueError, match="x must have shape"):
        m.encode(_images(4, PADDED[size] if size != POW2 else POW2 // 2))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("size", ODD_SIZES)
def test_an_odd_size_is_the_padded_model_on_a_zero_canvas(family, size):
    small, big = _build(family, size), _build(family, PADDED[size])
    # the layout is that of the padded size: same seed, same weights
    a, b = small.state_dict(), big.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    big.load_state_dict(a)
    small.eval()
    big.eval()
    x = _images(4, size, seed=1)
    z = torch.randn(4, 2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(small.encode(x), big.encode(_canvas(x, size)))
        full = big.decode(z)
        assert float(full.std()) > 0, "a constant decoder would make the comparison vacuous"
        assert torch.equal(small.decode(z), _window(full, size))
        assert torch.equal(small(x), _window(big(_canvas(x, size)), size))
        if family == "PCAAE":
            assert torch.equal(small.reconstruct(x, 1), _window(big.reconstruct(_canvas(x, size), 1), size))


def _raw_decode(m, z: torch.Tensor) -> torch.Tensor:
    """The decoder layers alone, as the models ran them before any size but a power of two
    was accepted."""
    if isinstance(m, PCAAE):
        return m.decoders[-1](z)
    if isinstance(m, DiskAE):
        h = F.leaky_relu(m.decoder["latent"](z), m.config.leaky_slope)[:, :, None, None]
        for block in m.decoder["blocks"]:
            h = block(h)
        return h
    return m.decoder(z)


def _raw_encode(m, x: torch.Tensor) -> torch.Tensor:
    x = x[:, None]
    if isinstance(m, DiskAE):
        for block in m.encoder["blocks"]:
            x = block(x)
        return m.encoder["latent"](x.flatten(1))
    outs = [enc(x) for enc in m.encoders]
    if isinstance(m, BetaVAE):
        return torch.cat([o[:, :q] for o, q in zip(outs, m.config.packets)], dim=1)
    return torch.cat(outs, dim=1)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_power_of_two_runs_the_raw_layers(family):
    m = _build(family, POW2).eval()
    assert m.config.padded_size == m.config.size == POW2
    x = _images(4, POW2)
    z = torch.randn(4, 2, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(m.encode(x), _raw_encode(m, x))
        assert torch.equal(m.decode(z), _raw_decode(m, z))


# --------------------------------------------------------------------------------------------
# losses and training on the user's pixels


@pytest.mark.parametrize("family", FAMILIES)
def test_losses_score_the_crop_only(family):
    size = 28
    small, big = _build(family, size), _build(family, PADDED[size])
    small.eval()
    big.eval()
    x = _images(8, size, seed=4)
    canvas = _canvas(x, size)
    with torch.no_grad():
        full = big(canvas)
        inside = _window(full, size)
        if family in ("BetaVAE", "BetaTCVAE"):
            torch.manual_seed(5)
            recon = small.training_loss(x, x)["recon"]
            torch.manual_seed(5)
            mu, logvar = big.encode_stats(canvas)
            rec = big.decode(mu + torch.exp(0.5 * logvar) * torch.randn_like(mu))
            want = ((_window(rec, size) - x[:, None]) ** 2).flatten(1).sum(1).mean()
            whole = ((rec - canvas) ** 2).flatten(1).sum(1).mean()
        else:
            if family == "DiskAE":
                recon = reconstruction_mse(small, x, x)
            else:
                recon = small.training_loss(x, x)["mse"]
            want = ((inside - x[:, None]) ** 2).mean()
            whole = ((full - canvas) ** 2).mean()
    torch.testing.assert_close(recon, want, rtol=RTOL_MEAN, atol=0)
    assert abs(float(whole) - float(want)) > 100 * RTOL_MEAN * float(want), "the padded border must not be scored"


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("size", (*ODD_SIZES, POW2))
def test_a_short_training_on_the_users_images(family, size):
    data = _images(16, size, seed=6).numpy()
    val = _images(4, size, seed=7).numpy()
    tc = TrainConfig(steps=5, batch_size=4, lr=1e-3, threads=1, progress=False, eval_every=5)
    if family == "PCAAE":
        model, hists = train_pca_ae(_build(family, size).config, data, tc, val_data=val, seed=0)
        assert model.stage == 2 and len(hists) == 2
        hist = hists[-1]
    else:
        model = _build(family, size)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        hist = train(model, data, tc, val_data=val)
        assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert np.all(np.isfinite(hist.train_loss))
    # the engine's validation metric is the per-pixel MSE over the user's s x s pixels
    model.eval()
    with torch.no_grad():
        v = torch.from_numpy(val)
        want = float(((model(v) - v[:, None]) ** 2).double().mean())
    assert hist.final_val_mse == pytest.approx(want, rel=RTOL_MEAN)


def test_the_bias_free_disk_ae_stays_positively_homogeneous_at_an_odd_size():
    ae = DiskAE(DiskAEConfig(size=13, widths=(3, 4, 4, 5), bias=False), seed=0).double()
    x = torch.rand(3, 13, 13, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    z = torch.tensor([[0.7], [-1.3]], dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(ae.encode(2.5 * x), 2.5 * ae.encode(x), rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(ae.decode(3.0 * z), 3.0 * ae.decode(z), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------
# the sizes accepted, and the parameter counts


CONV_CONFIGS = (ConvAEConfig, PCAAEConfig, VAEConfig, TCVAEConfig)


@pytest.mark.parametrize("cls", (*CONV_CONFIGS, DiskAEConfig))
def test_bad_sizes_name_size(cls):
    lo = 4 if cls is DiskAEConfig else 8
    for bad in (lo - 1, 0, -28, 1025, 2000):
        with pytest.raises(ValueError, match=rf"size must be in \[{lo}, 1024\], got {bad}"):
            cls(size=bad)
    for bad in (28.5, 28.0, "28", True, None):
        with pytest.raises(TypeError, match="size must be an int"):
            cls(size=bad)
    assert cls(size=lo).padded_size == lo and cls(size=1024).padded_size == 1024
    assert cls(size=np.int64(63)).size == 63 and type(cls(size=np.int64(63)).size) is int


def test_widths_count_the_padded_layout():
    assert ConvAEConfig(size=100, widths=(2, 3, 4, 5, 6)).n_blocks == 5  # log2(128) - 2
    with pytest.raises(ValueError, match=r"widths must have log2\(padded_size\) - 2 \(size 28 pads to 32\) = 3"):
        ConvAEConfig(size=28, widths=(4, 8))
    with pytest.raises(ValueError, match=r"widths must have log2\(padded_size\) \(size 28 pads to 32\) = 5"):
        DiskAEConfig(size=28, widths=(4, 8))


@pytest.mark.parametrize("family", FAMILIES)
def test_parameter_counts_are_those_of_the_padded_size(family):
    small, big = _build(family, 63), _build(family, 64)
    n = sum(p.numel() for p in small.parameters())
    assert n == sum(p.numel() for p in big.parameters())
    cfg = small.config
    if family == "DiskAE":
        want = cfg.n_parameters()
    elif family in ("BetaVAE", "BetaTCVAE"):
        want = sum(n_encoder_parameters(cfg, 2 * q) for q in cfg.packets) + n_decoder_parameters(cfg, 2)
    elif family == "PCAAE":
        want = sum(n_encoder_parameters(cfg, 1) + n_decoder_parameters(cfg, k) for k in (1, 2))
    else:
        want = sum(n_encoder_parameters(cfg, q) for q in cfg.packets) + n_decoder_parameters(cfg, 2)
    assert want == n, "the memory check counts the layout of the padded size"
