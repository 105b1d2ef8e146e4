"""The measures of ``validation.pca_ae_digits``: the linear check and one model's measures.

- :func:`linear_check`: the PCA-AE with linear stages (``validation.runs.linear_pca``) held
  against linear PCA of the training set, principal angles for every k;
- :func:`measure_model`: every measure of one trained model on the test digits (test MSE
  against PCA, stage and ablation variance shares, latent correlation, what each component
  tracks among :data:`FACTORS`, MIG / DCI, traversal morphometrics).

``config`` arguments are the experiment's config (``n_components``, ``lam_cov``,
``linear_iters``, ``torch_threads``, ``dci_bins``).
"""

from __future__ import annotations

import numpy as np
import scipy.stats
import torch

import geoshape
from geoshape.morphometrics import FIELDS
from nets import PCAAE
from validation import metrics as M
from validation.runs.linear_pca import nested_subspace_angles, train_linear_pca_ae
from validation.runs.pca import (ablation_shares, correlation_ratio, covariance_metrics, decoded_mse, encode_all,
                                 navigation_grid, one_vs_rest_spearman, stage_errors)

__all__ = ["FACTORS", "ANGLE_GOAL_DEG", "TRAVERSAL_STEPS", "linear_check", "factor_table", "factor_metrics",
           "disentanglement_metrics", "traversal_measures", "traversal_metrics", "measure_model"]

#: The factors of the digits: the six Morpho-MNIST morphometrics, then the class. Metric
#: values that name a factor (``best_morpho``, ``dominant_factor``, ``top_measure``) are indices
#: into this tuple.
FACTORS = FIELDS + ("class",)
#: The linear check's goal: the largest principal angle between stage k's decoder directions
#: and the top-k PCA subspace, for every k <= n_components, below this (degrees).
ANGLE_GOAL_DEG = 10.0
#: Traversal steps of each component (5 % to 95 % quantile of its test codes).
TRAVERSAL_STEPS = 7

# ----------------------------------------------------------------------------- the linear check
def linear_check(train_x: np.ndarray, test_x: np.ndarray, pca: tuple, pca_test: np.ndarray, config,
                 seed: int) -> tuple[dict, dict]:
    """Train the linear PCA-AE (weights from ``seed``) and hold it against linear PCA of the
    training set: for every k, the largest principal angle between the span of stage k's
    decoder columns and the top-k PCA subspace (``linear.angle_deg.k{k}``), the same for the
    first k columns of the last stage's decoder (``linear.nested_angle_deg.k{k}``: the
    components are nested in order), and each column alone against its own principal axis
    (``linear.axis_angle_deg.z{k}``); the test MSE after each stage beside PCA's. ``pca``: the
    training set's :func:`~validation.runs.linear_pca.pca_fit`, ``pca_test`` its test errors. Returns
    (metrics, arrays for linear_check.npz)."""
    d = config.n_components
    model, info = train_linear_pca_ae(train_x, d, lam_cov=config.lam_cov, iters=config.linear_iters, seed=seed,
                                      threads=config.torch_threads)
    _, comps, var = pca
    basis = comps[:d].T                                                     # (p, d)
    final = model.decoders[-1].weight.numpy()                               # (p, d)
    out: dict[str, float] = {}
    stage_angles = [nested_subspace_angles(model.decoders[k - 1].weight.numpy(), basis)[-1] for k in range(1, d + 1)]
    nested = nested_subspace_angles(final, basis)
    with torch.no_grad():
        x = torch.from_numpy(test_x)
        z = model.encode(x).numpy()
        errs = [float(torch.mean((model.reconstruct(x, k) - x.reshape(len(x), -1).double()) ** 2))
                for k in range(1, d + 1)]
    for k in range(1, d + 1):
        out[f"linear.angle_deg.k{k}"] = stage_angles[k - 1]
        out[f"linear.nested_angle_deg.k{k}"] = nested[k - 1]
        out[f"linear.axis_angle_deg.z{k}"] = nested_subspace_angles(final[:, k - 1 : k], basis[:, k - 1 : k])[0]
        out[f"linear.stage{k}.recon_mse"] = errs[k - 1]
        out[f"linear.stage{k}.mse_over_pca"] = errs[k - 1] / pca_test[k]
        out[f"linear.stage{k}.lbfgs_iters"] = info[k - 1]["iters"]
    out["linear.angle_max_deg"] = float(max(stage_angles))
    out["linear.nested_angle_max_deg"] = float(nested.max())
    corr = M.latent_correlation(z)
    out["linear.latent_abs_corr_max"] = float(np.abs(corr[~np.eye(d, dtype=bool)]).max())
    out["goal.linear_angles_met"] = int(max(out["linear.angle_max_deg"], out["linear.nested_angle_max_deg"])
                                        < ANGLE_GOAL_DEG)
    arrays = {"decoder_directions": final.T.astype(np.float32), "pca_components": comps[:d].astype(np.float32),
              "pca_variances": var[:d], "stage_angles_deg": np.array(stage_angles), "nested_angles_deg": nested}
    return out, arrays


# ----------------------------------------------------------------------------- one model's measures
def factor_table(codes: np.ndarray, morph: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(7, d): |Spearman| (``scipy.stats.spearmanr``) of each morphometric with each component,
    then the class's correlation ratio eta with each component (last row)."""
    m = morph.shape[1]
    rho = scipy.stats.spearmanr(np.column_stack([morph, codes])).statistic   # (m + d, m + d)
    table = np.abs(np.nan_to_num(np.asarray(rho)[:m, m:]))
    eta = [correlation_ratio(codes[:, j], labels) for j in range(codes.shape[1])]
    return np.vstack([table, eta])


def factor_metrics(codes: np.ndarray, morph: np.ndarray, labels: np.ndarray, morph_rho: np.ndarray,
                   prefix: str) -> tuple[dict, np.ndarray]:
    """What each component tracks: the full table (:func:`factor_table`), for component j its
    best morphometric and |Spearman|, its class eta and best one-vs-rest class, and its dominant
    factor (the larger of the two); the on-target / off-target reading (morphometrics matched
    to components by best assignment; off-target excess over the morphometrics' own |Spearman|
    ``morph_rho``); the mean dominant value over z1..z3 (``first3``, a PCA-AE's claim of order)
    and over the model's best three components (``best3``). Returns (metrics, table)."""
    table = factor_table(codes, morph, labels)
    d = codes.shape[1]
    out: dict[str, float] = {}
    for i, f in enumerate(FACTORS):
        for j in range(d):
            out[f"{prefix}.{'eta' if f == 'class' else 'spearman'}.{f}.z{j + 1}"] = table[i, j]
    dominant = []
    for j in range(d):
        best = int(np.argmax(table[:-1, j]))
        cls, ovr = one_vs_rest_spearman(codes[:, j], labels)
        dom = int(np.argmax(table[:, j]))
        out[f"{prefix}.z{j + 1}.best_morpho"] = best
        out[f"{prefix}.z{j + 1}.best_morpho_rho"] = table[best, j]
        out[f"{prefix}.z{j + 1}.class_eta"] = table[-1, j]
        out[f"{prefix}.z{j + 1}.best_class"] = cls
        out[f"{prefix}.z{j + 1}.best_class_rho"] = ovr
        out[f"{prefix}.z{j + 1}.dominant_factor"] = dom
        out[f"{prefix}.z{j + 1}.dominant"] = table[dom, j]
        dominant.append(table[dom, j])
    out[f"{prefix}.first3_dominant_mean"] = float(np.mean(dominant[:3]))
    out[f"{prefix}.best3_dominant_mean"] = float(np.mean(sorted(dominant)[-3:]))
    morph_table = table[:-1]
    cols = M.best_assignment(morph_table)[0]
    excess = M.off_target_excess(morph_table, cols, morph_rho)
    for i, f in enumerate(FIELDS):
        out[f"{prefix}.on_target.{f}"] = morph_table[i, cols[i]]
        out[f"{prefix}.matched_component.{f}"] = int(cols[i]) + 1
    mask = np.ones(morph_table.shape, bool)
    mask[np.arange(len(FIELDS)), cols] = False
    out[f"{prefix}.on_target_mean"] = float(morph_table[~mask].mean())
    out[f"{prefix}.off_target_max"] = float(morph_table[mask].max())
    out[f"{prefix}.off_target_excess_max"] = float(np.nanmax(excess))
    return out, table


def disentanglement_metrics(codes: np.ndarray, factors: np.ndarray, morph: np.ndarray, prefix: str,
                            dci_seed: int, dci_rows: np.ndarray, dci_bins: int) -> dict:
    """MIG against the seven factors, the continuous morphometrics discretised into
    ``M.N_BINS`` histogram bins and the class as its ten labels (disentanglement_lib's recipe);
    DCI with its gradient-boosted trees, the morphometrics discretised into ``dci_bins`` bins,
    fitted on the test codes ``dci_rows`` (split drawn from ``dci_seed``); and the project's
    histogram-regression DCI against the six morphometrics as numbers (``dci_hist``)."""
    gbt = M.dci_gbt(codes[dci_rows], factors[dci_rows], rng=dci_seed, factor_bins=dci_bins)
    hist = M.dci(codes, morph, rng=dci_seed)
    return {f"{prefix}.mig": M.mig(codes, factors, factor_bins=M.N_BINS),
            f"{prefix}.dci_disentanglement": gbt.disentanglement, f"{prefix}.dci_completeness": gbt.completeness,
            f"{prefix}.dci_informativeness": gbt.informativeness,
            f"{prefix}.dci_hist_disentanglement": hist.disentanglement,
            f"{prefix}.dci_hist_completeness": hist.completeness,
            f"{prefix}.dci_hist_informativeness": hist.informativeness}


def traversal_measures(grid: np.ndarray) -> np.ndarray:
    """The morphometrics (d, steps, 6) of a navigation grid's images (d, steps, s, s), clipped
    to [0, 1] (a linear decoder may overshoot); NaN for a blank image."""
    d, n, s, _ = grid.shape
    m = geoshape.morphometrics(np.clip(grid.reshape(d * n, s, s), 0.0, 1.0).astype(np.float64))
    return m.as_array().reshape(d, n, len(FIELDS))


def traversal_metrics(traversal: np.ndarray, morph: np.ndarray, prefix: str) -> dict:
    """For each component, the morphometric that changes most along its traversal, in test
    standard deviations (``top_measure``, an index into FACTORS, and ``top_change``)."""
    sd = morph.std(axis=0)
    out: dict[str, float] = {}
    for j in range(traversal.shape[0]):
        t = traversal[j]
        change = np.zeros(len(FIELDS))
        ok = np.isfinite(t).all(axis=1)
        if ok.sum() >= 2:
            change = (t[ok].max(axis=0) - t[ok].min(axis=0)) / sd
        best = int(np.argmax(change))
        out[f"{prefix}.traversal.z{j + 1}.top_measure"] = best
        out[f"{prefix}.traversal.z{j + 1}.top_change"] = float(change[best])
    return out


def measure_model(model, name: str, test_x: np.ndarray, data: dict, pca_test: np.ndarray,
                  dci_seed: int, config) -> tuple[dict, dict]:
    """Every measure of one trained model (see the module docstring). ``data``: the test
    set's ``morph`` (n, 6), ``labels``, ``factors`` (n, 7), ``morph_rho``, ``total_variance`` and
    ``dci_rows`` (the test digits DCI's trees see).
    Returns (metrics, arrays for the figures)."""
    codes = encode_all(model, test_x)                                # (n, d), the one pass through the encoders
    d = codes.shape[1]
    out = {f"{name}.recon_mse": decoded_mse(model.decode, codes, test_x)}
    out[f"{name}.mse_over_pca"] = out[f"{name}.recon_mse"] / pca_test[d]
    if isinstance(model, PCAAE):
        errs = stage_errors(model, test_x, codes)
        shares = M.explained_variance_shares(errs, data["total_variance"])
        dims = np.cumsum(model.config.packets)
        ratios = [e / pca_test[k] for e, k in zip(errs, dims)]
        for k, (e, sh, r) in enumerate(zip(errs, shares, ratios), start=1):
            out[f"{name}.stage{k}.recon_mse"] = e
            out[f"{name}.stage{k}.variance_share"] = sh
            out[f"{name}.stage{k}.mse_over_pca"] = r
        out[f"{name}.stages_decreasing"] = int(bool(np.all(np.diff(errs) < 0)))
        out[f"{name}.shares_decreasing"] = int(bool(np.all(np.diff(shares) < 0)))
        out[f"{name}.stages_beat_pca"] = int(max(ratios) <= 1.0)
        out[f"{name}.stage_mse_over_pca_max"] = float(max(ratios))
    shares = ablation_shares(model, test_x, codes, data["total_variance"])
    for j, s in enumerate(shares, start=1):
        out[f"{name}.explained.z{j}"] = s
    out[f"{name}.explained_decreasing"] = int(bool(np.all(np.diff(shares) < 0)))
    m, _, corr = covariance_metrics(codes, name)
    out.update(m)
    m, table = factor_metrics(codes, data["morph"], data["labels"], data["morph_rho"], name)
    out.update(m)
    out.update(disentanglement_metrics(codes, data["factors"], data["morph"], name, dci_seed, data["dci_rows"],
                                       config.dci_bins))
    grid = navigation_grid(model, codes, n_steps=TRAVERSAL_STEPS)
    traversal = traversal_measures(grid)
    out.update(traversal_metrics(traversal, data["morph"], name))
    return out, {"grid": grid, "table": table, "corr": corr, "traversal": traversal}
