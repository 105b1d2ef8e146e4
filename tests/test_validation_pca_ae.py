"""validation.pca_ae_ellipses: the quick run's outputs and the claims that hold even at 60 steps
a stage (ordering of the stage errors, decorrelated codes); the protocol's reading rules
(best assignment of the two ratios, off-target excess) against hand-built codes."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from validation import metrics as M
from validation import pca_ae_ellipses as E


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("pca_ae_ellipses")
    return E.main(dataclasses.replace(E.Config.quick(), out=str(out)))


def test_quick_run_writes_every_output(quick):
    for name in ("config.json", "metrics.json", "weights.pt", "navigation.png", "correlations.png",
                 "covariance.png", "ordering.png"):
        assert (quick.out / name).is_file(), name
    saved = json.loads((quick.out / "metrics.json").read_text())
    assert set(saved) == set(quick.metrics)
    assert "notebook PCA-AE" in quick.table and "tcvae" in quick.table


def test_quick_run_claims(quick):
    m = quick.metrics
    # Each stage should lower the reconstruction error. Over the quick runs of seeds 0-5
    # (``python -m validation.runners.sweep pca_ae_ellipses --quick --seeds 0:6``, 60 steps a stage)
    # it does on 4 of 6: seed 0's third stage ends above its second (MSE 0.0676, 0.0442,
    # 0.0451) and seed 1's second above its first (0.0566, 0.0582, 0.0315). Pinned for seed 0,
    # so that a change in it is seen, not absorbed.
    assert m["pca_ae.stages_decreasing"] == 0, "seed 0's stages now decrease: update the finding"
    assert m["pca_ae.stage1.recon_mse"] > m["pca_ae.stage2.recon_mse"]
    # measured 0.074: the covariance term works from the first steps (plain AE: 0.92)
    assert m["pca_ae.latent_abs_corr_max"] < 0.2
    # the packet variant branches from the one-by-one PCA-AE's first stage: same z1
    assert m["pca_ae_packet.corr.area.z1"] == m["pca_ae.corr.area.z1"]
    assert m["pca_ae_packet.latent_abs_corr_max"] < 0.2  # measured 0.07: covariance inside the packet
    for p in ("pca_ae", "pca_ae_packet"):
        assert m[f"{p}.pair.component.area"] == 1
        assert {m[f"{p}.pair.component.hv_ratio"], m[f"{p}.pair.component.diag_ratio"]} == {2, 3}
    # every model of the run, baselines included, is read by the same protocol
    for kind in E.kinds_of(quick.config):
        assert sorted(m[f"{kind}.pair.component.{n}"] for n in E.MEASURES) == [1, 2, 3]
        for key in ("factors.mig", "factors.dci_gbt_disentanglement", "pair.off_target_excess_max", "recon_mse"):
            assert np.isfinite(m[f"{kind}.{key}"]), (kind, key)
    assert E.kinds_of(quick.config) == ["pca_ae", "pca_ae_packet", "ae", "vae_b4", "tcvae"]


def test_protocol_matches_swapped_ratios_and_discounts_data_correlations():
    rng = np.random.default_rng(0)
    n = 3000
    area = rng.normal(size=n)
    hv = np.exp(0.2 * area + rng.normal(size=n))  # heavy-tailed and correlated with the area
    dg = np.exp(rng.normal(size=n))
    measures = {"area": area, "hv_ratio": hv, "diag_ratio": dg}
    mc = M.latent_correlation(np.column_stack([area, hv, dg]))
    codes = np.column_stack([area, dg, hv])  # the ratios in the other order than the notebook's
    out, table = E.protocol(codes, measures, mc, "p")
    assert out["p.pair.component.hv_ratio"] == 3 and out["p.pair.component.diag_ratio"] == 2
    assert out["p.pair.on_target.hv_ratio"] == pytest.approx(1.0)
    assert out["p.pair.spearman_on_target.diag_ratio"] == pytest.approx(1.0)
    # z1 = area correlates with H/V exactly as much as the data's measures do: no excess
    assert out["p.pair.off_target_max"] == pytest.approx(abs(mc[0, 1]), abs=1e-12)
    assert out["p.pair.off_target_excess_max"] == pytest.approx(0.0, abs=1e-12)
    # a log-ratio code is judged by the log column; Pearson on the raw ratio is lower
    out2, _ = E.protocol(np.column_stack([area, np.log(hv), np.log(dg)]), measures, mc, "q")
    assert out2["q.pair.log_on_target.hv_ratio"] == pytest.approx(1.0)
    assert out2["q.pair.on_target.hv_ratio"] < 0.9


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="n_components"):
        E.Config(n_components=2)
    with pytest.raises(ValueError, match="betas"):
        E.Config(betas=(1.0, 1.0))
    with pytest.raises(ValueError, match="betas"):
        E.Config(betas=())
    with pytest.raises(ValueError, match="tc_beta"):
        E.Config(tc_beta=-1.0)
    with pytest.raises(ValueError, match="arch"):
        E.Config(arch="resnet")
    with pytest.raises(ValueError, match="lr_schedule"):
        E.Config(lr_schedule="step")
    with pytest.raises(ValueError, match="device"):
        E.Config(device="gpu")
    with pytest.raises(ValueError, match="integer_params"):
        E.Config(integer_params=True, axis_min=2.2, axis_max=2.8)


def test_integer_params_follow_the_notebook_grid():
    # the notebook's randint(2, 32) semi-axes and randint(0, 90) degrees
    cfg = E.Config(integer_params=True, axis_max=31.0, sigma=0.5, size=64)
    x, f = E.make_ellipses(4000, cfg, np.random.default_rng(0))
    assert x.shape == (4000, 64, 64) and x.dtype == np.float32
    a, b, deg = f[:, 0], f[:, 1], np.degrees(f[:, 2])
    for v, lo, hi in ((a, 2, 31), (b, 2, 31), (np.round(deg), 0, 89)):
        assert np.array_equal(v, np.round(v)) and v.min() == lo and v.max() == hi
    assert np.allclose(deg, np.round(deg), atol=1e-9)
    # centred ellipses: symmetric under a half-turn about the image centre
    assert np.allclose(x[:50], x[:50, ::-1, ::-1], atol=1e-5)
    # mass of a blurred ellipse ~ pi a b (blur conserves mass; the disk test's tolerance)
    inside = (a < 28) & (b < 28)
    assert np.allclose(x[inside].sum(axis=(1, 2)), np.pi * a[inside] * b[inside], rtol=0.02)
