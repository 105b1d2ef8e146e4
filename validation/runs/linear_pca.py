"""Linear PCA and the PCA-AE with linear stages: what pca_ae_digits holds its nets to.

- :func:`pca_fit`, :func:`pca_heldout_errors`: linear PCA fitted on a training set, and its
  error on a test set with k = 0 .. k_max components (the comparison a model trained on the
  same set is held to);
- :func:`nested_subspace_angles`: principal angles between nested spans;
- :class:`LinearPCAAE`, :func:`train_linear_pca_ae`: eq. 17's staged objective with linear
  stages, minimised by full-batch L-BFGS (the sanity check that it recovers PCA in order).
"""

from __future__ import annotations

import numpy as np
import torch

from validation.core import limited_threads

__all__ = ["LBFGS_RECIPE", "pca_fit", "pca_heldout_errors", "nested_subspace_angles", "LinearPCAAE", "train_linear_pca_ae"]


def pca_fit(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear PCA of ``images`` (n, ...) by numpy SVD of the centred set: ``(mean (p,),
    components (r, p), variances (r,))``, components orthonormal rows in decreasing variance,
    variances normalised by n (r = min(n, p))."""
    x = np.asarray(images, np.float64).reshape(len(images), -1)  # (n, p)
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt, s**2 / len(x)


def pca_heldout_errors(pca: tuple[np.ndarray, np.ndarray, np.ndarray], test: np.ndarray, k_max: int) -> np.ndarray:
    """Per-pixel MSE on ``test`` of a linear PCA fitted on a training set (``pca``, the
    :func:`pca_fit` of that set): each test image reconstructed as the training mean plus its
    projection on the top k components, for k = 0 .. k_max. (k_max + 1,). The comparison a
    model trained on the same training set is held to (the test set's own PCA,
    ``validation.metrics.pca_errors``, is a floor no model can beat).

    >>> x = np.array([[0.0, 0.0], [2.0, 1.0], [4.0, 2.0]])          # on the line y = x / 2
    >>> pca_heldout_errors(pca_fit(x), np.array([[2.0, 2.0]]), 2).round(6).tolist()
    [0.5, 0.4, 0.0]
    """
    mean, comps, _ = pca
    xc = np.asarray(test, np.float64).reshape(len(test), -1) - mean  # (m, p)
    if comps.shape[1] != xc.shape[1] or not 0 <= k_max <= comps.shape[0]:
        raise ValueError(f"test must have the training set's {comps.shape[1]} pixels and k_max be in "
                         f"[0, {comps.shape[0]}], got {xc.shape[1]} and {k_max}")
    coef = xc @ comps[:k_max].T                                       # (m, k_max)
    out = [float(np.mean(xc**2))]
    resid = xc.copy()
    for k in range(k_max):
        resid -= np.outer(coef[:, k], comps[k])
        out.append(float(np.mean(resid**2)))
    return np.array(out)


def nested_subspace_angles(directions: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Largest principal angle, in degrees, between the span of the first k columns of
    ``directions`` (p, K) and that of the first k columns of ``basis`` (p, >= K), for
    k = 1 .. K (``scipy.linalg.subspace_angles``). (K,); 0 when the nested spans agree.

    >>> e = np.eye(3)
    >>> c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    >>> nested_subspace_angles(np.column_stack([c * e[0] + s * e[2], e[1]]), e).round(6).tolist()
    [30.0, 30.0]
    """
    from scipy.linalg import subspace_angles

    a, b = np.asarray(directions, np.float64), np.asarray(basis, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0] or b.shape[1] < a.shape[1]:
        raise ValueError(f"directions (p, K) and basis (p, >= K) must share p, got {a.shape} and {b.shape}")
    return np.array([float(np.degrees(subspace_angles(a[:, :k], b[:, :k]).max()))
                     for k in range(1, a.shape[1] + 1)])


class LinearPCAAE(torch.nn.Module):
    """The PCA-AE with linear stages, float64: the sanity check that eq. 17's staged objective
    recovers linear PCA, components in order (pca_ae_digits).

    Stage k adds an encoder row ``e_k`` (p,) whose output is standardised over the training
    set, ``z_k = e_k . (x - mean) / sd_k`` (the shift- and scale-free BatchNorm of
    :mod:`nets.pca_ae`, with the training set's exact statistics), and a fresh decoder
    ``x_hat = W_k z_{1..k} + b_k`` (``W_k`` (p, k)); earlier stages are frozen. Images are
    flattened: ``encode`` (n, ...) -> (n, k), ``decode`` (n, k) -> (n, p).

    :meth:`loss` is eq. 17 on the whole training set -- per-pixel MSE plus ``lam_cov`` times
    the mean squared covariance of the new component with each earlier one
    (``nets.pca_ae.covariance_loss`` of the codes) -- written through the training set's mean
    and covariance, on which a full-batch loss of a linear model depends alone: the same
    number as on the images (tested), at a fraction of the cost.

    Examples
    --------
    >>> m = LinearPCAAE(np.zeros(4), np.diag([3.0, 2.0, 1.0, 0.5]))
    >>> m.add_stage(torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64))
    1
    >>> m.encode(torch.tensor([[2.0, 0.0, 0.0, 0.0]], dtype=torch.float64)).tolist()   # 2 / sqrt(3)
    [[1.1547005383792517]]
    """

    def __init__(self, mean: np.ndarray, cov: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, np.float64)))
        self.register_buffer("cov", torch.as_tensor(np.asarray(cov, np.float64)))
        self.encoders = torch.nn.ParameterList()   # e_k (p,), frozen once their stage is trained
        self.decoders = torch.nn.ModuleList()      # Linear(k, p) of stage k

    @property
    def stage(self) -> int:
        return len(self.encoders)

    def add_stage(self, e: torch.Tensor, decoder: torch.nn.Linear | None = None) -> int:
        """Freeze the trained stages, append encoder row ``e`` (p,) and ``decoder`` (a
        Linear(k, p); default zero weights, the mean as bias). Returns the new stage k."""
        for prm in self.parameters():
            prm.requires_grad_(False)
        k = self.stage + 1
        if decoder is None:
            decoder = torch.nn.Linear(k, self.mean.shape[0], dtype=torch.float64)
            torch.nn.init.zeros_(decoder.weight)
            with torch.no_grad():
                decoder.bias.copy_(self.mean)
        self.encoders.append(torch.nn.Parameter(e.detach().clone().to(torch.float64)))
        self.decoders.append(decoder)
        return k

    def directions(self, stage: int | None = None) -> torch.Tensor:
        """The encoder rows of stages 1..stage as columns (p, k), scaled to unit-variance
        codes (``e_k / sd_k``)."""
        e = torch.stack(list(self.encoders[: stage or self.stage]), dim=1)  # (p, k)
        return e / torch.sqrt(torch.einsum("pk,pq,qk->k", e, self.cov, e))

    def encode(self, x: torch.Tensor, stage: int | None = None) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1).to(torch.float64)
        return (x - self.mean) @ self.directions(stage)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoders[z.shape[1] - 1](z)

    def reconstruct(self, x: torch.Tensor, stage: int) -> torch.Tensor:
        return self.decode(self.encode(x, stage))

    def loss(self, lam_cov: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(eq. 17, its MSE term, its covariance term before ``lam_cov``) of the current stage on
        the training set whose moments the model holds. With ``D`` the unit-variance directions,
        ``G = C D`` and ``R = D^T C D`` (the codes' covariance):
        ``MSE = (tr C - 2 <W, G> + <W^T W, R> + |mean - b|^2) / p``, and the covariance term is
        the mean of ``R[j, k]^2`` over the earlier components j (0 at stage 1)."""
        d = self.directions()                        # (p, k)
        g = self.cov @ d                             # (p, k)
        r = d.T @ g                                  # (k, k): the codes' covariance
        dec = self.decoders[-1]
        w, b = dec.weight, dec.bias
        p = self.cov.shape[0]
        mse = (torch.trace(self.cov) - 2.0 * torch.sum(w * g) + torch.sum((w.T @ w) * r)
               + torch.sum((self.mean - b) ** 2)) / p
        k = d.shape[1]
        cov = torch.mean(r[: k - 1, k - 1] ** 2) if k > 1 else torch.zeros((), dtype=mse.dtype)
        return mse + lam_cov * cov, mse, cov


#: The linear PCA-AE's optimiser, one full-batch L-BFGS run a stage (``max_iter`` is the
#: caller's ``iters``); recorded in ``config.json`` by the experiments that use it.
LBFGS_RECIPE = {"optimizer": "torch.optim.LBFGS", "lr": 1.0, "history_size": 50, "line_search_fn": "strong_wolfe",
                "tolerance_grad": 1e-14, "tolerance_change": 1e-16, "batch": "all images (float64)",
                "init": "decoder weights N(0, 0.01^2), bias the mean image, encoder row N(0, 1/p)"}


def train_linear_pca_ae(images: np.ndarray, n_stages: int, *, lam_cov: float, iters: int, seed: int,
                        threads: int = 1) -> tuple[LinearPCAAE, list[dict]]:
    """Train a :class:`LinearPCAAE` on ``images`` (n, ...) stage by stage: each stage's new
    encoder row and decoder minimise :meth:`LinearPCAAE.loss` by full-batch L-BFGS (``iters``
    iterations at most, strong-Wolfe line search) from weights drawn with ``seed`` (a named
    stream of the run). Full-batch L-BFGS, because the objective is flat along the directions
    that separate neighbouring principal components (MNIST's eigenvalues differ by 10-25 %):
    minibatch Adam left the second component 30-50 degrees off its principal axis
    (docs/results/pca_ae_digits.md).
    Returns (model in eval mode, one ``{"loss", "mse", "cov", "iters"}`` per stage)."""
    x = np.asarray(images, np.float64).reshape(len(images), -1)  # (n, p)
    mean = x.mean(axis=0)
    xc = x - mean
    model = LinearPCAAE(mean, xc.T @ xc / len(x))
    p = x.shape[1]
    gen = torch.Generator().manual_seed(int(seed))
    info = []
    with limited_threads(threads):
        for k in range(1, n_stages + 1):
            dec = torch.nn.Linear(k, p, dtype=torch.float64)
            with torch.no_grad():
                dec.weight.copy_(torch.randn(p, k, generator=gen, dtype=torch.float64) * 0.01)
                dec.bias.copy_(torch.from_numpy(mean))
            model.add_stage(torch.randn(p, generator=gen, dtype=torch.float64) / np.sqrt(p), dec)
            params = [model.encoders[-1], dec.weight, dec.bias]
            r = LBFGS_RECIPE
            opt = torch.optim.LBFGS(params, lr=r["lr"], max_iter=iters, history_size=r["history_size"],
                                    line_search_fn=r["line_search_fn"], tolerance_grad=r["tolerance_grad"],
                                    tolerance_change=r["tolerance_change"])

            def closure():
                opt.zero_grad()
                total = model.loss(lam_cov)[0]
                total.backward()
                return total

            opt.step(closure)
            with torch.no_grad():
                total, mse, cov = model.loss(lam_cov)
            info.append({"loss": float(total), "mse": float(mse), "cov": float(cov),
                         "iters": int(opt.state[params[0]]["n_iter"])})
    for prm in model.parameters():
        prm.requires_grad_(False)
    return model.eval(), info
