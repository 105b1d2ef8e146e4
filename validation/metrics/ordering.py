"""Ordering measures of a PCA-like latent: linear PCA's error with k components, and the
share of the data's variance each stage of a staged model explains."""

from __future__ import annotations

import math

import numpy as np

from validation.metrics._arrays import real, vector

__all__ = ["pca_errors", "explained_variance_shares"]


def pca_errors(images, k_max: int) -> np.ndarray:
    """Per-pixel MSE of the best affine rank-k reconstruction (PCA, numpy SVD) of ``images``,
    for k = 0 .. k_max; entry 0 is the total per-pixel variance (the mean image). (k_max+1,)."""
    x = real(images, "images", min_ndim=2, ndim_max=4)
    if x.shape[0] < 2:
        raise ValueError(f"images needs at least 2 samples, got shape {x.shape}")
    if x[0].size < 1:
        raise ValueError(f"images must not be empty (an axis of length 0), got shape {x.shape}")
    x = x.reshape(x.shape[0], -1)
    if isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)) or not (
        0 <= k_max <= min(x.shape) - 1
    ):
        raise ValueError(f"k_max must be an int in [0, {min(x.shape) - 1}], got {k_max!r}")
    xc = x - x.mean(0)
    s = np.linalg.svd(xc, compute_uv=False)
    lam = s**2 / x.size
    return np.array([lam[k:].sum() for k in range(k_max + 1)])


def explained_variance_shares(stage_errors, total_error) -> np.ndarray:
    """Share of the total variance explained by each stage: ``(e_{k-1} - e_k) / e_0`` with
    ``e_0 = total_error`` (per-pixel variance of the data, :func:`pca_errors` entry 0) and
    ``e_k = stage_errors[k-1]`` the reconstruction MSE after stage k. A PCA-like latent has
    decreasing, non-negative shares. Returns (K,)."""
    e = vector(stage_errors, "stage_errors", min_len=1)
    if isinstance(total_error, bool) or not isinstance(total_error, (int, float, np.floating)) or not (
        total_error > 0 and math.isfinite(total_error)
    ):
        raise ValueError(f"total_error must be a finite number > 0, got {total_error!r}")
    prev = np.concatenate([[float(total_error)], e[:-1]])
    return (prev - e) / float(total_error)
