"""PCA-AE family tests that need the validation package: the linear toy set whose principal
patterns the PCA-AE must recover in order (measured with ``validation.metrics``), and the
PCA-AE experiments' command line and output contract (``validation.core``,
``validation.pca_ae_grey_disks``). Moved here from tests/test_pca_ae.py, so that the
nets tests do not import the experiments."""

import numpy as np
import pytest
import torch

from nets.pca_ae import PCAAEConfig, train_pca_ae
from nets.train import TrainConfig
from validation import metrics as M


def _quick(steps=5, **kw):
    base = dict(steps=steps, batch_size=16, lr=1e-3, threads=1, progress=False, eval_every=0, val_fraction=0.0)
    base.update(kw)
    return TrainConfig(**base)


# --------------------------------------------------------------------------------------------
# the linear toy set: the PCA-AE recovers the patterns in order of variance


#: Largest gap between a stage's reconstruction error and PCA's residual on the linear toy.
PCA_RESIDUAL_GAP = 4e-3


def test_linear_toy_recovers_pattern_order():
    """Seed 0 of what holds over seeds. With the stages' named streams, 1000 steps, model
    seeds 0-5 (same data): the first two stages follow a1, a2 on every seed (|corr| >= 0.97),
    off-target |corr| <= 0.134, the stage errors decrease and stay within 3.6e-3 of PCA's
    residuals. The third stage is not recovered as a rule: it follows a3 with |corr| 0.82,
    0.98, 0.84, 0.98, 0.15, 0.98 (3 of 6 above 0.9; at 250 steps 1 of 6), so it is not asserted
    here -- a finding, not a tolerance to tune."""
    rng = np.random.default_rng(0)
    s, k = 16, 3
    patterns = np.linalg.qr(rng.normal(size=(s * s, k)))[0].T.reshape(k, s, s) * 4.0
    sigma = np.array([1.0, 0.5, 0.25])  # decreasing variance: the order to recover

    def make(n, seed):
        a = np.random.default_rng(seed).normal(size=(n, k)) * sigma
        return np.einsum("nk,kij->nij", a, patterns).astype(np.float32), a

    x, _ = make(4096, 1)
    xt, at = make(1000, 2)
    cfg = PCAAEConfig(size=s, n_stages=k, output="linear", widths=(8, 16))
    model, hist = train_pca_ae(cfg, x, _quick(steps=1000, batch_size=64, lr=3e-3, val_fraction=0.1), seed=0)
    assert len(hist) == k
    with torch.no_grad():
        z = model.encode(torch.from_numpy(xt)).numpy()
    _, table = M.abs_correlation_table(z, {f"a{i}": at[:, i] for i in range(k)})
    # components 1, 2 must follow coefficients 1, 2 (diagonal), nothing else (off-diagonal)
    diag, off = np.diag(table), table[~np.eye(k, dtype=bool)]
    assert diag[:2].min() > 0.9, f"|corr(z_i, a_i)| = {diag.round(3)}\n{table.round(3)}"
    assert off.max() < 0.2, f"off-target |corr| = {off.max():.3f}\n{table.round(3)}"
    with torch.no_grad():
        errs = [float(torch.mean((model.reconstruct(torch.from_numpy(xt), i + 1)[:, 0] - torch.from_numpy(xt)) ** 2))
                for i in range(k)]
    assert errs[0] > errs[1] > errs[2], f"reconstruction error per stage not decreasing: {errs}"
    # PCA's residual after i components: the per-pixel variance left, 16 / s^2 * sum sigma_j^2 over
    # j >= i (each pattern has squared norm 16). Measured at seed 0: 0.0203, 0.0046, 0.0010 against
    # 0.0195, 0.0039, 0; over seeds 0-5 the worst gap is 3.6e-3 (seed 4's third stage).
    ideal = [16.0 / s**2 * float(np.sum(sigma[i + 1:] ** 2)) for i in range(k)]
    gap = np.abs(np.array(errs) - ideal)
    assert gap.max() < PCA_RESIDUAL_GAP, f"stage errors {np.round(errs, 4)} vs PCA residuals {np.round(ideal, 4)}"


# --------------------------------------------------------------------------------------------
# the experiments' command line and output contract


def test_experiment_cli_parsing():
    from validation import pca_ae_grey_disks as G
    from validation.core import parse_cli

    cfg = parse_cli(G.Config, ["--quick", "--steps", "7", "--lam_strong", "3", "--seed", "2"], "")
    assert (cfg.steps, cfg.lam_strong, cfg.seed) == (7, 3.0, 2)
    assert cfg.n_train == G.Config.quick().n_train
    with pytest.raises(SystemExit):
        parse_cli(G.Config, ["--steps", "many"], "")
    with pytest.raises(ValueError, match="grey"):
        G.Config(grey_min=0.9, grey_max=0.1)


@pytest.mark.slow
def test_experiment_outputs_are_complete_and_reproducible(tmp_path):
    import json

    from validation import pca_ae_grey_disks as G

    cfg = G.Config(n_train=256, n_test=128, steps=3, batch_size=32, out=str(tmp_path / "a"))
    r1 = G.main(cfg)
    r2 = G.main(G.Config(**{**cfg.__dict__, "out": str(tmp_path / "b")}))
    for name in ("config.json", "metrics.json", "weights.pt", "navigation.png", "latent_scatter.png"):
        assert (tmp_path / "a" / name).is_file(), name
    on_disk = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert set(on_disk) == set(r1.metrics)
    assert all(v is None or isinstance(v, (int, float)) for v in on_disk.values())
    assert json.loads((tmp_path / "a" / "config.json").read_text())["config"]["steps"] == 3
    same = {k: v for k, v in r1.metrics.items() if not k.startswith("seconds.")}
    assert same == {k: v for k, v in r2.metrics.items() if not k.startswith("seconds.")}


# --------------------------------------------------------------------------------------------
# the two disk PCA-AE experiments, --quick, in the default suite: every metric their README
# headline is read from is written, finite and a correlation in [0, 1]. The headline figures
# themselves need the full runs (6 min each): 60 quick steps do not train the nets that far.
HEADLINE_KEYS = {
    "pca_ae_grey_disks": ("pca_ae.on_target.grey", "pca_ae.on_target.radius", "packet2.on_target.grey",
                          "packet2.on_target.radius", "ae.on_target.grey"),
    "pca_ae_position": ("pca_ae_1_1_1.on_target.x", "pca_ae_1_1_1.on_target.y", "pca_ae_1_2.on_target.x",
                        "pca_ae_1_2.on_target.y", "pca_ae_1_2.off_target_max", "pca_ae_2_1.off_target_max"),
}


@pytest.mark.parametrize("name", sorted(HEADLINE_KEYS))
def test_quick_run_writes_the_headline_metrics(name, tmp_path):
    import dataclasses
    import importlib
    import json
    import math

    mod = importlib.import_module(f"validation.{name}")
    res = mod.main(dataclasses.replace(mod.Config.quick(), out=str(tmp_path)))
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    for key in HEADLINE_KEYS[name]:
        v = on_disk[key]
        assert v is not None and math.isfinite(v) and 0.0 <= v <= 1.0, (key, v)
    assert (tmp_path / "config.json").is_file() and (tmp_path / "weights.pt").is_file()
    assert res.table.count("\n") >= 3
