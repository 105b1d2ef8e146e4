"""validation.pca_ae_fit: the PCA-AE and its baselines on a user's image file. The --quick run
(its budget cut to a few steps) on 200 ellipses written to disk with their factors as CSV writes
every output and the on-target table; bad paths and CSV files are refused before any training;
the same seed gives the same metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

import geoshape
from validation import pca_ae_fit as F

N, SIZE, STEPS, LATENT = 200, 28, 3, 2
FACTORS = ("a", "b", "theta")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fit")
    lab = geoshape.random_ellipses(N, size=SIZE, a=(2.0, 13.0), b=(2.0, 13.0), theta=(0.0, np.pi / 2), rng=5)
    # geoshape's rendering may exceed 1 by float rounding (1.000001); load_images wants [0, 1]
    np.savez(d / "ellipses.npz", images=np.clip(np.asarray(lab.images, np.float32), 0.0, 1.0))
    rows = ["a,b,theta"] + [",".join(repr(float(lab.factors[k][i])) for k in FACTORS) for i in range(N)]
    (d / "factors.csv").write_text("\n".join(rows) + "\n")
    return d


@pytest.fixture(scope="module")
def quick_run(files, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "a"
    res = F.cli(["--quick", "--data", str(files / "ellipses.npz"), "--factors", str(files / "factors.csv"),
                 "--steps", str(STEPS), "--latent", str(LATENT), "--out", str(out)])
    return res, out


def test_quick_run_writes_every_output_and_the_on_target_table(quick_run, files):
    res, out = quick_run
    assert res.config.quick_run and res.config.latent == LATENT
    names = {"config.json", "metrics.json", "weights.pt", "ordering.png", "covariance.png", "correlations.png"}
    names |= {f"{kind}_{m}.png" for kind in ("traversals", "reconstructions") for m in F.MODELS}
    assert names <= {p.name for p in out.iterdir()}, names - {p.name for p in out.iterdir()}
    m = json.loads((out / "metrics.json").read_text())
    assert (m["data.n_images"], m["data.n_test"], m["data.size"]) == (N, 40, SIZE)
    for model in F.MODELS:
        for f in FACTORS:
            assert all(0 <= m[f"{model}.spearman.{f}.z{j}"] <= 1 for j in range(1, LATENT + 1))
        # 3 factors, 2 components: the one-to-one assignment matches two factors, leaves one
        matched = sorted(m[f"{model}.matched_component.{f}"] for f in FACTORS)
        assert matched == [0, 1, 2], matched
        for f in FACTORS:
            on = m[f"{model}.on_target.{f}"]
            assert (on is None) == (m[f"{model}.matched_component.{f}"] == 0) and (on is None or 0 <= on <= 1)
        for key in ("off_target_max", "mig", "dci_disentanglement", "dci_informativeness", "recon_mse",
                    "latent_abs_corr_max", "cov.z1z2"):
            assert np.isfinite(m[f"{model}.{key}"]), (model, key)
    assert not any(f"stage{LATENT + 1}" in k for k in m)
    # per stage against linear PCA with as many components, shares in order
    for k in range(1, LATENT + 1):
        assert m[f"pca.k{k}.recon_mse"] <= m[f"pca_ae.stage{k}.recon_mse"] + 1e-9, k
        assert np.isfinite(m[f"pca_ae.stage{k}.variance_share"]) and 0 < m[f"pca.k{k}.variance_share"] < 1
    assert "a |rho|" in res.table and "linear PCA mse" in res.table
    rec = json.loads((out / "config.json").read_text())
    assert rec["config"]["data"].endswith("ellipses.npz") and rec["resolved"]["factor_names"] == list(FACTORS)
    assert len(rec["resolved"]["data_sha256"]) == 64
    assert {"split", "train/pca_ae", "train/ae", "train/vae", "metrics/dci"} <= set(rec["streams"])
    assert rec["trainings"]["vae"]["train_config"]["steps"] == STEPS


def test_the_same_seed_gives_the_same_metrics(quick_run, tmp_path):
    res, out = quick_run
    again = F.main(res.config.replace(out=str(tmp_path / "b")))

    def numbers(folder):  # as written (an unmatched factor's NaN is null there)
        m = json.loads((folder / "metrics.json").read_text())
        return {k: v for k, v in m.items() if not k.startswith("seconds.")}

    assert numbers(out) == numbers(again.out)


def _write_csv(path, rows):
    path.write_text("\n".join(rows) + "\n")
    return str(path)


@pytest.mark.parametrize("case, field", [
    ("no data file", "data"), ("no factors file", "factors"), ("one row short", "factors"),
    ("a word in a cell", "factors"), ("no header", "factors"), ("constant column", "factors"),
    ("ragged row", "factors"), ("factors without data", "factors"), ("not square", "data"),
    ("too few images", "data"), ("not images", "data")])
def test_bad_inputs_are_refused_before_any_training(case, field, files, tmp_path, monkeypatch, capsys):
    def no_training(*a, **k):
        raise AssertionError("training started")

    monkeypatch.setattr(F, "fit_variants", no_training)
    monkeypatch.setattr(F, "fit", no_training)
    data, csv = str(files / "ellipses.npz"), str(files / "factors.csv")
    good = (files / "factors.csv").read_text().splitlines()
    if case == "no data file":
        data = str(tmp_path / "missing.npz")
    elif case == "no factors file":
        csv = str(tmp_path / "missing.csv")
    elif case == "one row short":
        csv = _write_csv(tmp_path / "f.csv", good[:-1])
    elif case == "a word in a cell":
        csv = _write_csv(tmp_path / "f.csv", good[:5] + ["1.0,two,3.0"] + good[6:])
    elif case == "no header":
        csv = _write_csv(tmp_path / "f.csv", good[1:])
    elif case == "constant column":
        csv = _write_csv(tmp_path / "f.csv", ["a,c"] + [f"{i},1.0" for i in range(N)])
    elif case == "ragged row":
        csv = _write_csv(tmp_path / "f.csv", good[:3] + ["1.0,2.0"] + good[4:])
    elif case == "factors without data":
        data = None
    elif case == "not square":
        np.save(tmp_path / "x.npy", np.zeros((N, 16, 20), np.float32))
        data = str(tmp_path / "x.npy")
    elif case == "too few images":
        np.save(tmp_path / "x.npy", np.zeros((20, 16, 16), np.float32))
        data, csv = str(tmp_path / "x.npy"), None
    elif case == "not images":
        (tmp_path / "x.npy").write_text("not an array")
        data = str(tmp_path / "x.npy")
    with pytest.raises(ValueError, match=field):
        F.Config.quick(data=data, factors=csv, out=str(tmp_path / "o"))
    argv = ["--quick", "--out", str(tmp_path / "o")] + (["--data", data] if data else []) + (
        ["--factors", csv] if csv else [])
    with pytest.raises(SystemExit) as e:       # the command line says the same and stops
        F.cli(argv)
    assert e.value.code == 2 and field in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_demo_set_needs_no_file():
    cfg = F.Config.quick()
    assert cfg.data is None and cfg.output_dir.as_posix() == "results/pca_ae_fit_quick"
    images, names, f = F.demo_data(np.random.default_rng(0))
    assert images.shape == (F.DEMO["n"], F.DEMO["size"], F.DEMO["size"]) and names == F.DEMO_FACTORS
    assert f.shape == (F.DEMO["n"], 3)
