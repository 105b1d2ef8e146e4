"""Metrics shared by the validation experiments, one module per job:

- :mod:`~validation.metrics.compare`: generic comparisons (distances, correlations, fits,
  monotonicity) and latent statistics (covariance, correlation);
- :mod:`~validation.metrics.ellipse`: the PCAAE notebook's ellipse protocol (image measures,
  measure x component tables, matching, off-target excess);
- :mod:`~validation.metrics.disentanglement`: mutual information, MIG, DCI and SAP;
- :mod:`~validation.metrics.ordering`: PCA errors and explained-variance shares of stages;
- :mod:`~validation.metrics.filters`: a learned filter against a template, up to scale.

Every name is re-exported here: ``from validation import metrics as M; M.pearson(...)``.
Every function is pure numpy (scipy only for the assignment problem), checks its arguments
with :mod:`geoshape.checks` before any work, and returns plain floats or float64 arrays.

Conventions
-----------
- ``codes`` / ``z``: latent codes, array ``(n, d)`` (a 1-D array is one component, ``(n, 1)``).
- ``factors``: true generating factors, array ``(n, k)`` (``Labelled.factor_matrix()``).
- Images: ``(n, s, s)`` or ``(n, 1, s, s)``, row ``i`` / column ``j`` as in docs/conventions.md.
"""

from __future__ import annotations

from validation.metrics import compare, disentanglement, ellipse, filters, ordering
from validation.metrics.compare import (
    coefficient_of_determination,
    cosine,
    is_monotonic,
    latent_correlation,
    latent_covariance,
    monotonic_fraction,
    pearson,
    r_squared,
    relative_l2,
    spearman,
)
from validation.metrics.disentanglement import (
    N_BINS,
    DCIResult,
    dci,
    dci_gbt,
    discretize,
    entropy_discrete,
    mig,
    mutual_info_discrete,
    mutual_info_matrix,
    sap,
    sap_scores,
)
from validation.metrics.ellipse import abs_correlation_table, best_assignment, ellipse_measures, off_target_excess
from validation.metrics.filters import (
    PHI,
    PSI,
    filter_cosine,
    filter_scale,
    identifiable_taps,
    kernel_template,
    match_channels,
)
from validation.metrics.ordering import explained_variance_shares, pca_errors

__all__ = [*compare.__all__, *ellipse.__all__, *disentanglement.__all__, *ordering.__all__, *filters.__all__]
