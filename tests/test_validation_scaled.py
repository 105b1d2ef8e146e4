"""``validation.scaled_shapes`` end to end on its quick config, and its helpers against
independent references.

Quick-run tolerances were sized from measured quick runs (size 16, 150 steps a net, seed 0):
the bias-free square's profile at cos 0.992 from the discrete optimum (test: > 0.95) and MSE
1.14x the rank-1 floor (test: < 1.4); the theory side is exact up to the grid and the blur
(docs/general_scaling.md: blurred square at 16 px cos(P, A) 0.998).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import geoshape
import theory
from geoshape.scaled import unit_shape
from validation import scaled_shapes as ss
from validation.core import Streams, limited_threads
from validation.runs import scaled as rs
from validation.runs.disk import ImageBank, code_fold_scale


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("scaled")
    return ss.main(ss.Config.quick(out=str(out)))


# ----------------------------------------------------------------------------- the quick run
def test_outputs_are_written(quick):
    for name in ("config.json", "metrics.json", "weights.pt", "scaled_shapes.npz", "level_sets.png",
                 "codes_vs_scale.png", "digit_reconstructions.png", "band.png"):
        assert (quick.out / name).is_file(), name
    record = json.loads((quick.out / "config.json").read_text())
    assert record["config"]["families"] == ["square", "annulus", "digit", "digits"]
    assert set(record["trainings"]) == {f"{f}.{v}" for f in ("square", "annulus", "digit_3", "digits_3")
                                        for v in ("bias_free", "bias")} | {"band_square.none",
                                                                            "band_square.latent_l2"}
    assert record["trainings"]["band_square.latent_l2"]["train_config"]["regularisers"] == [["latent_l2", 1.6e-7]]
    assert not list(quick.out.glob(".*tmp*")), "temporary files left behind"


def test_every_family_reports_its_keys_in_range(quick):
    m = quick.metrics
    on_disk = json.loads((quick.out / "metrics.json").read_text())
    assert set(on_disk) == set(m)
    for fam in ("square", "annulus", "digit_3", "digits_3"):
        for key in ("cos_net_vs_discrete", "l2_net_vs_discrete", "mse_bias_free_over_floor", "mse_with_bias",
                    "fold_scale_predicted", "fold_scale_observed", "z_monotone", "h_monotone", "r2_z_mass",
                    "r2_z_scale", "r2_z_mass_bias", "r2_z_scale_bias", "r2_z_h", "r2_h_mass", "r2_h_scale",
                    "z_max_reversal"):
            assert f"{fam}.{key}" in m, f"{fam}.{key}"
        smax = m[f"{fam}.scale_max"]
        for key in ("fold_scale_predicted", "fold_scale_observed", "fold_scale_observed_bias"):
            v = m[f"{fam}.{key}"]
            assert math.isnan(v) or 0.0 <= v <= smax, (fam, key, v, smax)
            assert (on_disk[f"{fam}.{key}"] is None) == math.isnan(v)
        for key in [k for k in m if k.startswith(f"{fam}.cos_")]:
            assert -1.0 <= m[key] <= 1.0, key
        for key in [k for k in m if k.startswith(f"{fam}.l2_")]:
            assert 0.0 <= m[key] <= 2.0, key
        for key in ("z_monotone", "h_monotone", "z_monotone_bias", "z_positive_fraction", "r2_z_mass", "r2_z_scale",
                    "r2_z_h", "r2_h_mass", "r2_h_scale"):
            assert 0.0 <= m[f"{fam}.{key}"] <= 1.0, key
        # a monotone code has no fold, and a fold means a code that is not (all) monotone
        assert math.isnan(m[f"{fam}.fold_scale_observed"]) == (m[f"{fam}.z_monotone"] == 1.0)
        assert math.isnan(m[f"{fam}.fold_scale_predicted"]) == (m[f"{fam}.h_monotone"] == 1.0)
        # no bias-free 1-D decoder beats the rank-1 floor by more than the two-ray slack
        assert m[f"{fam}.mse_bias_free_over_floor"] > 0.9
    for fam in ("square", "annulus"):                 # binary shapes: the gauge-Airy comparison
        assert f"{fam}.cos_net_vs_gauge_airy" in m and f"{fam}.cos_discrete_vs_gauge_airy_blurred" in m
    assert "digits_3.cos_net_vs_gauge_airy" not in m
    assert m["digits_3.n_curves"] == 4
    assert 0 <= m["digit_3.digit_index"] < geoshape.digits.N_DIGITS


def test_quick_run_agrees_with_the_theory(quick):
    m = quick.metrics
    # Theorem 1 (square, star-shaped) up to the blur; the annulus is not star-shaped and fails
    assert m["square.cos_discrete_vs_gauge_airy_blurred"] > 0.999, m["square.cos_discrete_vs_gauge_airy_blurred"]
    assert m["square.cos_discrete_vs_gauge_airy"] > 0.99
    assert m["annulus.cos_discrete_vs_gauge_airy"] < 0.95
    # Theorem 2: a nested family's h never folds
    assert m["square.h_monotone"] == 1.0
    # the trained bias-free net near the discrete optimum (quick: 150 steps)
    assert m["square.cos_net_vs_discrete"] > 0.95, m["square.cos_net_vs_discrete"]
    assert m["square.mse_bias_free_over_floor"] < 1.4, m["square.mse_bias_free_over_floor"]
    assert m["square.mse_with_bias"] < m["square.mse_rank1_floor"]


def test_band_keys(quick):
    m = quick.metrics
    for v in ("none", "latent_l2"):
        assert m[f"band_square.{v}.gap_over_seen"] > 0
        assert m[f"band_square.{v}.mse_gap"] >= 0 and m[f"band_square.{v}.mse_seen"] > 0
        assert 0.0 <= m[f"band_square.{v}.monotonic_fraction"] <= 1.0
        assert m[f"band_square.{v}.z_monotone"] in (0.0, 1.0)
        assert 0.0 <= m[f"band_square.{v}.max_reversal"] <= 1.0


def test_saved_data_reproduce_the_metrics(quick):
    d = np.load(quick.out / "scaled_shapes.npz")
    f, P = d["square.net_profile"], d["square.discrete"]
    assert np.isclose(np.sum(f * P), quick.metrics["square.cos_net_vs_discrete"], atol=1e-12)
    assert np.isclose(np.linalg.norm(f), 1.0) and np.isclose(np.linalg.norm(P), 1.0)
    # the predicted fold is theory.fold_scale of the saved curve, recomputed from h
    s, h = d["annulus.scales"], d["annulus.h"][0]
    fold = code_fold_scale(h, s, rtol=1e-6)
    assert (fold is None) == math.isnan(quick.metrics["annulus.fold_scale_predicted"])


def test_same_seed_same_metrics(tmp_path):
    tiny = dict(size=8, families=("square",), n_train=64, bias_free_steps=4, bias_steps=4, band_steps=4,
                n_test=16, n_sweep=16, band_families=("square",))
    a = ss.main(ss.Config(out=str(tmp_path / "a"), **tiny)).metrics
    b = ss.main(ss.Config(out=str(tmp_path / "b"), **tiny)).metrics
    keep = lambda m: {k: v for k, v in m.items() if "seconds" not in k}  # noqa: E731
    assert json.dumps(keep(a), sort_keys=True) == json.dumps(keep(b), sort_keys=True)


# ----------------------------------------------------------------------------- config
@pytest.mark.parametrize("bad", [dict(families=("disk", "disk")), dict(families=("hexagon",)), dict(digits=()),
                                 dict(digits=(10,)), dict(band=(0.5, 0.4)), dict(band=(0.0, 0.5)),
                                 dict(band_families=("digits_7",)), dict(band_families=("blob",)),
                                 dict(size=4), dict(sigma=-1.0), dict(sigma=0.05), dict(fold_rtol=0.9), dict(n_fold_digits=0)])
def test_bad_config_is_rejected(bad):
    with pytest.raises(ValueError):
        ss.Config(**bad)


def test_cli_rejects_bad_values(capsys):
    with pytest.raises(SystemExit):
        ss.cli(["--families", "square,hexagon"])
    assert "families" in capsys.readouterr().err


def test_family_names_expand_digit_groups():
    assert ss.Config(families=("disk", "digits"), digits=(8, 1)).family_list == ("disk", "digits_8", "digits_1")
    assert rs.family_names(ss.GROUPS, (3,))[-2:] == ("digit_3", "digits_3")


# ----------------------------------------------------------------------------- helpers
def test_code_fold_scale_matches_theory_fold_scale():
    """The net-side fold reader against theory.fold_scale on exact codes h = <P, x_s>: the
    annulus folds (docs/general_scaling.md: at 0.92-0.94 R), the square does not."""
    for kind, folds in (("annulus", True), ("square", False)):
        s = (np.arange(128) + 0.5) * (16.0 / 128)
        x = unit_shape(kind).render(s, size=32, sigma=1.0)
        P = theory.disk_profile(x)
        ref = theory.fold_scale(s, x, P)
        h = theory.code_curve(x, P)
        assert (ref is not None) == folds
        for sign in (1.0, -1.0):                        # the orientation is read from the data
            got = code_fold_scale(sign * h, s, rtol=1e-6)
            assert got == ref, (kind, sign, got, ref)
        if folds:
            assert 0.85 * 16 < ref < 0.99 * 16


def test_code_fold_scale_brute_force():
    """Against the definition on random walks, by explicit loops: a drop below an earlier
    value by more than rtol of the range (after orienting by the largest excursion from the
    first value) means a fold at the argmax; shuffled scales give the same answer."""
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(2, 12))
        z = np.cumsum(rng.normal(0.3, 1.0, n))
        if np.ptp(z) == 0:
            continue
        s = np.sort(rng.random(n))
        dev = z - z[0]
        o = z * (1.0 if dev[np.argmax(np.abs(dev))] > 0 else -1.0)
        worst = max(o[i] - o[j] for i in range(n) for j in range(i + 1, n)) if n > 1 else 0.0
        expect = float(s[int(np.argmax(o))]) if worst > 0.01 * np.ptp(z) else None
        perm = rng.permutation(n)
        assert code_fold_scale(z[perm], s[perm], rtol=0.01) == expect


def test_code_fold_scale_refuses_bad_input():
    with pytest.raises(ValueError, match="constant"):
        code_fold_scale([1.0, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError):
        code_fold_scale([1.0], [0.0])
    with pytest.raises(ValueError):
        code_fold_scale([0.0, np.nan], [0.0, 1.0])


def test_curve_stats_of_a_dead_code():
    fold, mono, rev = rs.curve_stats(np.zeros(5), np.arange(5.0), 1e-3)
    assert math.isnan(fold) and not mono and rev == 1.0
    fold, mono, rev = rs.curve_stats(np.array([0.0, 1.0, 3.0, 2.0]), np.arange(4.0), 1e-3)
    assert fold == 2.0 and not mono and rev == pytest.approx(1 / 3)


def test_image_bank_draws_one_image_per_stratum():
    n, batch = 1000, 50
    scales = np.random.default_rng(0).permutation(n).astype(float)        # shuffled: the bank sorts
    images = scales[:, None, None] * np.ones((1, 2, 2), np.float32)
    bank = ImageBank(images, scales)
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = bank(batch, rng)[:, 0, 0]
        assert sorted((x // (n // batch)).astype(int).tolist()) == list(range(batch))
    flat = ImageBank(images, scales, stratified=False)(4000, rng)[:, 0, 0]
    assert 0.45 * n < flat.mean() < 0.55 * n
    with pytest.raises(ValueError):
        ImageBank(images, scales[:-1])


def test_allowed_scales_are_uniform_off_the_band():
    u = (np.arange(100000) + 0.5) / 100000
    s = rs.allowed_scales(u, 10.0, (0.3, 0.5))
    assert not np.any((s >= 3.0) & (s < 5.0))
    hist, _ = np.histogram(s, bins=10, range=(0, 10))
    expect = 100000 / 8
    assert np.all(np.abs(hist[[0, 1, 2, 5, 6, 7, 8, 9]] - expect) <= 1) and hist[3] == hist[4] == 0
    assert np.all(np.diff(s) > 0)                       # order kept: stratified stays stratified


def test_training_set_is_stratified_and_digits_are_area_exact():
    cfg = ss.Config(size=32, digits=(3,))
    st = Streams(0)
    split = geoshape.digits_split(0, n_test=100, digits=(3,))
    fam = rs.make_family("digit_3", cfg, st, split)
    x, s = rs.training_set(fam, 64, np.random.default_rng(0))
    assert np.array_equal(np.floor(s * 64).astype(int), np.arange(64))        # one scale per cell
    # geoshape.scaled is area-exact: ink times (s * size / 28)^2 while nothing leaves the frame
    digit = fam.train_digits[0]
    small = s < 0.6
    np.testing.assert_allclose(x[small].sum(axis=(1, 2)), digit.sum() * (s[small] * 32 / 28) ** 2, rtol=1e-4)
    assert fam.digit_index in split[0].index[split[0].labels == 3]
    cls = rs.make_family("digits_3", cfg, st, split)
    assert len(cls.test_digits) == 100 and len(cls.train_digits) == 400


def test_shape_families_use_the_theorys_range():
    cfg, st = ss.Config(size=32), Streams(0)
    R = {k: rs.make_family(k, cfg, st).scale_max for k in rs.SHAPES}
    assert R["disk"] == R["square"] == R["annulus"] == 16.0
    assert R["star"] == pytest.approx(32 / (2 * 1.3), rel=1e-3)               # lobes reach 1 + 0.3
    fam = rs.make_family("ellipse", cfg, st)
    x = fam.render(np.array([fam.scale_max]))[0]
    assert x[:, 0].max() > 0.3 and x[0, :].max() < 0.05                      # semi-major axis along x fills it


def test_limited_threads_restores_torch():
    before = torch.get_num_threads()
    with limited_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    for bad in (0, "2", 1.5, None):
        with pytest.raises((TypeError, ValueError), match="n"):
            with limited_threads(bad):
                pass
    assert torch.get_num_threads() == before
