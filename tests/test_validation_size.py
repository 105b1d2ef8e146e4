"""The size experiments (validation.disk_encoder, bias_ablation, interpolation): each quick run
once into a temporary folder, its metrics held against the claims they measure.

Tolerances come from measured quick runs (seed 0, 2-core machine), stated beside each; the
bias-free floors are theorems (float32 outputs against float64 minima: FLOOR_RTOL).
Whole file: three quick runs, about 2 minutes on 2 idle cores.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from validation import bias_ablation, disk_encoder, interpolation
from validation.bias_ablation import FLOOR_RTOL

# Quick disk_encoder measured R^2(z ~ r^2) = 0.996 and 0.9996 (2 seeds x 400 steps; 0.9962
# and 0.9995 at 500 steps), R^2(z ~ r) = 0.964 and 0.932, |corr(z, pixel sum)| >= 0.998.
R2_AREA_MIN = 0.98
CORR_PIXEL_SUM_MIN = 0.99
# Quick interpolation (200 steps) measured MSE on seen radii 0.005-0.006 for every variant,
# from 0.05-0.08 after the first 40 steps: the nets trained.
MSE_SEEN_MAX = 0.02
# interpolation --quick, seed 0: every variant's z(r) measured monotone (fraction 1.0, largest
# reversal 0); a few steps against the trend (2 of 100 radii) or a reversal of 2 % of the range
# of z is the margin before the finding would change.
QUICK_MONOTONE_MIN = 0.98
QUICK_REVERSAL_MAX = 0.02
# Over the quick runs of seeds 0-5 (``python -m validation.runners.sweep interpolation --quick --seeds
# 0:6``, 200 steps) the encoder-weight-decay net of seed 0 ends with a constant code (MSE on seen
# radii 0.132, every other net 0.003-0.016), and on seed 2 the unregularised and denoising nets
# reverse (largest reversal 0.37 and 0.26 of z's range; latent l2 0.021); the other 21 nets are
# monotone. The seed-0 quick run's exception is pinned so that a change in it is seen.
KNOWN_DEAD_QUICK = {"encoder_l2"}
# Quick bias_ablation: with biases 0.0028 against a rank-1 floor of 0.047.
WITH_BIAS_OVER_FLOOR_MAX = 0.2


def _run(module, tmp_path_factory, name):
    out = tmp_path_factory.mktemp(name)
    cfg = dataclasses.replace(module.Config.quick(), out=str(out))
    return module.main(cfg)


@pytest.fixture(scope="module")
def encoder_result(tmp_path_factory):
    return _run(disk_encoder, tmp_path_factory, "disk_encoder")


@pytest.fixture(scope="module")
def ablation_result(tmp_path_factory):
    return _run(bias_ablation, tmp_path_factory, "bias_ablation")


@pytest.fixture(scope="module")
def interpolation_result(tmp_path_factory):
    return _run(interpolation, tmp_path_factory, "interpolation")


def _check_outputs(result, files):
    for f in ("config.json", "metrics.json", "weights.pt", *files):
        assert (result.out / f).is_file(), f"missing {f} in {result.out}"
    saved = json.loads((result.out / "metrics.json").read_text())
    assert saved and all(isinstance(k, str) and isinstance(v, (int, float)) for k, v in saved.items()), \
        "metrics.json must be a flat {name: number} dict"
    for k, v in result.metrics.items():
        assert math.isclose(saved[k], float(v), rel_tol=0, abs_tol=0) or (math.isnan(v) and saved[k] is None), k


# ----------------------------------------------------------------------------- disk_encoder
def test_encoder_outputs(encoder_result):
    _check_outputs(encoder_result, ("encoder.npz", "latent_vs_radius.png", "latent_vs_pixel_sum.png",
                                    "encoder_gradient.png"))


# The claim does not hold for every short training. Over the quick runs of seeds 0-5 (12 nets
# of 400 steps, ``python -m validation.runners.sweep disk_encoder --quick --seeds 0:6``) one net, seed
# 0's replicate 0, follows the radius better than the area: R^2(z ~ r^2) 0.976 against
# R^2(z ~ r) 0.990, |corr(z, pixel sum)| 0.988; the other 11 meet every bound below. With
# 600 steps another one does (seed 5, replicate 1: 0.933 vs 0.996). The full run of seed 0
# (2000 steps) meets them on both replicates (0.991 and 0.998 vs 0.955 and 0.924). The seed-0
# quick run's exception is pinned here, so a change in it is seen, not absorbed.
KNOWN_QUICK_EXCEPTIONS = {"rep0"}


def test_encoder_latent_is_affine_in_area(encoder_result):
    m = encoder_result.metrics
    seeds = [f"rep{k}" for k in range(encoder_result.config.replicates)]
    for s in sorted(KNOWN_QUICK_EXCEPTIONS):
        assert m[f"r2_z_area_{s}"] < m[f"r2_z_radius_{s}"], (
            f"{s} is documented as following the radius better than the area, and no longer does: "
            f"R^2 vs r^2 {m[f'r2_z_area_{s}']:.4f}, vs r {m[f'r2_z_radius_{s}']:.4f}; update the finding")
    for s in (s for s in seeds if s not in KNOWN_QUICK_EXCEPTIONS):
        assert m[f"r2_z_area_{s}"] >= R2_AREA_MIN, f"seed {s}: R^2(z ~ r^2) = {m[f'r2_z_area_{s}']:.4f}"
        # the talk's point: area (an average of the image), not radius, is what z follows
        assert m[f"r2_z_area_{s}"] > m[f"r2_z_radius_{s}"], (
            f"seed {s}: R^2 vs r^2 {m[f'r2_z_area_{s}']:.4f} <= R^2 vs r {m[f'r2_z_radius_{s}']:.4f}")
        assert m[f"corr_z_pixel_sum_{s}"] >= CORR_PIXEL_SUM_MIN, f"seed {s}: {m[f'corr_z_pixel_sum_{s}']:.4f}"
    assert len(seeds) - len(KNOWN_QUICK_EXCEPTIONS) >= 1
    # Independent check of the stored curve: refit z ~ a r^2 + b with numpy.
    d = np.load(encoder_result.out / "encoder.npz")
    z, r = d["z"][0], d["radius"]
    resid = z - np.polyval(np.polyfit(r ** 2, z, 1), r ** 2)
    r2 = 1 - resid @ resid / np.sum((z - z.mean()) ** 2)
    assert math.isclose(r2, m["r2_z_area_rep0"], rel_tol=1e-9)


def test_max_reversal_known_answers():
    r = np.arange(5.0)
    assert disk_encoder.max_reversal(r ** 2, r) == 0.0
    assert disk_encoder.max_reversal(-r, r) == 0.0
    # up to 1, back to 0.5, up to 2: a drop of 0.5 over a range of 2
    assert disk_encoder.max_reversal(np.array([0.0, 1.0, 0.5, 2.0]), np.arange(4.0)) == 0.25
    # order of r, not of the arrays, decides
    assert disk_encoder.max_reversal(np.array([2.0, 0.5, 1.0, 0.0]), np.arange(4.0)[::-1]) == 0.25


@pytest.mark.parametrize("z, r", [([1.0, 1.0], [0.0, 1.0]), ([1.0], [0.0]), ([1.0, 2.0], [0.0, 1.0, 2.0])])
def test_max_reversal_bad_input(z, r):
    with pytest.raises(ValueError):
        disk_encoder.max_reversal(np.array(z), np.array(r))


@pytest.mark.parametrize("field, value", [("replicates", 0), ("steps", -1), ("lr", -1.0), ("n_sweep", 8),
                                          ("n_gradient", 0), ("sigma", 0.0), ("size", 48), ("seed", -1)])
def test_encoder_config_rejects(field, value):
    with pytest.raises(ValueError, match=field if field != "size" else "size"):
        disk_encoder.Config(**{field: value})


# ----------------------------------------------------------------------------- bias_ablation
def test_ablation_outputs(ablation_result):
    _check_outputs(ablation_result, ("ablation.npz", "grid.png", "mse_by_radius.png"))


def test_bias_free_never_beats_its_floor(ablation_result):
    """Theorem (eq. 2): a bias-free net outputs |z| f_{sign z}, so its MSE is at least the best
    h_n f per sign group of its own codes, and at least the rank-1 floor if one sign is used."""
    m = ablation_result.metrics
    rank1 = m["mse_rank1_floor"]
    for run in ablation_result.config.runs:
        t = bias_ablation._tag(run)
        mse, fgs, pos = m[f"mse_bias_free_{t}"], m[f"floor_given_signs_{t}"], m[f"z_positive_fraction_{t}"]
        assert mse >= fgs * (1 - FLOOR_RTOL), f"{t}: MSE {mse:.6f} below its floor {fgs:.6f}"
        if pos in (0.0, 1.0):
            assert mse >= rank1 * (1 - FLOOR_RTOL), f"{t}: one-signed codes, MSE {mse:.6f} < rank-1 {rank1:.6f}"
            assert math.isclose(fgs, rank1, rel_tol=1e-9)
    assert m["mse_two_ray_floor"] <= rank1 * (1 + 1e-12)   # the two-ray search starts from rank 1
    assert m["mse_with_bias"] <= WITH_BIAS_OVER_FLOOR_MAX * rank1, \
        f"with biases {m['mse_with_bias']:.4g} vs rank-1 floor {rank1:.4g}"


def _svd_floor(x):
    s = np.linalg.svd(x.reshape(len(x), -1).astype(np.float64), compute_uv=False)
    return float(np.sum(s[1:] ** 2) / x.size)


def test_floor_given_signs_against_svd():
    rng = np.random.default_rng(3)
    x = rng.random((40, 6, 6))
    # one sign: the rank-1 floor, here from numpy's singular values
    assert math.isclose(bias_ablation.floor_given_signs(x, np.ones(40)), _svd_floor(x), rel_tol=1e-10)
    z = rng.standard_normal(40)
    pos, neg = z >= 0, z < 0
    want = (_svd_floor(x[pos]) * pos.sum() + _svd_floor(x[neg]) * neg.sum()) / 40
    assert math.isclose(bias_ablation.floor_given_signs(x, z), want, rel_tol=1e-10)
    # images exactly on two rays, split by the sign of z: floor 0
    u, v = rng.random(36), rng.random(36)
    two = np.concatenate([np.outer(rng.random(5), u), np.outer(rng.random(7), v)]).reshape(12, 6, 6)
    assert bias_ablation.floor_given_signs(two, np.r_[np.ones(5), -np.ones(7)]) < 1e-12


def test_floor_given_signs_bad_shape():
    with pytest.raises(ValueError, match="z must have shape"):
        bias_ablation.floor_given_signs(np.ones((4, 3, 3)), np.ones(3))


@pytest.mark.parametrize("text", ["default:0:0", "xavier:0:0:0", "default:a:0:0", "default:0:-1:0",
                                  "default:0:0:-5", "default:0:0:0:cyclic"])
def test_parse_run_rejects(text):
    with pytest.raises(ValueError, match="bias_free_runs"):
        bias_ablation.parse_run(text)


def test_parse_run_reads_fields():
    assert bias_ablation.parse_run("kaiming:2:0.0005:1500:constant") == {
        "init": "kaiming", "replicate": 2, "lr": 5e-4, "steps": 1500, "schedule": "constant"}


def test_ablation_config_rejects_duplicates():
    with pytest.raises(ValueError, match="distinct"):
        bias_ablation.Config(bias_free_runs=("default:0:0:0", "default:0:0:0"))


# ----------------------------------------------------------------------------- interpolation
def test_interpolation_outputs(interpolation_result):
    _check_outputs(interpolation_result, ("interpolation.npz", "latent_vs_radius.png", "gap_reconstructions.png",
                                          "latent_navigation.png"))


def test_interpolation_metrics_consistent(interpolation_result):
    m, cfg = interpolation_result.metrics, interpolation_result.config
    d = np.load(interpolation_result.out / "interpolation.npz")
    for v in sorted(KNOWN_DEAD_QUICK):
        # the pinned exception: a constant code, so no radius is decoded at all
        assert m[f"n_dead_{v}"] == cfg.replicates and m[f"max_reversal_{v}"] == 1.0, (
            f"{v} is documented as dead on the seed-0 quick run and no longer is; update the finding")
        assert m[f"mse_seen_{v}"] > MSE_SEEN_MAX
    for v in (v for v in cfg.variants if v not in KNOWN_DEAD_QUICK):
        assert m[f"n_dead_{v}"] == 0, v
        assert m[f"mse_seen_{v}"] <= MSE_SEEN_MAX, f"{v}: MSE on seen radii {m[f'mse_seen_{v}']:.4f}"
        # The finding the README states (project protocol): z stays monotone in r for every
        # variant. Measured on the quick run, seed 0: fraction 1.0 and reversal 0.0 for all four.
        assert m[f"monotonic_fraction_{v}"] >= QUICK_MONOTONE_MIN, (v, m[f"monotonic_fraction_{v}"])
        assert m[f"max_reversal_{v}"] <= QUICK_REVERSAL_MAX, (v, m[f"max_reversal_{v}"])
    for v in cfg.variants:
        for s in (f"rep{k}" for k in range(cfg.replicates)):
            z = d[f"z_{v}_{s}"]
            if m[f"dead_{v}_{s}"]:
                assert np.ptp(z) == 0.0 and not m[f"monotone_{v}_{s}"], (v, s)
                continue
            # two independent routes to "z is monotone": metrics.is_monotonic and max_reversal
            assert bool(m[f"monotone_{v}_{s}"]) == (m[f"max_reversal_{v}_{s}"] == 0.0), (v, s)
            # the stored curve gives the stored fraction (numpy, steps in the dominant direction)
            dz = np.diff(z)
            frac = max(np.sum(dz >= 0), np.sum(dz <= 0)) / dz.size
            assert math.isclose(frac, m[f"monotonic_fraction_{v}_{s}"], rel_tol=1e-12), (v, s)


@pytest.mark.parametrize("field, value, match", [
    ("gap", (18.0, 11.0), "gap"), ("gap", (11.0, 40.0), "gap"), ("variants", ("none", "dropout"), "variants"),
    ("variants", ("none", "none"), "variants"), ("replicates", 0, "replicates"), ("steps", 0, "steps"),
    ("latent_l2_weight", 0.0, "latent_l2_weight"), ("denoise_std", -0.1, "denoise_std"),
    ("encoder_l2_weight", float("nan"), "encoder_l2_weight"), ("sweep_step", 2.0, "sweep_step")])
def test_interpolation_config_rejects(field, value, match):
    with pytest.raises(ValueError, match=match):
        interpolation.Config(**{field: value})
