"""validation.pca_ae_digits: the quick run end to end (outputs, metric keys, the linear check at
the quick budget), and the helpers it adds to validation.runs.pca against independent references
(principal angles of known rotations, scikit-learn's PCA, scipy's one-way ANOVA, the linear
PCA-AE's loss computed on the images with nets.pca_ae.covariance_loss)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import scipy.stats
import torch

from geoshape.morphometrics import FIELDS
from nets import PCAAE, PCAAEConfig
from nets.pca_ae import covariance_loss
from validation import pca_ae_digits as D
from validation.runs import digits as RD
from validation.runs import linear_pca as LP
from validation.runs import pca as P

#: The quick run's linear check (100 L-BFGS iterations a stage): largest principal angle, every
#: k <= 6. Measured on seed 0: 0.58 deg (stage k's decoder), 0.58 deg (the last decoder's first k
#: columns); the bound is loose on purpose, it is the full run's goal, not a claim of the quick run.
QUICK_ANGLE_BOUND_DEG = 10.0
#: The quick linear PCA-AE's test MSE after each stage over PCA's: measured within 2e-5 of 1.
QUICK_LINEAR_MSE_RTOL = 1e-3


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("pca_ae_digits")
    return D.main(dataclasses.replace(D.Config.quick(), out=str(out)))


def test_quick_run_writes_every_output(quick):
    for name in ("config.json", "metrics.json", "weights.pt", "linear_check.npz", "linear_check.png",
                 "navigation.png", "traversal_morphometrics.png", "correlations.png", "covariance.png",
                 "ordering.png"):
        assert (quick.out / name).is_file(), name
    saved = json.loads((quick.out / "metrics.json").read_text())
    assert set(saved) == set(quick.metrics)
    rec = json.loads((quick.out / "config.json").read_text())
    names = D.models_of(quick.config)
    assert names == ["pca_ae", "pca_ae_packet", "ae", "vae_b4", "tcvae"]
    assert set(rec["trainings"]) == set(names) and set(rec["models"]) == set(names)
    assert {"train/linear", "metrics/dci", "metrics/dci_rows", *(f"train/{n}" for n in names)} <= set(rec["streams"])
    with np.load(quick.out / "linear_check.npz") as z:
        assert z["decoder_directions"].shape == z["pca_components"].shape == (6, 28 * 28)
    for text in ("angle stage k", "pca_ae_packet", "tcvae", "goals on this seed"):
        assert text in quick.table


def test_quick_run_metric_keys_and_ranges(quick):
    m, d = quick.metrics, quick.config.n_components
    for k in range(d + 1):
        assert math.isfinite(m[f"pca_mse_k{k}"])
    assert all(m[f"pca_mse_k{k}"] > m[f"pca_mse_k{k + 1}"] for k in range(d))
    for name in D.models_of(quick.config):
        for key in ("recon_mse", "mse_over_pca", "latent_abs_corr_max", "first3_dominant_mean",
                    "best3_dominant_mean", "on_target_mean", "off_target_max", "off_target_excess_max", "mig",
                    "dci_disentanglement", "dci_completeness", "dci_informativeness", "dci_hist_disentanglement",
                    "explained_decreasing"):
            assert math.isfinite(m[f"{name}.{key}"]), (name, key)
        for key in ("latent_abs_corr_max", "mig", "dci_disentanglement", "on_target_mean"):
            assert 0.0 <= m[f"{name}.{key}"] <= 1.0, (name, key, m[f"{name}.{key}"])
        for j in range(1, d + 1):
            assert math.isfinite(m[f"{name}.explained.z{j}"])
            assert 0 <= m[f"{name}.z{j}.dominant_factor"] < len(RD.FACTORS)
            assert 0 <= m[f"{name}.z{j}.best_morpho"] < len(FIELDS)
            assert 0 <= m[f"{name}.z{j}.best_class"] <= 9
            dom = m[f"{name}.z{j}.dominant"]
            assert dom == max(m[f"{name}.z{j}.best_morpho_rho"], m[f"{name}.z{j}.class_eta"])
            assert 0 <= m[f"{name}.traversal.z{j}.top_measure"] < len(FIELDS)
        # every morphometric is matched to a distinct component
        assert sorted(m[f"{name}.matched_component.{f}"] for f in FIELDS) == list(range(1, d + 1))
    for p, n_stages in (("pca_ae", d), ("pca_ae_packet", d // quick.config.packet)):
        for k in range(1, n_stages + 1):
            assert math.isfinite(m[f"{p}.stage{k}.recon_mse"]) and math.isfinite(m[f"{p}.stage{k}.variance_share"])
        assert f"{p}.stage{n_stages + 1}.recon_mse" not in m
        assert m[f"{p}.stage{n_stages}.recon_mse"] == pytest.approx(m[f"{p}.recon_mse"], rel=1e-12)
        for key in ("ordered", "beats_pca", "first3_vs_best_baseline", "mig_vs_ae", "dci_vs_ae"):
            assert math.isfinite(m[f"goal.{p}.{key}"])


def test_quick_linear_check(quick):
    m, d = quick.metrics, quick.config.n_components
    for k in range(1, d + 1):
        for key in (f"linear.angle_deg.k{k}", f"linear.nested_angle_deg.k{k}", f"linear.axis_angle_deg.z{k}"):
            assert math.isfinite(m[key]) and 0.0 <= m[key] < QUICK_ANGLE_BOUND_DEG, (key, m[key])
        ratio = m[f"linear.stage{k}.mse_over_pca"]
        assert abs(ratio - 1.0) < QUICK_LINEAR_MSE_RTOL, (k, ratio)
    assert m["linear.latent_abs_corr_max"] < 0.2   # measured 0.062 on the test digits


def test_linear_only_writes_the_check_alone_with_the_same_numbers(quick, tmp_path):
    lin = D.main(dataclasses.replace(quick.config, out=str(tmp_path), linear_only=True))
    for name in ("config.json", "metrics.json", "linear_check.npz", "linear_check.png"):
        assert (tmp_path / name).is_file(), name
    assert not (tmp_path / "weights.pt").exists() and not (tmp_path / "navigation.png").exists()
    assert not any(k.startswith(("pca_ae.", "ae.", "goal.pca_ae")) for k in lin.metrics)
    # the linear check draws from its own stream: the same angles as inside the full quick run
    for k in range(1, quick.config.n_components + 1):
        assert lin.metrics[f"linear.angle_deg.k{k}"] == quick.metrics[f"linear.angle_deg.k{k}"]
    assert "the linear check alone" in lin.table


def test_sweep_declaration_and_summary(quick):
    assert set(D.SWEEP.variants) == set(D.models_of(D.Config()))
    nums, text = D.sweep_summary({0: quick.metrics, 1: quick.metrics})
    assert nums["n_seeds"] == 2
    assert nums["goal.pca_ae.ordered.seeds_met"] in (0, 2)
    assert "Goals over 2 seeds" in text and "largest angle" in text


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="n_test"):
        D.Config(n_test=995)
    with pytest.raises(ValueError, match="packet"):
        D.Config(n_components=7, packet=2)
    with pytest.raises(ValueError, match="dci_samples"):
        D.Config(n_test=100, dci_samples=200)
    with pytest.raises(ValueError, match="n_components"):
        D.Config(n_components=3)


# ----------------------------------------------------------------------------- the helpers
def _rotation(p: int, i: int, j: int, deg: float) -> np.ndarray:
    r = np.eye(p)
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    r[[i, i, j, j], [i, j, i, j]] = [c, -s, s, c]
    return r


def test_nested_subspace_angles_of_known_rotations():
    basis = np.eye(6)[:, :4]
    # rotate axis 2 towards axis 5 by 20 deg: spans of 1 and 2 axes agree, from 3 axes on 20 deg
    dirs = _rotation(6, 2, 5, 20.0) @ basis
    np.testing.assert_allclose(LP.nested_subspace_angles(dirs, basis), [0.0, 0.0, 20.0, 20.0], atol=1e-9)
    # a mixing inside the nested spans (upper triangular) leaves every angle 0
    mix = np.triu(np.random.default_rng(0).normal(size=(4, 4))) + 3 * np.eye(4)
    np.testing.assert_allclose(LP.nested_subspace_angles(basis @ mix, basis), 0.0, atol=1e-6)
    # two rotations in orthogonal planes: the largest of the two angles
    dirs = _rotation(6, 0, 4, 10.0) @ _rotation(6, 1, 5, 35.0) @ basis
    np.testing.assert_allclose(LP.nested_subspace_angles(dirs, basis), [10.0, 35.0, 35.0, 35.0], atol=1e-9)
    with pytest.raises(ValueError, match="share p"):
        LP.nested_subspace_angles(np.ones((5, 2)), np.ones((6, 2)))


def test_correlation_ratio_known_answers_and_anova():
    assert P.correlation_ratio([1.0, 2.0, 5.0, 6.0], [0, 0, 1, 1]) == pytest.approx(math.sqrt(16 / 17), rel=1e-14)
    assert P.correlation_ratio([3.0, 3.0, 7.0, 7.0], [1, 1, 4, 4]) == pytest.approx(1.0)      # a value per class
    assert P.correlation_ratio([1.0, 3.0, 1.0, 3.0], [0, 0, 1, 1]) == pytest.approx(0.0)      # equal means
    assert P.correlation_ratio([2.0, 2.0, 2.0], [0, 1, 2]) == 0.0                             # constant
    # against scipy's one-way ANOVA: eta^2 = F (k - 1) / (F (k - 1) + n - k)
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, 400)
    values = labels * 0.3 + rng.normal(size=400)
    f = scipy.stats.f_oneway(*(values[labels == c] for c in range(5))).statistic
    eta2 = f * 4 / (f * 4 + 400 - 5)
    assert P.correlation_ratio(values, labels) == pytest.approx(math.sqrt(eta2), rel=1e-10)


def test_one_vs_rest_spearman_finds_the_class():
    labels = np.repeat(np.arange(10), 20)
    values = (labels == 3).astype(float) + 0.1 * np.random.default_rng(8).random(labels.size)
    cls, rho = P.one_vs_rest_spearman(values, labels)
    assert cls == 3 and rho == pytest.approx(abs(scipy.stats.spearmanr(values, labels == 3).statistic))


def test_pca_heldout_errors_match_scikit_learn():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(2)
    train = rng.normal(size=(300, 6, 6)) * np.linspace(0.2, 2.0, 36).reshape(6, 6)
    test = rng.normal(size=(50, 6, 6))
    errs = LP.pca_heldout_errors(LP.pca_fit(train), test, 5)
    x, t = train.reshape(300, -1), test.reshape(50, -1)
    assert errs[0] == pytest.approx(np.mean((t - x.mean(0)) ** 2), rel=1e-12)
    for k in range(1, 6):
        sk = PCA(n_components=k, svd_solver="full").fit(x)
        ref = np.mean((sk.inverse_transform(sk.transform(t)) - t) ** 2)
        assert errs[k] == pytest.approx(ref, rel=1e-10), k


def test_linear_pca_ae_loss_is_the_full_batch_loss_on_the_images():
    # eq. 17 computed the nets' way on the images (batch mean and biased variance for the
    # shift- and scale-free BatchNorm, nets.pca_ae.covariance_loss) against the moment form
    rng = np.random.default_rng(3)
    x = rng.random((500, 10)) * np.linspace(0.5, 2.0, 10)
    mean, xc = x.mean(0), x - x.mean(0)
    model = LP.LinearPCAAE(mean, xc.T @ xc / len(x))
    for k in (1, 2, 3):
        dec = torch.nn.Linear(k, 10, dtype=torch.float64)
        model.add_stage(torch.from_numpy(rng.normal(size=10)), dec)
        with torch.no_grad():
            total, mse, cov = model.loss(0.7)
        xt = torch.from_numpy(x)
        e = torch.stack(list(model.encoders), 1)                   # (p, k) raw encoder rows
        with torch.no_grad():
            h = xt @ e
            z = (h - h.mean(0)) / h.std(0, unbiased=False)
            ref_mse = torch.mean((dec(z) - xt) ** 2)
            ref_cov = covariance_loss(z, 1)
        assert float(mse) == pytest.approx(float(ref_mse), rel=1e-12, abs=1e-15)
        assert float(cov) == pytest.approx(float(ref_cov), rel=1e-10, abs=1e-15)
        assert float(total) == pytest.approx(float(ref_mse + 0.7 * ref_cov), rel=1e-12)


def test_linear_pca_ae_recovers_known_axes_in_order():
    # five orthonormal axes of variances 5, 3.5, 2.5, 1.5, 1 (gaps of 30-40 %) plus 0.01 noise
    rng = np.random.default_rng(4)
    axes = np.linalg.qr(rng.normal(size=(30, 5)))[0]                # (30, 5)
    x = (rng.normal(size=(3000, 5)) * np.sqrt([5.0, 3.5, 2.5, 1.5, 1.0])) @ axes.T + 0.1 * rng.normal(size=(3000, 30))
    model, info = LP.train_linear_pca_ae(x, 5, lam_cov=1.0, iters=200, seed=7)
    _, comps, _ = LP.pca_fit(x)
    final = model.decoders[-1].weight.numpy()
    angles = LP.nested_subspace_angles(final, comps[:5].T)
    assert angles.max() < 0.05, angles                              # measured < 1e-3 deg
    pca = LP.pca_heldout_errors(LP.pca_fit(x), x, 5)
    for k in range(1, 6):
        assert info[k - 1]["mse"] == pytest.approx(pca[k], rel=1e-6), k
        assert info[k - 1]["cov"] < 1e-10


class _PCADecoder(torch.nn.Module):
    """Linear PCA as a model: codes are the coordinates on the axes, decode adds them back."""

    def __init__(self, mean, comps, side):
        super().__init__()
        self.mean, self.comps, self.side = torch.from_numpy(mean), torch.from_numpy(comps), side

    def encode(self, x):
        return (x.reshape(len(x), -1).double() - self.mean) @ self.comps.T

    def decode(self, z):
        return (self.mean + z.double() @ self.comps).reshape(len(z), 1, self.side, self.side).float()


def test_ablation_shares_of_linear_pca_are_its_variance_shares():
    rng = np.random.default_rng(5)
    x = (rng.normal(size=(2000, 16)) * np.linspace(2.0, 0.1, 16)).reshape(2000, 4, 4).astype(np.float32)
    mean, comps, var = LP.pca_fit(x)
    model = _PCADecoder(mean, comps[:3], 4)
    codes = model.encode(torch.from_numpy(x)).numpy()
    total = float(np.mean((x - x.mean(0)) ** 2, dtype=np.float64))
    shares = P.ablation_shares(model, x, codes, total)
    np.testing.assert_allclose(shares, var[:3] / var.sum(), rtol=1e-4)   # float32 decoding


def test_stage_errors_match_pca_ae_reconstruct():
    x = np.random.default_rng(6).random((40, 12, 12)).astype(np.float32)
    model = PCAAE(PCAAEConfig(size=12, n_stages=3, packet=(1, 2, 1)), seed=0)
    for _ in range(3):
        model.add_stage()
    model.eval()
    codes = P.encode_all(model, x)
    errs = P.stage_errors(model, x, codes)
    ref = [P.recon_mse(model, x, stage=k) for k in (1, 2, 3)]
    np.testing.assert_allclose(errs, ref, rtol=1e-6)


def test_factor_table_and_traversal_metrics_known_answers():
    rng = np.random.default_rng(7)
    morph = rng.normal(size=(200, len(FIELDS)))
    labels = np.repeat(np.arange(10), 20)
    codes = np.column_stack([np.exp(morph[:, 2]), labels.astype(float)])   # monotone in thickness; the class
    table = RD.factor_table(codes, morph, labels)
    assert table.shape == (len(RD.FACTORS), 2)
    assert table[2, 0] == pytest.approx(1.0) and table[-1, 1] == pytest.approx(1.0)
    traversal = np.zeros((1, 7, len(FIELDS)))
    traversal[0, :, 4] = np.linspace(0.0, 3.0, 7) * morph[:, 4].std()        # width moves by 3 sd
    out = RD.traversal_metrics(traversal, morph, "m")
    assert out["m.traversal.z1.top_measure"] == 4
    assert out["m.traversal.z1.top_change"] == pytest.approx(3.0)
