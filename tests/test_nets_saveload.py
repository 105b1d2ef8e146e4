"""nets.save / nets.load / nets.load_results: every exported model comes back bitwise (its
weights and its outputs on the same input, compared with the model that was saved, whose
weights are first scrambled so that a rebuild from the seed alone could not pass), the file
holds what it promises and is read with ``weights_only=True``, and every kind of bad file is a
ValueError naming the file and the cause, never a half-loaded model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import geoshape
import nets
from nets.history import History
from nets.saveload import FORMAT, KIND
from nets.train import model_record
from validation.core.run import write_outputs

TINY_CONV = dict(size=16, widths=(4, 8))


def _images(n: int, size: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed))


def _grown_pca_ae(stages: int = 3, seed: int = 1) -> nets.PCAAE:
    m = nets.PCAAE(nets.PCAAEConfig(**TINY_CONV, n_stages=3), seed=seed)
    for _ in range(stages):
        m.add_stage()
    return m


def _cases() -> dict:
    """class name -> (a model with non-default weights to be, an input its forward takes)."""
    cases = {
        "DiskAE": (nets.DiskAE(nets.DiskAEConfig(size=16, widths=(4, 4, 8, 8), bias=False), seed=3),
                   _images(3, 16, 0)),
        "PositionEncoder": (nets.PositionEncoder(nets.PositionEncoderConfig(length=16, ndim=2), seed=2),
                            _images(3, 16, 1)),
        "PositionDecoder": (nets.PositionDecoder(nets.PositionDecoderConfig(length=16, hidden=(8, 8)), seed=2),
                            torch.rand(3, 16, generator=torch.Generator().manual_seed(2))),
        "PCAAE": (_grown_pca_ae(), _images(3, 16, 3)),
        # a PlainAE built from the PCAAEConfig it is compared with: the config class must come back
        "PlainAE": (nets.PlainAE(nets.PCAAEConfig(**TINY_CONV, n_stages=2, lam_cov=0.5), seed=4), _images(3, 16, 4)),
        "BetaVAE": (nets.BetaVAE(nets.VAEConfig(**TINY_CONV, n_stages=2, beta=2.0), seed=5), _images(3, 16, 5)),
        "BetaTCVAE": (nets.BetaTCVAE(nets.TCVAEConfig(**TINY_CONV, n_stages=2, dataset_size=50), seed=6),
                      _images(3, 16, 6)),
        "OfficialAE": (nets.OfficialAE(nets.OfficialAEConfig(widths=(1, 3, 2)), seed=7), _images(3, 7, 7)),
    }
    if hasattr(nets, "PlacementDecoder"):
        cfg = nets.PlacementDecoderConfig(size=8, widths=(4,), coords=True)
        cases["PlacementDecoder"] = (nets.PlacementDecoder(cfg, seed=8), _images(3, 8, 8))
    if hasattr(nets, "ConstructedPlacementDecoder"):  # float64, no seed, a nested-tuple template
        cfg = nets.ConstructedPlacementConfig(length=8, ndim=2, template=[[0, 1, 0], [1, 2, 1], [0, 1, 0]])
        cases["ConstructedPlacementDecoder"] = (nets.ConstructedPlacementDecoder(cfg),
                                                7 * torch.rand(3, 2, generator=torch.Generator().manual_seed(9)))
    return cases


def _exported_models() -> list[str]:
    return [n for n in nets.__all__ if isinstance(getattr(nets, n), type) and issubclass(getattr(nets, n), nn.Module)]


@torch.no_grad()
def _scramble(model: nn.Module, seed: int) -> nn.Module:
    """Every floating tensor of the state (BatchNorm statistics included) redrawn, so the
    weights differ from anything the constructor could draw."""
    g = torch.Generator().manual_seed(seed)
    for name, t in model.state_dict().items():
        if t.is_floating_point():
            new = torch.randn(t.shape, generator=g, dtype=torch.float64).to(t.dtype) * 0.3
            t.copy_(new.abs() + 0.5 if name.endswith("running_var") else new)
    return model


def _assert_same(a: nn.Module, b: nn.Module, x: torch.Tensor) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), k
    a.eval(), b.eval()
    with torch.no_grad():
        ya, yb = a(x), b(x)
    assert torch.equal(ya, yb), f"outputs differ by up to {(ya - yb).abs().max().item():.3g}"


def test_every_exported_model_has_a_round_trip_case():
    assert set(_exported_models()) == set(_cases()), "add a case for each model nets exports"


@pytest.mark.parametrize("name", sorted(_cases()))
def test_round_trip_is_bitwise(name, tmp_path):
    model, x = _cases()[name]
    _scramble(model, seed=len(name))
    path = nets.save(model, tmp_path / f"{name}.pt")
    back = nets.load(path)
    assert type(back) is type(model) and back.config == model.config
    assert type(back.config) is type(model.config)
    assert not back.training
    _assert_same(model, back, x)


def test_file_holds_the_promised_record_and_reads_with_weights_only(tmp_path):
    model = _scramble(_grown_pca_ae(), 0)
    nets.save(model, tmp_path / "m.pt")
    rec = torch.load(tmp_path / "m.pt", weights_only=True)
    assert rec["kind"] == KIND and rec["format"] == FORMAT == 1
    assert rec["geoshape_version"] == geoshape.__version__
    assert rec["class"] == "PCAAE" and rec["config_class"] == "PCAAEConfig"
    assert rec["stages"] == 3 and rec["seed"] == 1 and rec["dtype"] == "float32"
    assert rec["config"]["widths"] == (4, 8)  # tuples stay tuples
    assert set(rec["state_dict"]) == set(model.state_dict())


def test_pca_ae_stages_frozen_state_and_seed_come_back(tmp_path):
    # two of three stages: the reloaded model freezes stage 1, trains stage 2, and its next
    # stage draws the same weights as the original's (the seed is stored)
    model = _grown_pca_ae(stages=2, seed=5)
    back = nets.load(nets.save(model, tmp_path / "p.pt"))
    assert back.stage == 2 and back.seed == 5
    assert not any(p.requires_grad for p in back.encoders[0].parameters())
    assert all(p.requires_grad for p in back.encoders[1].parameters())
    model.add_stage(), back.add_stage()
    _assert_same(model, back, _images(2, 16, 9))


def test_float64_and_channels_last_models_come_back_as_they_were(tmp_path):
    model = _scramble(nets.DiskAE(nets.DiskAEConfig(size=16, widths=(4, 4, 8, 8)), seed=0).double(), 1)
    model.to(memory_format=torch.channels_last)
    back = nets.load(nets.save(model, tmp_path / "d.pt"))
    assert next(back.parameters()).dtype == torch.float64
    assert back.encoder["blocks"][0].conv.weight.is_contiguous(memory_format=torch.channels_last)
    _assert_same(model, back, _images(2, 16, 1).double())


def test_a_trained_model_reloads_bitwise(tmp_path):
    model = nets.DiskAE(nets.DiskAEConfig(size=16, widths=(4, 4, 8, 8)), seed=0)
    data = geoshape.centred_disks(16, size=16, rng=0).images
    nets.train(model, data, nets.TrainConfig(steps=2, batch_size=4, progress=False, threads=1))
    _assert_same(model, nets.load(nets.save(model, tmp_path / "t.pt")), _images(4, 16, 2))


def test_save_is_atomic(tmp_path, monkeypatch):
    path = nets.save(nets.DiskAE(nets.DiskAEConfig(size=16, widths=(4, 4, 8, 8))), tmp_path / "m.pt")
    before = path.read_bytes()

    def broken(obj, fh, *a, **k):
        fh.write(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        nets.save(_grown_pca_ae(), path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.pt"]


# ----------------------------------------------------------------------------- bad files
@pytest.fixture
def saved(tmp_path) -> Path:
    return nets.save(_scramble(_grown_pca_ae(), 2), tmp_path / "good.pt")


def _rewrite(path: Path, change) -> Path:
    rec = torch.load(path, weights_only=True)
    change(rec)
    out = path.with_name("changed.pt")
    torch.save(rec, out)
    return out


@pytest.mark.parametrize("change, message", [
    (lambda r: r.update(format=2), "has format 2"),
    (lambda r: r.update(format=None), "has format None"),
    (lambda r: r.update({"class": "Transformer"}), "unknown model class 'Transformer'"),
    (lambda r: r.update(config_class="NoSuchConfig"), "unknown config class 'NoSuchConfig'"),
    (lambda r: (r["config"].pop("lam_cov"), r.update(config_class="ConvAEConfig")),
     "cannot build a PCAAE from it: config must be a PCAAEConfig"),
    (lambda r: r["config"].update(leaky_slope=2.0), "is not valid: leaky_slope"),
    (lambda r: r["config"].update(depth=3), "config fields ['depth'] are not fields of PCAAEConfig"),
    (lambda r: r["config"].update(widths=(4, 16)), "does not fit the PCAAE"),
    (lambda r: r.update(stages=4), "stages must be an int in [0, n_stages = 3]"),
    (lambda r: r.update(stages=2), "unexpected ['encoders.2"),
    (lambda r: r["state_dict"].pop("decoders.2.head.0.weight", None) or r["state_dict"].popitem(), "missing"),
    (lambda r: r.update(dtype="int8"), "dtype 'int8' is not one of"),
    (lambda r: r.update(state_dict=[1, 2]), "not a mapping of names to tensors"),
    (lambda r: r.pop("kind"), "is not a model written by nets.save"),
])
def test_a_file_that_does_not_describe_a_model_is_refused(saved, change, message):
    bad = _rewrite(saved, change)
    with pytest.raises(ValueError) as e:
        nets.load(bad)
    assert str(bad) in str(e.value) and message in str(e.value), str(e.value)


def test_a_state_dict_of_another_shape_names_the_tensor(saved):
    def change(r):
        k = next(k for k, v in r["state_dict"].items() if v.ndim == 4)
        r["state_dict"][k] = torch.zeros(1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"is \(1, 1, 1, 1\) torch.float32 in the file"):
        nets.load(_rewrite(saved, change))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_file_is_refused(saved, damage):
    data = saved.read_bytes()
    saved.write_bytes({"truncated": data[: len(data) // 2], "garbage": b"\x00not a torch file" * 10,
                       "empty": b""}[damage])
    with pytest.raises(ValueError, match="cannot be read as a saved model") as e:
        nets.load(saved)
    assert str(saved) in str(e.value)


def test_a_pickled_object_is_not_executed_or_loaded(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"kind": KIND, "format": FORMAT, "payload": Path("/x")}, path)  # not weights_only-safe
    with pytest.raises(ValueError, match="cannot be read as a saved model"):
        nets.load(path)


def test_a_training_checkpoint_is_pointed_to_its_reader(tmp_path):
    model = nets.DiskAE(nets.DiskAEConfig(size=16, widths=(4, 4, 8, 8)))
    data = geoshape.centred_disks(8, size=16, rng=0).images
    nets.train(model, data, nets.TrainConfig(steps=1, batch_size=4, progress=False, threads=1,
                                             checkpoint_dir=str(tmp_path), checkpoint_every=1))
    with pytest.raises(ValueError, match="load_checkpoint"):
        nets.load(tmp_path / "last.pt")


@pytest.mark.parametrize("call, error, message", [
    (lambda p: nets.save(nn.Linear(2, 2), p / "m.pt"), TypeError, "model must be one of the models nets exports"),
    (lambda p: nets.save("DiskAE", p / "m.pt"), TypeError, "model must be"),
    (lambda p: nets.save(nets.DiskAE(nets.DiskAEConfig(size=16, widths=(4, 4, 8, 8))), p / "m.txt"),
     ValueError, "path must end in .pt or .pth"),
    (lambda p: nets.save(nets.DiskAE(nets.DiskAEConfig(size=16, widths=(4, 4, 8, 8))), 3), TypeError, "path must"),
    (lambda p: nets.load(p / "missing.pt"), ValueError, "path: no such file"),
    (lambda p: nets.load(None), TypeError, "path must"),
    (lambda p: nets.load_results(p / "missing"), ValueError, "folder: no such folder"),
    (lambda p: nets.load_results(1.5), TypeError, "folder must"),
])
def test_bad_arguments_name_the_argument(tmp_path, call, error, message):
    with pytest.raises(error, match=message):
        call(tmp_path)


# ----------------------------------------------------------------------------- results folders
@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A results folder written by the experiments' own writer: a trained DiskAE and
    PositionDecoder (saved under names that differ from their trainings', as
    validation.position_decoder does), a PCA-AE trained stage by stage and a PlainAE."""
    folder = tmp_path_factory.mktemp("results")
    cfg = nets.TrainConfig(steps=2, batch_size=4, progress=False, threads=1)
    disks = geoshape.centred_disks(16, size=16, rng=0).images
    disk = nets.DiskAE(nets.DiskAEConfig(size=16, widths=(4, 4, 8, 8)), seed=1)
    h_disk = nets.train(disk, disks, cfg)
    dec = nets.PositionDecoder(nets.PositionDecoderConfig(length=16, hidden=(8,)), seed=2)
    h_dec = nets.train(dec, geoshape.random_diracs(16, length=16, continuous=True, rng=0).images, cfg)
    pca, h_pca = nets.train_pca_ae(nets.PCAAEConfig(**TINY_CONV, n_stages=3), disks, cfg, seed=3)
    plain = _scramble(nets.PlainAE(nets.PCAAEConfig(**TINY_CONV, n_stages=2, lam_cov=0.3), seed=4), 4)
    models = {"disk": disk, "decoder_continuous": dec, "pca_ae": pca, "ae": plain}
    histories = {"disk": h_disk, "continuous": h_dec, "pca_ae": h_pca,
                 "ae": History(model=model_record(plain))}
    write_outputs(folder, cfg, {"x": 1.0}, models, histories=histories)
    return folder, models


_INPUTS = {"disk": _images(3, 16, 0), "decoder_continuous": torch.rand(3, 16), "pca_ae": _images(3, 16, 1),
           "ae": _images(3, 16, 2)}


def test_results_folder_rebuilds_every_model_bitwise(results):
    folder, models = results
    back = nets.load_results(folder)
    assert list(back) == list(models)
    assert back["pca_ae"].stage == 3
    for name, model in models.items():
        _assert_same(model, back[name], _INPUTS[name])


def test_results_folder_without_a_models_record_uses_the_trainings(results, tmp_path):
    # a folder written before config.json recorded "models": the trainings of the same name
    # are enough for three of the four, and the fourth is named in the error
    folder, models = results
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    rec = json.loads((old / "config.json").read_text())
    del rec["models"]
    (old / "config.json").write_text(json.dumps(rec))
    with pytest.raises(ValueError, match=r"'decoder_continuous': config.json records neither a model nor a "
                                         r"training of that name \(trainings: \['ae', 'continuous', 'disk', "
                                         r"'pca_ae'\]\)"):
        nets.load_results(old)
    weights = torch.load(old / "weights.pt", weights_only=True)
    del weights["decoder_continuous"]
    torch.save(weights, old / "weights.pt")
    back = nets.load_results(old)
    assert type(back["ae"].config) is nets.PCAAEConfig and back["pca_ae"].stage == 3
    for name in back:
        _assert_same(models[name], back[name], _INPUTS[name])


def _edit_record(folder: Path, change) -> None:
    rec = json.loads((folder / "config.json").read_text())
    change(rec)
    (folder / "config.json").write_text(json.dumps(rec))


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "weights.pt").unlink(), "has no weights.pt"),
    (lambda f: (f / "config.json").unlink(), "has no config.json"),
    (lambda f: (f / "weights.pt").write_bytes(b"PK\x03\x04broken"), "cannot be read (damaged or truncated?)"),
    (lambda f: (f / "config.json").write_text("{not json"), "is not readable JSON"),
    (lambda f: _edit_record(f, lambda r: r["models"]["decoder_continuous"]["config"].update(hidden=[9])),
     "'decoder_continuous': the state dict does not fit the PositionDecoder"),
    (lambda f: _edit_record(f, lambda r: r["models"]["disk"].update({"class": "Mystery"})),
     "'disk': unknown model class 'Mystery'"),
])
def test_a_damaged_results_folder_is_refused_by_name(results, tmp_path, damage, message):
    folder = tmp_path / "copy"
    shutil.copytree(results[0], folder)
    damage(folder)
    with pytest.raises(ValueError) as e:
        nets.load_results(folder)
    assert message in str(e.value) and str(folder) in str(e.value), str(e.value)


def test_config_json_records_each_saved_model(results):
    rec = json.loads((results[0] / "config.json").read_text())
    assert rec["models"]["pca_ae"]["stages"] == 3
    assert rec["models"]["ae"]["config_class"] == "PCAAEConfig"
    assert rec["models"]["decoder_continuous"]["config"]["hidden"] == [8]
    assert np.isclose(rec["models"]["ae"]["config"]["lam_cov"], 0.3)
