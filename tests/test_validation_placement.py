"""validation.position_placement and nets.PlacementDecoder: splits, metrics against closed
forms, and the quick run end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoshape
import nets
from validation import position_placement as pp

#: Point-sampled blurred disks (sigma = 1) are symmetric about their centre up to aliasing,
#: whose share at sigma = 1 is below 1e-6 of a pixel (measured 2e-8).
CENTROID_TOL_PX = 1e-4


def _cfg(**kw):
    return pp.Config(**{"out": "/tmp/unused", **kw})


def test_uniform_mask_holds_out_the_stated_share_of_cells():
    cfg = _cfg()
    mask = pp.held_out_mask("uniform", cfg, np.random.default_rng(0))
    m = int(np.ceil(cfg.size - 1 - 2 * cfg.margin))
    assert mask.shape == (m, m)
    assert mask.sum() == round(0.25 * m * m)
    other = pp.held_out_mask("uniform", cfg, np.random.default_rng(1))
    assert (mask != other).any()


def test_quadrant_mask_is_the_bottom_right_quadrant():
    cfg = _cfg()
    mask = pp.held_out_mask("quadrant", cfg)
    lo = cfg.margin
    centres = lo + np.arange(mask.shape[0]) + 0.5
    mid = (cfg.size - 1) / 2
    for i, y in enumerate(centres):
        for j, x in enumerate(centres):
            assert mask[i, j] == (x > mid and y > mid)


@given(seed=st.integers(0, 2**32 - 1), held=st.booleans())
@settings(max_examples=20, deadline=None)
def test_sampled_positions_fall_in_the_requested_region(seed, held):
    cfg = _cfg(size=32, margin=5.0, radius=1.0, widths=(8, 8))
    rng = np.random.default_rng(seed)
    mask = pp.held_out_mask("uniform", cfg, rng)
    pos = pp.sample_positions(200, mask, cfg, rng, held_out=held)
    lo, hi = cfg.margin, cfg.size - 1 - cfg.margin
    assert pos.shape == (200, 2) and np.all((pos >= lo) & (pos <= hi))
    # An independent reading of the mask: the cell is the integer part of (position - lo).
    cells = np.floor(pos - lo).astype(int)
    assert np.all(mask[cells[:, 1], cells[:, 0]] == held)


@given(x=st.floats(10, 50), y=st.floats(10, 50))
@settings(max_examples=25, deadline=None)
def test_centroid_of_a_blurred_disk_is_its_centre(x, y):
    img = geoshape.disks(4.0, (x, y), size=64, sigma=1.0)
    c = pp.centroids(img.astype(np.float64))[0]
    assert np.abs(c - (x, y)).max() < CENTROID_TOL_PX, (c, x, y)
    c_t = nets.placement_decoder.image_centroid(torch.tensor(img[:, None], dtype=torch.float64))[0].numpy()
    assert np.abs(c_t - (x, y)).max() < CENTROID_TOL_PX


class _Renderer(torch.nn.Module):
    """A decoder that draws the exact blurred disk at the position (optionally rounded)."""

    def __init__(self, rounded: bool):
        super().__init__()
        self.rounded = rounded

    def decode(self, z):
        p = z.numpy().astype(np.float64)
        if self.rounded:
            p = np.round(p)
        return torch.tensor(geoshape.disks(4.0, p, size=64, sigma=1.0))[:, None]


def test_eqt_separates_an_equivariant_renderer_from_one_on_the_integer_grid():
    rng = np.random.default_rng(3)
    pos = rng.uniform(16, 47, size=(32, 2))
    shifts = rng.uniform(-2, 2, size=(32, 2))
    exact = pp.eqt_psnr(_Renderer(False), pos, shifts, peak=1.0)
    rounded = pp.eqt_psnr(_Renderer(True), pos, shifts, peak=1.0)
    # The blurred disk is nearly band-limited (the Gaussian of sigma = 1 keeps 0.7 % of its
    # amplitude at the Nyquist frequency, the disk's own spectrum less): measured 94.5 dB.
    # Rounding to the grid moves the object by up to 0.7 px; over a 64 x 64 canvas that is
    # mostly background, measured 36.5 dB.
    assert exact > 80, exact
    assert rounded < 45, rounded


def test_placement_decoder_shapes_padding_and_coords():
    z = torch.tensor([[3.0, 60.0], [31.5, 31.5]])
    for padding in ("zeros", "circular"):
        for coords in (False, True):
            dec = nets.PlacementDecoder(nets.PlacementDecoderConfig(padding=padding, coords=coords), seed=0)
            assert dec.decode(z).shape == (2, 1, 64, 64)
            assert [h.shape[-1] for h in dec.layer_outputs(z)] == [4, 8, 16, 32, 64]


def test_circular_decoder_is_equivariant_to_whole_coarse_shifts_of_its_maps():
    # With circular padding and the same weights, rolling the start map by one cell rolls the
    # output by 2^(L) = 16 pixels: no layer knows where the border is.
    dec = nets.PlacementDecoder(nets.PlacementDecoderConfig(padding="circular"), seed=1)
    h0 = dec.layer_outputs(torch.tensor([[20.0, 30.0]]))[0]

    def run(h):
        for conv in dec.blocks:
            h = torch.nn.functional.leaky_relu(dec._up(conv, h), 0.01)
        return dec.out(h)

    with torch.no_grad():
        a = run(torch.roll(h0, shifts=(1, 2), dims=(-2, -1)))
        b = torch.roll(run(h0), shifts=(16, 32), dims=(-2, -1))
    assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("kw, err", [
    ({"radius": 9.0}, ValueError), ({"margin": 4.0}, ValueError), ({"size": 48}, ValueError),
    ({"splits": ("left",)}, ValueError), ({"shift_max": 0.0}, ValueError), ({"steps": 1.5}, TypeError),
])
def test_bad_config_is_refused(kw, err):
    with pytest.raises(err):
        _cfg(**kw)


def test_bad_decoder_config_is_refused():
    with pytest.raises(ValueError, match="padding"):
        nets.PlacementDecoderConfig(padding="reflect")
    with pytest.raises(ValueError, match="widths"):
        nets.PlacementDecoderConfig(size=16, widths=(4, 4, 4))
    with pytest.raises(ValueError, match="size"):
        nets.PlacementDecoderConfig(size=48)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("position_placement")
    res = pp.main(pp.Config.quick(out=str(out)))
    return out, res


def test_quick_run_writes_every_output_and_the_construction_is_exact(quick):
    out, res = quick
    for name in ("config.json", "metrics.json", "weights.pt", "placement.npz", "placement_error_maps.png",
                 "placement_layers.png"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert set(m) == set(res.metrics)
    for split in res.config.splits:
        # The construction places the object to float precision on every region.
        assert m[f"{split}.constructed.centroid_error_held_out_px"] < 1e-3
        assert m[f"{split}.constructed.centroid_error_seen_px"] < 1e-3
        for v in pp.TRAINED:
            n_layers = int(np.log2(res.config.size)) - 1
            for l in range(n_layers):
                assert -1.0 <= m[f"{split}.{v}.dirac_corr_l{l}"] <= 1.0
                assert m[f"{split}.{v}.probe_r2_l{l}"] <= 1.0
            assert np.isfinite(m[f"{split}.{v}.eqt_db"])
    rec = json.loads((out / "config.json").read_text())
    assert rec["config"]["experiment"] == "position_placement"
    assert len(rec["trainings"]) == len(pp.TRAINED) * len(res.config.splits)
