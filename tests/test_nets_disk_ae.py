"""DiskAE: shapes, dtypes, architecture, positive homogeneity without bias (talk eq. 2),
argument checks, the memory check, and the training recipes (PRESETS)."""

import dataclasses
import math
import pathlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nets import DiskAE, DiskAEConfig, PRESETS, Preset, TrainConfig
from nets.disk_ae import SUBSAMPLING, UPSAMPLING

# float64 nets: homogeneity holds exactly in real arithmetic, so only rounding (~1e-16
# per op, a few dozen ops deep) separates D(lam z) from lam D(z).
RTOL_HOMOGENEOUS = 1e-10
# With biases D(0) != 0 and D(2z) != 2 D(z) by O(1) of the output scale; 1e-3 is far above
# rounding and far below what PyTorch's default bias init produces.
MIN_BIAS_VIOLATION = 1e-3


@pytest.mark.parametrize("subsampling", SUBSAMPLING)
@pytest.mark.parametrize("upsampling", UPSAMPLING)
def test_shapes_and_dtypes(subsampling, upsampling):
    cfg = DiskAEConfig(size=16, latent_dim=2, widths=(3, 4, 5, 6), subsampling=subsampling, upsampling=upsampling)
    ae = DiskAE(cfg, seed=1)
    x = torch.rand(5, 1, 16, 16)
    z = ae.encode(x)
    assert z.shape == (5, 2) and z.dtype == torch.float32
    y = ae.decode(z)
    assert y.shape == (5, 1, 16, 16) and y.dtype == torch.float32
    assert torch.equal(ae(x), y)
    # (n, s, s) is accepted as well as (n, 1, s, s)
    assert torch.equal(ae.encode(x[:, 0]), z)


def test_default_architecture_matches_the_talk():
    ae = DiskAE()
    cfg = ae.config
    assert cfg.size == 64 and cfg.latent_dim == 1 and cfg.leaky_slope == 0.2 and cfg.bias
    w = ae.layer_weights()
    enc_convs = [k for k in w if k.startswith("encoder.blocks") and k.endswith("conv.weight")]
    dec_convs = [k for k in w if k.startswith("decoder.blocks") and k.endswith("conv.weight")]
    assert len(enc_convs) == len(dec_convs) == 6  # log2(64) blocks each way
    assert all(w[k].shape[-2:] == (3, 3) for k in enc_convs + dec_convs)
    widths = cfg.channel_widths
    assert [w[k].shape[0] for k in enc_convs] == list(widths)
    assert [w[k].shape[0] for k in dec_convs] == list(widths[-2::-1]) + [1]
    assert w["encoder.latent.weight"].shape == (1, widths[-1])


def test_last_decoder_layer_is_linear_and_output_can_be_negative():
    ae = DiskAE(DiskAEConfig(size=16, widths=(4, 4, 4, 4)), seed=0)
    with torch.no_grad():
        y = ae.decode(torch.linspace(-3, 3, 64)[:, None])
    assert y.min() < 0 < y.max()


def test_same_seed_same_weights_and_global_rng_untouched():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a, b = DiskAE(seed=7), DiskAE(seed=7)
    after = torch.rand(3)
    assert torch.equal(before, after)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    c = DiskAE(seed=8)
    assert not torch.equal(a.state_dict()["encoder.latent.weight"], c.state_dict()["encoder.latent.weight"])


@settings(max_examples=25, deadline=None)
@given(
    widths=st.lists(st.integers(1, 6), min_size=3, max_size=3),
    subsampling=st.sampled_from(SUBSAMPLING),
    upsampling=st.sampled_from(UPSAMPLING),
    slope=st.sampled_from([0.0, 0.05, 0.2]),
    d=st.integers(1, 3),
    lam=st.floats(0.0, 50.0),
    seed=st.integers(0, 1000),
)
def test_decoder_without_bias_is_positively_homogeneous(widths, subsampling, upsampling, slope, d, lam, seed):
    cfg = DiskAEConfig(size=8, latent_dim=d, widths=tuple(widths), leaky_slope=slope, subsampling=subsampling,
                       upsampling=upsampling, bias=False)
    ae = DiskAE(cfg, seed=seed).double()
    z = torch.randn(4, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        lhs, rhs = ae.decode(lam * z), lam * ae.decode(z)
        scale = max(float(rhs.abs().max()), float(ae.decode(z).abs().max()), 1e-300)
        err = float((lhs - rhs).abs().max())
        assert err <= RTOL_HOMOGENEOUS * max(scale, lam * scale), f"worst |D(lam z) - lam D(z)| = {err:.3e}"
        # the encoder has the same property, E(lam x) = lam E(x)
        x = torch.rand(3, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
        ez = ae.encode(x)
        assert torch.allclose(ae.encode(lam * x), lam * ez, rtol=RTOL_HOMOGENEOUS, atol=RTOL_HOMOGENEOUS * float(ez.abs().max()) * (1 + lam))


@pytest.mark.parametrize("upsampling", UPSAMPLING)
def test_decoder_with_bias_is_not_homogeneous(upsampling):
    ae = DiskAE(DiskAEConfig(size=16, widths=(4, 4, 4, 4), upsampling=upsampling, bias=True), seed=0).double()
    z = torch.tensor([[0.7], [-1.3]], dtype=torch.float64)
    with torch.no_grad():
        y1, y2, y0 = ae.decode(z), ae.decode(2 * z), ae.decode(0 * z)
    scale = float(y1.abs().max())
    assert float((y2 - 2 * y1).abs().max()) > MIN_BIAS_VIOLATION * scale
    assert float(y0.abs().max()) > MIN_BIAS_VIOLATION * scale  # D(0) != 0


def test_profile_gives_both_rays_of_the_bias_free_decoder():
    ae = DiskAE(DiskAEConfig(size=16, widths=(3, 4, 4, 5), bias=False), seed=3).double()
    f_plus, f_minus = ae.profile(1.0), ae.profile(-1.0)
    assert f_plus.shape == (16, 16)
    with torch.no_grad():
        for z in (0.3, 2.5, -0.4, -7.0):
            f = f_plus if z > 0 else f_minus
            y = ae.decode(torch.tensor([[z]], dtype=torch.float64))[0, 0]
            assert torch.allclose(y, abs(z) * f, rtol=RTOL_HOMOGENEOUS, atol=1e-12)


def test_profile_restores_training_mode():
    ae = DiskAE(DiskAEConfig(size=8, widths=(2, 2, 2)))
    ae.train()
    ae.profile(1.0)
    assert ae.training


def test_layer_weights_are_copies():
    ae = DiskAE(DiskAEConfig(size=8, widths=(2, 2, 2)))
    w = ae.layer_weights()
    w["encoder.latent.weight"].fill_(99.0)
    assert not torch.any(ae.encoder["latent"].weight == 99.0)
    assert set(w) == set(dict(ae.named_parameters()))


def test_bias_false_has_no_bias_parameters():
    ae = DiskAE(DiskAEConfig(size=16, widths=(2, 2, 2, 2), bias=False))
    assert not any(k.endswith("bias") for k in ae.layer_weights())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(size=2000), "size"),  # 48 is taken, padded to 64 (tests/test_any_size.py)
        (dict(size=2), "size"),
        (dict(latent_dim=0), "latent_dim"),
        (dict(widths=(8, 8)), "widths"),
        (dict(widths=(8, 8, 8, 8, 8, 0)), "widths"),
        (dict(leaky_slope=1.0), "leaky_slope"),
        (dict(leaky_slope=-0.1), "leaky_slope"),
        (dict(subsampling="max"), "subsampling"),
        (dict(upsampling="cubic"), "upsampling"),
        (dict(init="xavier"), "init"),
    ],
)
def test_bad_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DiskAEConfig(**kwargs)


def test_bad_inputs_raise():
    ae = DiskAE(DiskAEConfig(size=8, widths=(2, 2, 2)))
    with pytest.raises(ValueError, match="x must have shape"):
        ae.encode(torch.zeros(2, 1, 16, 16))
    with pytest.raises(ValueError, match="z must have shape"):
        ae.decode(torch.zeros(2, 3))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        ae.encode(np.zeros((2, 8, 8), np.float32))
    with pytest.raises(ValueError, match="z must be a finite"):
        ae.profile(math.nan)
    with pytest.raises(ValueError, match="seed"):
        DiskAE(seed=-1)
    with pytest.raises(TypeError, match="config"):
        DiskAE({"size": 64})


def test_presets_are_valid():
    assert {"bias", "bias_free"} <= set(PRESETS)
    for name, p in PRESETS.items():
        assert isinstance(p["model"], DiskAEConfig), name
        TrainConfig(**p["train"])  # validates


def test_presets_are_frozen_and_keep_the_dict_access():
    bias = PRESETS["bias"]
    assert isinstance(bias, Preset) and bias.name == "bias"
    assert bias["model"] is bias.model and bias["budget_s"] == bias.budget_s == bias.get("budget_s", 0.0)
    assert bias.get("missing", 7) == 7
    assert bias["train"] == {"steps": 5000, "batch_size": 64, "lr": 4e-3, "lr_schedule": "cosine",
                             "min_lr_ratio": 0.01, "warmup_steps": 100, "eval_every": 100, "threads": 1}
    assert bias.train_config() == TrainConfig(**bias["train"])
    assert bias.train_config(steps=3).steps == 3
    # the train dict is a fresh copy: changing it changes nothing
    bias["train"]["steps"] = 1
    assert bias.steps == bias["train"]["steps"] == 5000
    with pytest.raises(dataclasses.FrozenInstanceError):
        bias.steps = 1
    with pytest.raises(TypeError):
        PRESETS["mine"] = bias  # the mapping is read-only
    with pytest.raises(KeyError, match="docs/presets.md"):
        bias["result"]  # measured results are documentation, not code
    docs = pathlib.Path(__file__).resolve().parents[1] / "docs" / "presets.md"
    text = docs.read_text()
    assert all(f"`{name}`" in text for name in PRESETS)
    with pytest.raises(TypeError, match="model"):
        Preset(name="x", model={}, steps=1, batch_size=1, lr=1e-3, lr_schedule="constant", min_lr_ratio=0.0,
               eval_every=1, threads=1)
    with pytest.raises(ValueError, match="lr_schedule"):
        Preset(name="x", model=DiskAEConfig(), steps=1, batch_size=1, lr=1e-3, lr_schedule="steep",
               min_lr_ratio=0.0, eval_every=1, threads=1)


def test_float64_inputs_are_cast_to_the_model_dtype():
    ae = DiskAE(DiskAEConfig(size=8, widths=(2, 3, 4), latent_dim=2), seed=0)
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        z = ae.encode(x)
        assert z.dtype == torch.float32 and torch.equal(z, ae.encode(x.float()))
        assert torch.equal(ae.decode(z.double()), ae.decode(z))
        assert torch.equal(ae(torch.from_numpy(x.numpy())), ae(x.float()))  # what torch.from_numpy gives
        # a converted model keeps its own dtype
        assert ae.double().encode(x.float()).dtype == torch.float64
    with pytest.raises(TypeError, match="z must be a torch.Tensor"):
        ae.decode(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        ae.encode(torch.zeros(2, 8, 8, dtype=torch.int32))
    with pytest.raises(TypeError, match="z must be a floating-point tensor"):
        ae.decode(torch.zeros(2, 2, dtype=torch.bool))


@pytest.mark.parametrize("seed, err", [(2**64, ValueError), (2**63, ValueError), (-1, ValueError),
                                       (True, TypeError), (1.0, TypeError), (None, TypeError)])
def test_bad_seeds_name_the_seed(seed, err):
    with pytest.raises(err, match="seed"):
        DiskAE(DiskAEConfig(size=8, widths=(2, 2, 2)), seed=seed)


def test_largest_seed_is_accepted():
    DiskAE(DiskAEConfig(size=8, widths=(2, 2, 2)), seed=2**63 - 1)


@pytest.mark.parametrize("upsampling", UPSAMPLING)
@pytest.mark.parametrize("bias", [True, False])
def test_parameter_count_matches_the_model(upsampling, bias):
    cfg = DiskAEConfig(size=16, latent_dim=3, widths=(2, 3, 5, 7), upsampling=upsampling, bias=bias)
    assert cfg.n_parameters() == sum(p.numel() for p in DiskAE(cfg).parameters())


def test_huge_widths_are_refused_before_allocating():
    cfg = DiskAEConfig(size=8, widths=(2**40, 2, 2))
    with pytest.raises(ValueError, match=r"widths.*would need .*TiB.*bytes"):
        DiskAE(cfg)


@pytest.mark.parametrize("kwargs, match", [
    (dict(size=16.0), "size"),
    (dict(latent_dim=1.0), "latent_dim"),
    (dict(leaky_slope="0.2"), "leaky_slope"),
    (dict(bias="yes"), "bias"),
    (dict(bias=1), "bias"),
])
def test_wrong_kinds_raise_type_error(kwargs, match):
    with pytest.raises(TypeError, match=match):
        DiskAEConfig(**kwargs)


def test_profile_of_a_non_number():
    ae = DiskAE(DiskAEConfig(size=8, widths=(2, 2, 2)))
    with pytest.raises(TypeError, match="z must be a finite real number"):
        ae.profile("1")
    with pytest.raises(ValueError, match="z must be a finite real number"):
        ae.profile(math.inf)

