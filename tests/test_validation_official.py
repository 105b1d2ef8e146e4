"""validation.official_model: the authors' layout trained their way, or read from Keras weights."""

import json

import h5py
import numpy as np
import pytest

from validation import official_model as om

KEYS = ("r2_z_area", "r2_z_radius", "monotone_share", "max_reversal", "mse", "radius_err_mean",
        "radius_err_max", "parameters", "best_step", "best_batch_loss", "mse_band_0_8", "mse_band_24_31.5")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("official")
    import dataclasses

    return om.main(dataclasses.replace(om.Config.quick(), out=str(out)))


def test_quick_run_writes_every_output_and_encodes_by_area(quick):
    m = json.loads((quick.out / "metrics.json").read_text())
    for k in KEYS:
        assert k in m, k
    for f in ("config.json", "weights.pt", "official_model.npz", "official_model_latent.png",
              "official_model_manifold.png", "official_model_recon.png"):
        assert (quick.out / f).is_file(), f
    assert m["parameters"] == 1116  # the authors' widths (1, 8, 4, 3, 2, 1) with biases
    # Keep-best checks the 0-based steps 0, 100, ..., 500 of the quick run.
    assert m["best_step"] in {1, 101, 201, 301, 401, 501}
    # The claim is that the code follows the area better than the radius. Over the quick runs
    # of seeds 0-5 (``python -m validation.runners.sweep official_model --quick --seeds 0:6``, 600
    # steps) R^2 on the area minus R^2 on the radius is 0.033, 0.020, 0.124, 0.120, -0.136 and
    # 0.122: the area wins on 5 of 6 seeds, by more than 0.05 on 3; seed 4's net (MSE 0.041,
    # the others 0.003-0.007) follows the radius. Seed 0: 0.993 against 0.960, monotone.
    assert m["r2_z_area"] > m["r2_z_radius"]
    # pinned: seed 0's margin is below 0.05 (a change in it is seen, not absorbed)
    assert not m["r2_z_area"] > m["r2_z_radius"] + 0.05, "seed 0's margin now exceeds 0.05: update the finding"
    assert m["r2_z_area"] > 0.9
    assert m["monotone_share"] > 0.9


def _write_authors_layout(path, rng):
    widths = (1, 8, 4, 3, 2, 1)
    with h5py.File(path, "w") as f:
        for i in range(5):
            g = f.create_group(f"conv2d_{i + 1}").create_group(f"conv2d_{i + 1}")
            g["kernel:0"] = rng.normal(0, 0.3, (3, 3, widths[i], widths[i + 1])).astype(np.float32)
            g["bias:0"] = np.zeros(widths[i + 1], np.float32)
            c_in, c_out = widths[5 - i], widths[4 - i]
            g = f.create_group(f"conv2d_transpose_{i + 1}").create_group(f"conv2d_transpose_{i + 1}")
            g["kernel:0"] = rng.normal(0, 0.3, (3, 3, c_out, c_in)).astype(np.float32)
            g["bias:0"] = np.zeros(c_out, np.float32)


def test_weights_file_is_analysed_without_training(tmp_path):
    path = tmp_path / "w.h5"
    _write_authors_layout(path, np.random.default_rng(0))
    cfg = om.Config(weights=str(path), n_test=30, n_manifold=11, out=str(tmp_path / "out"), progress=False)
    res = om.main(cfg)
    assert res.metrics["train_seconds"] == 0.0 and not res.histories
    assert not (tmp_path / "out" / "weights.pt").exists()
    assert np.isfinite(res.metrics["mse"])


@pytest.mark.parametrize("changes, match", [
    (dict(weights="/nonexistent.h5"), "weights"),
    (dict(max_radius=0.0), "max_radius"),
    (dict(batch_size=2000), "batch_size"),
    (dict(n_test=2), "n_test"),
])
def test_bad_config_is_refused(changes, match):
    with pytest.raises((ValueError, TypeError), match=match):
        om.Config(**changes)


# ----------------------------------------------------------------------------- missing radii, authors' protocol
@pytest.fixture(scope="module")
def gap_quick(tmp_path_factory):
    import dataclasses

    from validation import interpolation_official as io

    out = tmp_path_factory.mktemp("gap_official")
    return io.main(dataclasses.replace(io.Config.quick(), out=str(out)))


def test_gap_quick_run_writes_every_output_with_its_keys(gap_quick):
    m = json.loads((gap_quick.out / "metrics.json").read_text())
    for fam in ("none", "denoise", "encoder_l2", "contractive", "extrapolate"):
        for k in ("lam", "seeds", "fails", "gap_radius_err_mean", "gap_off_1px", "mse_gap", "mse_seen",
                  "monotone_share", "max_reversal", "squeeze", "area_share", "dead"):
            assert f"best.{fam}.{k}" in m, f"best.{fam}.{k}"
        assert m[f"best.{fam}.seeds"] == 2
    assert m["area_share_gap"] == pytest.approx((18**2 - 11**2) / 31.5**2)
    assert m["best.none.area_share"] == pytest.approx(m["area_share_gap"], rel=0.05)  # 60 test radii
    for f in ("config.json", "interpolation_official.npz", "official_latent.png", "official_recon.png",
              "official_manifold.png"):
        assert (gap_quick.out / f).is_file(), f
    assert "fails" in gap_quick.table and "extrapolate" in gap_quick.table
    n0 = int(m["best.none.fails"])
    assert f"without a penalty the gap fails on {n0}/2 seeds" in gap_quick.table
    assert f"fails on {int(m['best.extrapolate.fails'])}/2 seeds." in gap_quick.table


def test_verdict_names_only_the_regularisers_that_fail_on_fewer_seeds():
    from validation.interpolation_official import verdict

    best = {"none": {"lam": 0.0, "seeds": 5, "fails": 2},
            "denoise": {"lam": 0.2, "seeds": 5, "fails": 2},
            "contractive": {"lam": 0.01, "seeds": 5, "fails": 1},
            "extrapolate": {"lam": 0.0, "seeds": 5, "fails": 5}}
    assert verdict(best) == (
        "verdict: without a penalty the gap fails on 2/5 seeds; regularisers at their best weight "
        "that fail on fewer seeds: contractive @ 0.01 (denoise @ 0.2 2/5, contractive @ 0.01 1/5); "
        "extrapolation beyond the trained radii fails on 5/5 seeds.")
    best["contractive"]["fails"] = 3
    assert "fail on fewer seeds: none (" in verdict(best)
    assert verdict({"none": {"lam": 0.0, "seeds": 3, "fails": 0}}) == (
        "verdict: without a penalty the gap fails on 0/3 seeds.")


@pytest.mark.parametrize("best, err, match", [
    ([("none", 1)], TypeError, "best must be a dict"),
    ({"denoise": {"lam": 0.2, "seeds": 5, "fails": 1}}, ValueError, "'none' family"),
    ({"none": {"lam": 0.0, "seeds": 5}}, ValueError, r"best\['none'\] must be a dict with"),
    ({"none": {"lam": 0.0, "seeds": 5, "fails": 6}}, ValueError, r"fails must lie in \[0, seeds=5\]"),
])
def test_verdict_refuses_bad_summaries(best, err, match):
    from validation.interpolation_official import verdict

    with pytest.raises(err, match=match):
        verdict(best)


def test_gap_sweep_resumes_from_the_nets_it_kept(gap_quick, monkeypatch):
    # A second call with the same settings must train only the nets missing from out/runs
    # (here: one removed, as if the sweep had been killed before it ended) and give the same
    # numbers as the first call.
    import dataclasses

    from validation.runs import official as R
    from validation import interpolation_official as io

    kept = sorted((gap_quick.out / "runs").glob("*.pt"))
    cfg = io.Config.quick()
    n_runs = (1 + len(cfg.penalties)) * cfg.sweep_seeds + (1 + len(cfg.penalties)) * (cfg.best_seeds - 1) \
        + cfg.best_seeds  # sweep, best settings' other seeds, extrapolation
    assert len(kept) == n_runs
    kept[0].unlink()
    trained = []
    real = R.run_one
    monkeypatch.setattr(R, "run_one", lambda spec, steps_done=None: trained.append(spec["name"]) or real(spec))
    again = io.main(dataclasses.replace(cfg, out=str(gap_quick.out), parallel=False))
    assert len(trained) == 1 and kept[0].name.startswith(trained[0])
    for k, v in gap_quick.metrics.items():
        if "seconds" not in k:
            assert again.metrics[k] == pytest.approx(v, rel=1e-6, abs=1e-9), k


def test_gap_measures_against_a_hand_computed_case():
    # A "model" whose code is the disk's area and whose decoder returns the exact disk of that
    # area: every decoded radius is right, z is monotone, and the gap takes its area share.
    import torch

    import geoshape
    from validation import interpolation_official as io

    class AreaAE(torch.nn.Module):
        class config:
            size = 63

        def encode(self, x):
            return x.sum(dim=(1, 2, 3))[:, None].double()

        def decode(self, z):
            r = np.sqrt(np.maximum(z[:, 0].numpy(), 0) / np.pi)
            return torch.from_numpy(geoshape.disks(r, size=63, sigma=0.0))[:, None]

    radii = np.linspace(0, 31.5, 64)
    m, _ = io.run_metrics(AreaAE(), radii, (11.0, 18.0), sigma=0.0)
    assert m["monotone_share"] >= 0.95 and m["dead"] == 0.0
    # The sum of an unblurred pixel disk is its area to within its boundary pixels; at r = 0 the
    # disk still holds the centre pixel (63 is odd): r_hat = 1 / sqrt(pi) = 0.564.
    assert m["gap_radius_err_max"] < 0.5 and m["seen_radius_err_max"] < 0.57
    assert m["squeeze"] == pytest.approx((18**2 - 11**2) / 31.5**2, abs=0.03)


@pytest.mark.parametrize("changes, match", [
    (dict(penalties=("l1",)), "penalties"),
    (dict(lambdas=(0.0,)), "lambdas"),
    (dict(lambdas=()), "lambdas"),
    (dict(gap_lo=18.0, gap_hi=11.0), "gap_hi"),
    (dict(best_seeds=0), "best_seeds"),
    (dict(steps=1.5), "steps"),
    (dict(extrapolate_max=40.0), "extrapolate_max"),
])
def test_gap_config_refuses_bad_values(changes, match):
    from validation import interpolation_official as io

    with pytest.raises((ValueError, TypeError), match=match):
        io.Config(**changes)


def test_grouped_nets_compute_each_net_alone():
    """G nets stacked as grouped convolutions: each channel through its own net, the same
    outputs and gradients as the nets alone (float rounding), and each net given back whole."""
    import torch

    from nets.official import OfficialAE
    from validation.bench import grouped as G

    alone = [OfficialAE(seed=s) for s in (3, 7, 11)]
    with torch.no_grad():  # biases start at zero: give them values so that their layout is tested
        gen = torch.Generator().manual_seed(0)
        for m in alone:
            for layer in list(m.encoder) + list(m.decoder):
                layer.bias.copy_(torch.randn(layer.bias.shape, generator=gen) * 0.1)
    group = G.GroupedOfficialAE(alone)
    x = torch.rand(5, 3, 63, 63, generator=gen)
    y = group(x)
    assert y.shape == (5, 3, 63, 63)
    for g, m in enumerate(alone):
        ref = m(x[:, g:g + 1])
        torch.testing.assert_close(y[:, g:g + 1], ref, rtol=1e-5, atol=1e-6)
        back = group.net(g)
        for a, b in zip(back.state_dict().values(), m.state_dict().values()):
            assert torch.equal(a, b)
    ((y - x) ** 2).mean(dim=(0, 2, 3)).sum().backward()
    for g, m in enumerate(alone):
        xg = x[:, g:g + 1]
        ((m(xg) - xg) ** 2).mean().backward()
        w = group.decoder[0][0].grad                       # decoder kernels stack on input channels
        n = w.shape[0] // 3
        torch.testing.assert_close(w[g * n:(g + 1) * n], m.decoder[0].weight.grad, rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="share one"):
        G.GroupedOfficialAE([OfficialAE(), OfficialAE(OfficialAE().config.replace(bias=False))])
    with pytest.raises(ValueError, match="g"):
        group.net(3)
    with pytest.raises(ValueError, match=r"x must be .*\(batch, 3, 63, 63\)"):
        group(torch.zeros(2, 2, 63, 63))
    with pytest.raises(TypeError, match="models"):
        G.GroupedOfficialAE([])
    with pytest.raises(ValueError, match="groups"):
        G.Config(groups=(1,))
    with pytest.raises(ValueError, match="steps"):
        G.Config(steps=5)
    with pytest.raises(ValueError, match="identity_steps"):
        G.Config(identity_steps=0)


def test_grouped_net_after_one_step_is_the_net_alone_to_rounding():
    """One Adam step from the same weights and batch: the grouped net 0's training MSE is the
    one alone to float rounding, and its weights agree to 1e-5 (a step moves a weight by up to
    lr = 0.01; measured 3e-8 apart), so the divergence after many steps is not a different first
    step. Torch's thread count is left as it was."""
    import torch

    from validation.bench import grouped as G

    threads = torch.get_num_threads()
    found = G.identity((2, 3), steps=1, seed=5)
    assert torch.get_num_threads() == threads
    for g in (2, 3):
        assert found[f"g{g}.mse"] == pytest.approx(found["mse_alone"], rel=1e-4)
        assert found[f"g{g}.max_abs_param_difference_from_alone"] < 1e-5
    assert "g3.max_abs_param_difference_from_g2" in found and "g2.max_abs_param_difference_from_g2" not in found
    for kwargs, err, name in ((dict(groups=(1,), steps=1), ValueError, "groups"),
                              (dict(groups="2", steps=1), TypeError, "groups"),
                              (dict(groups=(2,), steps=0), ValueError, "steps"),
                              (dict(groups=(2,), steps=1, seed=-1), ValueError, "seed"),
                              (dict(groups=(2,), steps=1, dtype=torch.float16), ValueError, "dtype")):
        with pytest.raises(err, match=name):
            G.identity(**kwargs)
