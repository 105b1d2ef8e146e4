"""Tests of the PCA-like autoencoder (nets.pca_ae), its baselines (nets.plain_ae, nets.vae)
and their shared architecture (nets.conv_ae): hand-computed covariance losses, freezing of
earlier stages (weights and BatchNorm statistics), the shift-free BatchNorm, ordering of the
stages, the initialisation actually applied, parameter counts, argument checks and input
dtypes. The tests that need the validation package are in test_validation_pca_family.py."""

import ast
import dataclasses
import math
import pathlib

import numpy as np
import pytest
import scipy.stats
import torch

from nets import conv_ae
from nets.conv_ae import ConvAEConfig, n_decoder_parameters, n_encoder_parameters
from nets.pca_ae import (PCAAE, TRUNC_STD, AllConvDecoder, AllConvEncoder, PCAAEConfig, covariance_loss, make_decoder,
                         make_encoder, train_pca_ae)
from nets.plain_ae import PlainAE
from nets.train import TrainConfig, train
from nets.vae import BetaVAE, VAEConfig, gaussian_kl

ATOL_F32 = 1e-6  # float32 sums of a few dozen O(1) numbers
SMALL = PCAAEConfig(size=16, n_stages=3, widths=(4, 8))


def _quick(steps=5, **kw):
    base = dict(steps=steps, batch_size=16, lr=1e-3, threads=1, progress=False, eval_every=0, val_fraction=0.0)
    base.update(kw)
    return TrainConfig(**base)


def _images(n=64, size=16, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, size, size)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# covariance loss (eqs. 14-16)


def test_covariance_loss_hand_computed():
    # zero-mean columns, mean(z1 z2) = (2 + 2 + 9 + 9) / 4 = 5.5 -> 5.5^2
    z = torch.tensor([[1.0, 2.0], [-1.0, -2.0], [3.0, 3.0], [-3.0, -3.0]])
    assert float(covariance_loss(z, 1)) == pytest.approx(30.25, rel=1e-6)
    # orthogonal signs: covariance 0
    z = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
    assert float(covariance_loss(z, 1)) == 0.0
    # non-zero means (eq. 14, not 15): mean(z1 z2) - mean z1 mean z2 = 28/3 - 8 = 4/3
    z = torch.tensor([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    assert float(covariance_loss(z, 1)) == pytest.approx(16.0 / 9.0, rel=1e-6)
    # first stage, single component: nothing to penalise
    assert float(covariance_loss(torch.randn(8, 1), 1)) == 0.0
    # a numpy array is refused for what it is, not for its shape
    with pytest.raises(TypeError, match=r"z must be a torch.Tensor .*ndarray.*from_numpy"):
        covariance_loss(np.ones((4, 2)), 1)
    with pytest.raises(ValueError, match=r"z must be a 2-D tensor .*\(4,\)"):
        covariance_loss(torch.ones(4), 1)


def test_covariance_loss_mean_over_pairs_matches_numpy():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(50, 5, generator=g, dtype=torch.float64)
    z[:, 3] += 0.7 * z[:, 0]
    z[:, 4] -= 0.5 * z[:, 3]
    c = np.cov(z.numpy().T, bias=True)
    # one new component (index 4): the mean over the 4 earlier ones (eq. 16)
    assert float(covariance_loss(z, 1)) == pytest.approx(np.mean(c[:4, 4] ** 2), rel=1e-12)
    # a packet of 2 (indices 3, 4): 3 x 2 earlier-new pairs plus the pair inside the packet
    pairs = [c[i, j] ** 2 for j in (3, 4) for i in range(3)] + [c[3, 4] ** 2]
    assert float(covariance_loss(z, 2)) == pytest.approx(np.mean(pairs), rel=1e-12)


def test_covariance_loss_bad_input():
    with pytest.raises(ValueError, match="n_new"):
        covariance_loss(torch.zeros(4, 2), 3)
    with pytest.raises(ValueError, match="n_new"):
        covariance_loss(torch.zeros(4, 2), 0)
    with pytest.raises(ValueError, match="2-D"):
        covariance_loss(torch.zeros(4), 1)
    with pytest.raises(ValueError, match="at least 2 rows"):
        covariance_loss(torch.zeros(1, 2), 1)
    with pytest.raises(ValueError, match="z needs at least one column"):
        covariance_loss(torch.zeros(4, 0), 1)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool])
def test_covariance_loss_refuses_integer_codes(dtype):
    with pytest.raises(TypeError, match=f"z must be a floating-point tensor .*got dtype {dtype}"):
        covariance_loss(torch.ones(4, 2, dtype=dtype), 1)


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool])
def test_gaussian_kl_and_tc_decomposition_refuse_integer_tensors(dtype):
    from nets import tc_decomposition

    f, bad = torch.zeros(4, 2), torch.zeros(4, 2, dtype=dtype)
    for name in ("mu", "logvar"):
        args = {"mu": f, "logvar": f, name: bad}
        with pytest.raises(TypeError, match=f"{name} must be a floating-point tensor"):
            gaussian_kl(**args)
    for name in ("z", "mu", "logvar"):
        args = {"z": f, "mu": f, "logvar": f, name: bad}
        with pytest.raises(TypeError, match=f"{name} must be a floating-point tensor"):
            tc_decomposition(**args, dataset_size=10)


# --------------------------------------------------------------------------------------------
# BatchNorm without shift, freezing, ordering


def test_batchnorm_has_no_shift_and_centres_the_code():
    m = PCAAE(SMALL, seed=0)
    m.add_stage()
    m.add_stage()
    names = [n for n, _ in m.named_parameters()]
    assert not any(".bn." in n for n in names), f"BatchNorm must have no learnable parameter, got {names}"
    for enc in m.encoders:
        assert enc.bn is not None and enc.bn.affine is False and enc.bn.bias is None
    m.train()
    x = torch.from_numpy(_images(32)) * 3.0 + 1.0
    z_new = m.encoders[-1](x.unsqueeze(1))
    assert z_new.mean().abs().item() < ATOL_F32
    assert z_new.var(unbiased=False).item() == pytest.approx(1.0, abs=1e-3)  # BN eps = 1e-5


def test_earlier_stages_frozen_weights_and_bn_statistics():
    data = _images(64)
    m = PCAAE(SMALL, seed=0)
    m.add_stage()
    train(m, data, _quick(steps=10))
    before_enc = {k: v.clone() for k, v in m.encoders[0].state_dict().items()}
    before_dec = {k: v.clone() for k, v in m.decoders[0].state_dict().items()}
    assert int(before_enc["bn.num_batches_tracked"]) == 10
    m.add_stage()
    m.train()
    assert [e.training for e in m.encoders] == [False, True]
    assert all(not p.requires_grad for p in m.encoders[0].parameters())
    train(m, data, _quick(steps=10, seed=1))
    for k, v in m.encoders[0].state_dict().items():
        assert torch.equal(v, before_enc[k]), f"stage-1 encoder entry {k} changed during stage 2"
    for k, v in m.decoders[0].state_dict().items():
        assert torch.equal(v, before_dec[k]), f"stage-1 decoder entry {k} changed during stage 2"
    assert int(m.encoders[1].bn.num_batches_tracked) == 10
    # the check can fail: putting every module in train mode the naive way (what the public
    # code does) moves the frozen encoder's running statistics on the next forward
    torch.nn.Module.train(m, True)
    m.encode(torch.from_numpy(data[:16]))
    assert not torch.equal(m.encoders[0].bn.running_mean, before_enc["bn.running_mean"])


def test_stage_outputs_are_ordered_and_replayable():
    data = _images(64)
    m = PCAAE(SMALL.replace(packet=2), seed=0)
    m.add_stage()
    train(m, data, _quick(steps=5))
    m.eval()
    x = torch.from_numpy(data[:8])
    with torch.no_grad():
        z1, rec1 = m.encode(x), m(x)
    m.add_stage()
    train(m, data, _quick(steps=5, seed=1))
    m.eval()
    with torch.no_grad():
        z2 = m.encode(x)
        assert z2.shape == (8, 4) and m.latent_dim == 4
        assert torch.equal(z2[:, :2], z1), "stage-1 components must not move in later stages"
        assert torch.equal(m.reconstruct(x, 1), rec1)
        assert torch.equal(m.reconstruct(x, 2), m(x))
    with pytest.raises(ValueError, match="stage"):
        m.reconstruct(x, 3)


def test_same_seed_same_weights_and_stages_differ():
    a, b = PCAAE(SMALL, seed=3), PCAAE(SMALL, seed=3)
    for m in (a, b):
        m.add_stage()
        m.add_stage()
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    assert not torch.equal(a.encoders[0].convs[0].weight, a.encoders[1].convs[0].weight)


# --------------------------------------------------------------------------------------------
# initialisation actually applied (the public code builds a truncated normal and drops it)


def test_kaiming_init_applied():
    m = PCAAE(PCAAEConfig(size=32, n_stages=1, init="kaiming"), seed=0)
    m.add_stage()
    gain = math.sqrt(2.0 / (1 + 0.2**2))
    conv = m.decoders[0].convs[0]  # the widest layer (fan-in 32 * 9)
    fan_in = conv.weight[0].numel()
    std = conv.weight.std().item()
    assert std == pytest.approx(gain / math.sqrt(fan_in), rel=0.1), "He-normal std not found"
    # PyTorch's default draws biases uniformly in +-1/sqrt(fan_in); explicit init zeroes them
    for mod in m.modules():
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
            assert torch.count_nonzero(mod.bias) == 0


def test_trunc_normal_init_applied():
    m = PCAAE(PCAAEConfig(size=32, n_stages=1, init="trunc_normal", output="sigmoid"), seed=0)
    m.add_stage()
    w = torch.cat([p.detach().flatten() for n, p in m.named_parameters() if n.endswith("weight")])
    assert w.abs().max().item() <= 2 * TRUNC_STD + 1e-7
    expected = scipy.stats.truncnorm(-2, 2, scale=TRUNC_STD).std()
    assert w.std().item() == pytest.approx(expected, rel=0.05)


def test_output_layer_starts_at_zero():
    # a linear output layer starts at zero: the decoder starts at the black image for every
    # code, in all three models; under a sigmoid the He-initialised layer is kept
    x = torch.rand(4, 1, 32, 32)
    cfg = PCAAEConfig(size=32, n_stages=2, output="linear")
    m = PCAAE(cfg, seed=0)
    m.add_stage()
    for model in (m, PlainAE(cfg, seed=0), BetaVAE(VAEConfig.of(cfg), seed=0)):
        assert torch.equal(model(x), torch.zeros_like(x)), type(model).__name__
    m = PCAAE(cfg.replace(output="sigmoid"), seed=0)
    m.add_stage()
    assert torch.count_nonzero(m.decoders[0].convs[-1].weight) > 0


def test_default_init_is_pytorch_uniform():
    m = PCAAE(PCAAEConfig(size=32, n_stages=1, init="default"), seed=0)
    m.add_stage()
    conv = m.encoders[0].convs[0]
    bound = 1 / math.sqrt(conv.weight[0].numel())
    assert conv.weight.abs().max().item() <= bound and torch.count_nonzero(conv.bias) > 0


# --------------------------------------------------------------------------------------------
# baselines: same capacity, beta-VAE loss


def _n_params(mods):
    return sum(p.numel() for m in mods for p in m.parameters())


def test_baselines_have_pca_ae_capacity():
    cfg = PCAAEConfig(size=32, n_stages=3)
    pca = PCAAE(cfg, seed=0)
    for _ in range(3):
        pca.add_stage()
    plain = PlainAE(cfg, seed=0)
    assert _n_params(plain.encoders) == _n_params(pca.encoders)
    assert _n_params([plain.decoder]) == _n_params([pca.decoders[-1]])
    vae = BetaVAE(VAEConfig.of(cfg), seed=0)
    head_in = vae.encoders[0].linear.in_features
    # each VAE head outputs (mu, logvar): one extra linear output (+ bias) per component
    assert _n_params(vae.encoders) == _n_params(pca.encoders) + 3 * (head_in + 1)
    assert _n_params([vae.decoder]) == _n_params([pca.decoders[-1]])


def test_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(6, 3, generator=g, dtype=torch.float64)
    logvar = torch.randn(6, 3, generator=g, dtype=torch.float64)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, torch.exp(0.5 * logvar)), torch.distributions.Normal(0.0, 1.0)
    ).sum(1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), ref, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="same"):
        gaussian_kl(mu, logvar[:, :2])


def test_vae_encode_is_the_mean_and_loss_terms():
    vae = BetaVAE(VAEConfig.of(SMALL, beta=2.0), seed=0)
    x = torch.from_numpy(_images(8))
    mu, logvar = vae.encode_stats(x)
    assert torch.equal(vae.encode(x), mu) and torch.equal(vae.encode(x), mu)
    terms = vae.training_loss(x, x)
    assert set(terms) == {"recon", "kl"}
    torch.testing.assert_close(terms["kl"], 2.0 * gaussian_kl(mu, logvar).mean())
    with pytest.raises(ValueError, match="beta"):
        VAEConfig(beta=-1.0)


# --------------------------------------------------------------------------------------------
# bad input


def test_bad_input():
    with pytest.raises(ValueError, match=r"size must be in \[8, 1024\]"):
        PCAAEConfig(size=2000)  # any size in range is taken (24 pads to 32: tests/test_any_size.py)
    with pytest.raises(ValueError, match="size"):
        PCAAEConfig(size=4)
    with pytest.raises(ValueError, match="packet"):
        PCAAEConfig(packet=0)
    with pytest.raises(ValueError, match="widths"):
        PCAAEConfig(size=16, widths=(4,))
    with pytest.raises(ValueError, match="output"):
        PCAAEConfig(output="tanh")
    with pytest.raises(ValueError, match="lam_cov"):
        PCAAEConfig(lam_cov=-1.0)
    with pytest.raises(TypeError, match="config"):
        PCAAE(config="x")
    with pytest.raises(ValueError, match="seed"):
        PCAAE(SMALL, seed=-1)
    m = PCAAE(SMALL.replace(n_stages=1), seed=0)
    with pytest.raises(RuntimeError, match="add_stage"):
        m.encode(torch.zeros(2, 16, 16))
    m.add_stage()
    with pytest.raises(ValueError, match="already built"):
        m.add_stage()
    with pytest.raises(ValueError, match=r"x must have shape"):
        m.encode(torch.zeros(2, 8, 8))
    with pytest.raises(ValueError, match=r"z must have shape"):
        m.decode(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="train_config"):
        train_pca_ae(SMALL, _images(), "fast")
    with pytest.raises(ValueError, match="n_stages"):
        train_pca_ae(SMALL, _images(), [_quick()])


def test_driver_checkpoints_each_stage_and_resumes(tmp_path):
    data = _images(64)
    cfg = SMALL.replace(n_stages=2)
    tc = _quick(steps=4, checkpoint_dir=str(tmp_path))
    m1, h1 = train_pca_ae(cfg, data, tc, seed=0)
    assert (tmp_path / "stage_1" / "last.pt").is_file() and (tmp_path / "stage_2" / "last.pt").is_file()
    m2, h2 = train_pca_ae(cfg, data, tc.replace(resume=True), seed=0)
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items()):
        assert torch.equal(a, b), k
    assert [h.train_loss for h in h1] == [h.train_loss for h in h2]


def test_uneven_packets():
    cfg = SMALL.replace(n_stages=2, packet=(1, 2))
    assert cfg.latent_dim == 3 and cfg.packets == (1, 2)
    m = PCAAE(cfg, seed=0)
    m.add_stage()
    assert m.latent_dim == 1
    m.add_stage()
    x = torch.from_numpy(_images(8))
    m.train()
    z = m.encode(x)
    assert z.shape == (8, 3)
    terms = m.training_loss(x, x)
    # stage 2 adds a packet of two: pairs (0,1), (0,2) and (1,2) inside the packet
    assert terms["cov"].item() == pytest.approx(covariance_loss(z.detach(), 2).item(), rel=1e-6)
    assert PlainAE(cfg).encode(x).shape == (8, 3)
    assert BetaVAE(VAEConfig.of(cfg)).encode(x).shape == (8, 3)
    with pytest.raises(ValueError, match="packet tuple"):
        PCAAEConfig(n_stages=3, packet=(1, 2))


def test_branching_from_a_trained_first_stage():
    data = _images(64)
    one, _ = train_pca_ae(SMALL.replace(n_stages=1), data, _quick(steps=4))
    snapshot = {k: v.clone() for k, v in one.state_dict().items()}
    a, ha = train_pca_ae(SMALL.replace(n_stages=2, lam_cov=0.0), data, _quick(steps=4), start=one)
    b, hb = train_pca_ae(SMALL.replace(n_stages=2, lam_cov=10.0), data, _quick(steps=4), start=one)
    assert len(ha) == len(hb) == 1 and a.stage == b.stage == 2
    for k, v in one.state_dict().items():
        assert torch.equal(v, snapshot[k]), f"start was modified at {k}"
        assert torch.equal(a.state_dict()[k], v) and torch.equal(b.state_dict()[k], v)
    assert a.config.lam_cov == 0.0 and b.config.lam_cov == 10.0
    with pytest.raises(ValueError, match="incompatible"):
        train_pca_ae(SMALL.replace(n_stages=2, widths=(8, 8)), data, _quick(steps=1), start=one)
    with pytest.raises(TypeError, match="start"):
        train_pca_ae(SMALL, data, _quick(steps=1), start="model")


# --------------------------------------------------------------------------------------------
# the reconstruction loss (eq. 17's squared error or the public code's cross-entropy)


def test_bce_reconstruction_loss_against_its_formula():
    from nets.pca_ae import reconstruction_loss

    p = torch.tensor([0.1, 0.5, 0.9, 0.99]).reshape(1, 1, 2, 2)
    t = torch.tensor([0.0, 0.25, 1.0, 1.0 + 1e-7]).reshape(1, 1, 2, 2)  # an ulp over 1 is tolerated
    tt = np.array([0.0, 0.25, 1.0, 1.0])
    pp = np.array([0.1, 0.5, 0.9, 0.99])
    expected = -np.mean(tt * np.log(pp) + (1 - tt) * np.log(1 - pp))
    got = reconstruction_loss(p, t, "bce")
    assert list(got) == ["bce"] and float(got["bce"]) == pytest.approx(expected, rel=1e-6)
    assert float(reconstruction_loss(p, t, "mse")["mse"]) == pytest.approx(np.mean((pp - tt) ** 2), rel=1e-6)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reconstruction_loss(p, t * 2, "bce")
    with pytest.raises(ValueError, match="kind"):
        reconstruction_loss(p, t, "l1")
    with pytest.raises(ValueError, match="output='sigmoid'"):
        PCAAEConfig(recon_loss="bce", output="linear")
    with pytest.raises(ValueError, match="recon_loss"):
        PCAAEConfig(recon_loss="l1")


def test_bce_models_train_on_cross_entropy_and_report_it():
    cfg = SMALL.replace(output="sigmoid", recon_loss="bce", n_stages=1)
    data = _images(64)
    model, hist = train_pca_ae(cfg, data, _quick(steps=3))
    assert "bce" in hist[0].terms and "mse" not in hist[0].terms
    plain = PlainAE(cfg)
    h = train(plain, data, _quick(steps=3))
    assert list(h.terms) == ["bce"]
    x = torch.from_numpy(data[:8])[:, None]
    with torch.no_grad():
        y = plain(x)
    expected = float(torch.nn.functional.binary_cross_entropy(y, x))
    assert float(plain.training_loss(x, x)["bce"].detach()) == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------------------------
# the public notebook's all-convolutional layout (arch="allconv")


def _conv_params(chans, k=4):
    # a conv (or transposed conv) from c_in to c_out channels with a k x k kernel and a bias
    return sum(a * b * k * k + b for a, b in zip(chans[:-1], chans[1:]))


def test_allconv_layout_matches_the_notebook():
    # the notebook (size 64): stage encoder 1 -> 32, 16, 8, 4, 2, 1 channels; the decoder of
    # three components 3 -> 6, 12, 24, 48, 96 -> 1; each layer halves / doubles the side
    cfg = PCAAEConfig(size=64, n_stages=3, arch="allconv", output="sigmoid")
    m = PCAAE(cfg, seed=0)
    for _ in range(3):
        m.add_stage()
    enc, dec = m.encoders[0], m.decoders[2]
    assert [c.out_channels for c in enc.convs] == [32, 16, 8, 4, 2, 1]
    assert [c.out_channels for c in dec.convs] == [6, 12, 24, 48, 96, 1]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) and c.padding == (1, 1) for c in enc.convs)
    assert isinstance(dec.convs[0], torch.nn.ConvTranspose2d)
    assert sum(p.numel() for p in enc.parameters()) == _conv_params([1, 32, 16, 8, 4, 2, 1])
    assert sum(p.numel() for p in dec.parameters()) == _conv_params([3, 6, 12, 24, 48, 96, 1])
    assert enc.bn.affine is False
    x = torch.rand(5, 1, 64, 64)
    m.eval()
    with torch.no_grad():
        h = x
        for conv in enc.convs:
            h = conv(h)
        assert h.shape == (5, 1, 1, 1), "the code must be a 1x1 image"
        assert m(x).shape == (5, 1, 64, 64)
        assert float(m(x).min()) >= 0.0 and float(m(x).max()) <= 1.0
    # baselines: a packet's encoder funnels from 32 p channels; the VAE's outputs 2 p
    assert [c.out_channels for c in PlainAE(cfg.replace(packet=(1, 2), n_stages=2)).encoders[1].convs][0] == 64
    vae = BetaVAE(VAEConfig.of(cfg), seed=0)
    assert vae.encoders[0].convs[-1].out_channels == 2
    with pytest.raises(ValueError, match="widths"):
        PCAAEConfig(arch="allconv", widths=(8, 16, 32, 32))
    with pytest.raises(ValueError, match="arch"):
        PCAAEConfig(arch="resnet")
    with pytest.raises(ValueError, match="size"):
        AllConvEncoder(24, 1, 0.2, zero_mean=True)
    with pytest.raises(ValueError, match="out_dim"):
        AllConvEncoder(16, 0, 0.2, zero_mean=True)
    with pytest.raises(TypeError, match="in_dim"):
        AllConvDecoder(16, 1.5, 0.2, "sigmoid")
    with pytest.raises(ValueError, match="output"):
        AllConvDecoder(16, 2, 0.2, "tanh")
    with pytest.raises(TypeError, match="config"):
        make_encoder("allconv", 1, zero_mean=True)
    with pytest.raises(ValueError, match="out_dim"):
        make_encoder(cfg, 0, zero_mean=True)
    with pytest.raises(TypeError, match="in_dim"):
        make_decoder(cfg, 2.0)


def test_allconv_init_reaches_transposed_convs_and_freezing_holds():
    m = PCAAE(PCAAEConfig(size=16, n_stages=2, arch="allconv", init="trunc_normal", output="sigmoid"), seed=0)
    m.add_stage()
    w = torch.cat([c.weight.detach().flatten() for c in m.decoders[0].convs])
    assert w.abs().max().item() <= 2 * TRUNC_STD + 1e-7  # PyTorch's default would reach 1/sqrt(fan)
    data = _images(64)
    train(m, data, _quick(steps=5))
    before = {k: v.clone() for k, v in m.encoders[0].state_dict().items()}
    m.add_stage()
    hist = train(m, data, _quick(steps=5, seed=1))
    assert "cov" in hist.terms
    for k, v in m.encoders[0].state_dict().items():
        assert torch.equal(v, before[k]), f"stage-1 encoder entry {k} changed during stage 2"


# --------------------------------------------------------------------------------------------
# the shared architecture (nets.conv_ae) and the names nets.pca_ae re-exports


def test_pca_ae_reexports_the_shared_architecture():
    import nets.pca_ae as P

    for name in ("ConvEncoder", "ConvDecoder", "AllConvEncoder", "AllConvDecoder", "make_encoder", "make_decoder",
                 "init_weights", "reconstruction_loss", "INITS", "OUTPUTS", "RECON_LOSSES", "ARCHS", "TRUNC_STD",
                 "ConvAEConfig"):
        assert getattr(P, name) is getattr(conv_ae, name), name
        assert name in P.__all__, name
    assert issubclass(PCAAEConfig, ConvAEConfig) and issubclass(VAEConfig, ConvAEConfig)
    arch_fields = {f.name for f in dataclasses.fields(ConvAEConfig)}
    assert {f.name for f in dataclasses.fields(PCAAEConfig)} - arch_fields == {"lam_cov"}
    assert {f.name for f in dataclasses.fields(VAEConfig)} - arch_fields == {"beta"}


def test_baselines_do_not_import_the_pca_ae_module():
    for mod in ("plain_ae", "vae", "conv_ae"):
        tree = ast.parse(pathlib.Path(conv_ae.__file__).with_name(f"{mod}.py").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not any(m.endswith("pca_ae") for m in imported), (mod, imported)


def test_arch_is_the_layout_name_everywhere():
    # a VAEConfig's arch is the layout string, as in every ConvAEConfig
    vae_cfg = VAEConfig(size=16, n_stages=2, arch="allconv", output="sigmoid", beta=2.0)
    assert vae_cfg.arch == "allconv" and vae_cfg.packets == (1, 1)
    # the architecture passed whole goes through VAEConfig.of; arch itself is only the layout
    cfg = PCAAEConfig(size=16, n_stages=2, packet=(1, 2), widths=(4, 8), lam_cov=3.0)
    a = VAEConfig.of(cfg, beta=2.0)
    assert a.arch == "subpixel" and a.packets == (1, 2) and a.widths == (4, 8) and a.beta == 2.0
    for name in ("arch", "size", "widths", "packet"):
        assert getattr(a, name) == getattr(cfg, name)
    x = torch.from_numpy(_images(4))
    b = VAEConfig(size=16, n_stages=2, packet=(1, 2), widths=(4, 8), beta=2.0)
    assert a == b and torch.equal(BetaVAE(a, seed=1).encode(x), BetaVAE(b, seed=1).encode(x))
    with pytest.raises((ValueError, TypeError), match="arch"):
        VAEConfig(arch=cfg)  # a config is not a layout name
    with pytest.raises(ValueError, match="arch"):
        VAEConfig(arch="resnet")
    with pytest.raises(TypeError, match="config"):
        VAEConfig.of("subpixel")
    with pytest.raises(ValueError, match="beta"):
        VAEConfig(beta=math.inf)
    with pytest.raises(TypeError):
        PCAAEConfig(16)  # keyword arguments only: lam_cov now follows the architecture fields


def test_plain_ae_takes_the_shared_config():
    cfg = ConvAEConfig(size=16, n_stages=2, widths=(4, 8))
    x = torch.from_numpy(_images(4))
    same = PlainAE(PCAAEConfig(size=16, n_stages=2, widths=(4, 8), lam_cov=5.0), seed=2)
    assert torch.equal(PlainAE(cfg, seed=2).encode(x), same.encode(x))
    with pytest.raises(TypeError, match="config"):
        PlainAE(VAEConfig)
    with pytest.raises(TypeError, match="config"):
        PCAAE(cfg)  # a PCAAE needs lam_cov: a PCAAEConfig


@pytest.mark.parametrize("arch", ["subpixel", "allconv"])
@pytest.mark.parametrize("dim", [1, 2, 5])
def test_parameter_counts_match_the_built_blocks(arch, dim):
    cfg = ConvAEConfig(size=32, n_stages=1, arch=arch, output="sigmoid")
    assert n_encoder_parameters(cfg, dim) == sum(p.numel() for p in make_encoder(cfg, dim, zero_mean=True).parameters())
    assert n_decoder_parameters(cfg, dim) == sum(p.numel() for p in make_decoder(cfg, dim).parameters())


@pytest.mark.parametrize("build", [
    lambda cfg, seed: PCAAE(cfg, seed=seed),
    lambda cfg, seed: PlainAE(cfg, seed=seed),
    lambda cfg, seed: BetaVAE(VAEConfig.of(cfg), seed=seed),
])
def test_seed_is_checked_by_every_model(build):
    for bad, err in ((2**64, ValueError), (2**63, ValueError), (-1, ValueError), (True, TypeError),
                     (1.0, TypeError), ("0", TypeError)):
        with pytest.raises(err, match="seed"):
            build(SMALL, bad)


def test_stage_streams_never_meet_across_seeds_or_stages():
    """No stage of one seed draws weights or batches from a stream of another seed or stage
    (``seed + k`` would give seed 0's stage 2 the batches of seed 1's stage 1)."""
    from nets.pca_ae import stage_seed

    seeds = [stage_seed(s, k, role) for s in range(50) for k in range(1, 6) for role in ("init", "train")]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= v <= 2**63 - 1 for v in seeds)
    m = PCAAE(SMALL, seed=2**63 - 1)  # the whole seed range
    for _ in range(SMALL.n_stages):
        m.add_stage()
    for bad, err in ((0, ValueError), (1.0, TypeError), (-3, ValueError)):
        with pytest.raises(err, match="k"):
            stage_seed(0, bad, "init")
    with pytest.raises(ValueError, match="role"):
        stage_seed(0, 1, "bogus")
    a, b = PCAAE(SMALL, seed=0), PCAAE(SMALL, seed=1)
    a.add_stage(), a.add_stage(), b.add_stage()
    assert not torch.equal(a.encoders[1].convs[0].weight, b.encoders[0].convs[0].weight)


def test_train_pca_ae_gives_each_stage_its_named_batch_stream(monkeypatch):
    """One TrainConfig for every stage: stage k trains with the stream stage/k/train of its seed
    (no stage of seed 0 with the batches of a stage of seed 1)."""
    import nets.pca_ae as P
    from geoshape.streams import stream_seed

    seen = []
    monkeypatch.setattr(P, "train", lambda model, data, cfg, val_data=None: seen.append(cfg.seed))
    for seed in (0, 1):
        train_pca_ae(SMALL, _images(), _quick(seed=seed), seed=0)
    assert seen == [stream_seed(s, f"stage/{k}/train") for s in (0, 1) for k in (1, 2, 3)]
    assert len(set(seen)) == 6


@pytest.mark.parametrize("build", [
    lambda cfg: PCAAE(cfg),
    lambda cfg: PlainAE(cfg),
    lambda cfg: BetaVAE(VAEConfig.of(cfg)),
])
def test_huge_widths_are_refused_before_allocating(build):
    cfg = PCAAEConfig(size=16, n_stages=2, widths=(2**40, 8))
    with pytest.raises(ValueError, match=r"config \(size, widths, packet, n_stages\).*bytes.*memory budget"):
        build(cfg)


def test_float64_inputs_are_cast_to_the_model_dtype():
    x32 = torch.from_numpy(_images(6))
    x64 = x32.double()
    pca = PCAAE(SMALL, seed=0)
    pca.add_stage()
    pca.add_stage()
    for m in (pca, PlainAE(SMALL, seed=0), BetaVAE(VAEConfig.of(SMALL), seed=0)):
        m.eval()
        with torch.no_grad():
            z = m.encode(x64)
            assert z.dtype == torch.float32 and torch.equal(z, m.encode(x32)), type(m).__name__
            assert torch.equal(m.decode(z.double()), m.decode(z))
            assert torch.equal(m(x64), m(x32))
            torch.manual_seed(0)
            a = m.training_loss(x64, x64)
            torch.manual_seed(0)
            b = m.training_loss(x32, x32)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        with pytest.raises(TypeError, match="x must be a torch.Tensor"):
            m.encode(x32.numpy())
        with pytest.raises(TypeError, match="z must be a torch.Tensor"):
            m.decode(z.numpy())
        with pytest.raises(TypeError, match="x must be a floating-point tensor"):
            m.encode(x32.to(torch.int64))
        with pytest.raises(TypeError, match="x_target"):
            m.training_loss(x32, x32.numpy())


def test_a_converted_pca_ae_builds_its_next_stage_in_its_dtype():
    m = PCAAE(SMALL, seed=0)
    m.add_stage()
    m.double()
    m.add_stage()
    assert {p.dtype for p in m.parameters()} == {torch.float64}
    assert m.encode(torch.from_numpy(_images(4))).dtype == torch.float64


def test_shared_config_checks_name_the_field():
    for kwargs, err, match in [
        (dict(size=16.0), TypeError, "size"),
        (dict(n_stages=0), ValueError, "n_stages"),
        (dict(n_stages=2, packet=(1, 0)), ValueError, r"packet\[1\]"),
        (dict(packet=1.5), TypeError, "packet"),
        (dict(size=16, widths=(4, True)), ValueError, "widths"),
        (dict(leaky_slope=math.nan), ValueError, "leaky_slope"),
        (dict(leaky_slope=1.0), ValueError, "leaky_slope"),
        (dict(bn_momentum=0.0), ValueError, "bn_momentum"),
        (dict(init="xavier"), ValueError, "init"),
        (dict(lam_cov=math.inf), ValueError, "lam_cov"),
        (dict(lam_cov="1"), TypeError, "lam_cov"),
    ]:
        with pytest.raises(err, match=match):
            PCAAEConfig(**kwargs)
    cfg = PCAAEConfig(n_stages=np.int64(2), packet=[1, 2], leaky_slope=0)
    assert type(cfg.n_stages) is int and cfg.packet == (1, 2) and type(cfg.leaky_slope) is float
    with pytest.raises(TypeError, match="n_new"):
        covariance_loss(torch.zeros(4, 2), 1.0)
    with pytest.raises(ValueError, match="same shape"):
        conv_ae.reconstruction_loss(torch.zeros(2, 1, 4, 4), torch.zeros(2, 4, 4), "mse")
    with pytest.raises(TypeError, match="stage"):
        m = PCAAE(SMALL)
        m.add_stage()
        m.reconstruct(torch.zeros(2, 16, 16), 1.0)



# --------------------------------------------------------------------------- beta-TCVAE
def _tc_reference(z, mu, logvar, n_data):
    """Chen et al.'s minibatch-weighted sampling, written with scipy.stats / scipy.special."""
    from scipy.special import logsumexp
    from scipy.stats import norm

    m = z.shape[0]
    sd = np.exp(0.5 * logvar)
    pair = norm.logpdf(z[:, None, :], loc=mu[None, :, :], scale=sd[None, :, :])  # (i, j, d)
    log_qz = logsumexp(pair.sum(2), axis=1) - math.log(n_data * m)
    log_prod = (logsumexp(pair, axis=1) - math.log(n_data * m)).sum(1)
    log_qzx = norm.logpdf(z, loc=mu, scale=sd).sum(1)
    log_pz = norm.logpdf(z).sum(1)
    return {"mi": np.mean(log_qzx - log_qz), "tc": np.mean(log_qz - log_prod), "dwkl": np.mean(log_prod - log_pz)}


def test_tc_decomposition_matches_scipy_on_a_hand_batch():
    from nets import tc_decomposition

    z = np.array([[0.3, -1.2], [1.5, 0.4], [-0.7, 0.9]])
    mu = np.array([[0.1, -1.0], [1.2, 0.5], [-0.5, 1.1]])
    logvar = np.array([[-1.0, -0.5], [0.2, -2.0], [-0.3, 0.1]])
    got = tc_decomposition(*(torch.tensor(a) for a in (z, mu, logvar)), dataset_size=50)
    ref = _tc_reference(z, mu, logvar, 50)
    for k in ("mi", "tc", "dwkl"):
        assert float(got[k]) == pytest.approx(ref[k], rel=1e-12, abs=1e-12), k
    # the three parts add up to the sampled KL, log q(z|x) - log p(z), whatever N is
    from scipy.stats import norm

    kl = np.mean(norm.logpdf(z, mu, np.exp(0.5 * logvar)).sum(1) - norm.logpdf(z).sum(1))
    assert sum(float(v) for v in got.values()) == pytest.approx(kl, rel=1e-12)


def test_tc_decomposition_of_a_batch_of_one():
    from nets import tc_decomposition

    # one sample from a set of N = 1: q(z) and prod_d q(z_d) are the same Gaussian, TC = 0;
    # with N = 7, log q(z) = log q(z|x) - log 7, so MI = log 7 and TC = (d - 1) log 7
    z, mu, lv = (torch.tensor(v, dtype=torch.float64) for v in ([[0.4, -0.3]], [[0.1, 0.2]], [[0.0, -1.0]]))
    assert float(tc_decomposition(z, mu, lv, 1)["tc"]) == pytest.approx(0.0, abs=1e-15)
    parts = tc_decomposition(z, mu, lv, 7)
    assert float(parts["mi"]) == pytest.approx(math.log(7), rel=1e-12)
    assert float(parts["tc"]) == pytest.approx(math.log(7), rel=1e-12)


def test_tcvae_loss_terms_weighted_and_checked():
    from nets import BetaTCVAE, TCVAEConfig

    cfg = TCVAEConfig(size=16, n_stages=2, beta=6.0, alpha=0.5, gamma=2.0, dataset_size=40)
    vae = BetaTCVAE(cfg, seed=0)
    x = torch.rand(8, 1, 16, 16)
    torch.manual_seed(3)
    terms = {k: v.detach() for k, v in vae.training_loss(x, x).items()}
    torch.manual_seed(3)
    mu, logvar = vae.encode_stats(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    ref = _tc_reference(*(t.detach().double().numpy() for t in (z, mu, logvar)), 40)
    assert float(terms["tc"]) == pytest.approx(6.0 * ref["tc"], rel=1e-4)
    assert float(terms["mi"]) == pytest.approx(0.5 * ref["mi"], rel=1e-4)
    assert float(terms["dwkl"]) == pytest.approx(2.0 * ref["dwkl"], rel=1e-4)
    with pytest.raises(ValueError, match="dataset_size"):
        vae.training_loss(torch.rand(50, 1, 16, 16), torch.rand(50, 1, 16, 16))
    with pytest.raises(ValueError, match="beta"):
        TCVAEConfig(beta=-1.0)
    with pytest.raises(ValueError, match="dataset_size"):
        TCVAEConfig(dataset_size=0)
    with pytest.raises(TypeError, match="TCVAEConfig"):
        BetaTCVAE(VAEConfig(size=16, n_stages=2), seed=0)
    with pytest.raises(ValueError, match="dataset_size"):
        from nets import tc_decomposition

        tc_decomposition(z, mu, logvar, 3)
