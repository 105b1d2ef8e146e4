"""Saving and loading trained models: :func:`save`, :func:`load`, :func:`load_results`.

A file written by :func:`save` holds, in torch's format, everything needed to rebuild the model
without knowing how it was made: the model class, its config (field by field, tuples kept),
the PCA-AE's number of stages, the construction seed, the dtype and memory layout of the
weights, the state dict, the geoshape version that wrote it and the file format
(:data:`FORMAT`). Only tensors, plain containers, strings, numbers, bools and None are stored,
so the file is read with ``torch.load(..., weights_only=True)``: loading runs no pickled code.

:func:`load` checks the whole file before it builds anything and returns the model only once
every tensor is in place; a file of another format, a damaged or truncated file, an unknown
class or config, or a state dict that does not fit the rebuilt model is a ``ValueError``
naming the file and the cause.

:func:`load_results` rebuilds the trained models of an experiment's results folder
(``weights.pt`` and ``config.json``, written by :func:`validation.core.run.write_outputs`).

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "pca.pt"
>>> m = nets.PCAAE(nets.PCAAEConfig(size=16, n_stages=3), seed=1)
>>> for _ in range(3):
...     _ = m.add_stage()
>>> _ = nets.save(m, path)
>>> back = nets.load(path)
>>> back.stage, back.config == m.config
(3, True)
>>> x = torch.rand(2, 1, 16, 16)
>>> bool(torch.equal(back(x), m.eval()(x)))
True
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import os
import types
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

import geoshape

from .io import atomic_torch_save
from .pca_ae import PCAAE

__all__ = ["FORMAT", "KIND", "save", "load", "load_results", "model_description"]

#: Version of the saved dict; a file of another format is refused by :func:`load`.
FORMAT = 1
#: The marker that tells a file of :func:`save` from other torch files (e.g. training checkpoints).
KIND = "geoshape.nets model"
#: File names inside an experiment's results folder.
WEIGHTS_FILE, RECORD_FILE = "weights.pt", "config.json"


@functools.cache
def _tables() -> tuple[Mapping[str, type], Mapping[str, type]]:
    """``(models, configs)``: every ``nn.Module`` class and every model config dataclass that
    ``nets`` exports, by name (read once ``nets`` is imported, so a new model is covered as
    soon as it is exported). Which configs a model takes is its constructor's business."""
    import nets

    models, configs = {}, {}
    for name in nets.__all__:
        obj = getattr(nets, name, None)
        if not isinstance(obj, type):
            continue
        if issubclass(obj, nn.Module):
            models[name] = obj
        elif dataclasses.is_dataclass(obj) and name.endswith("Config") and name != "TrainConfig":
            configs[name] = obj
    return types.MappingProxyType(models), types.MappingProxyType(configs)


#: The floating dtypes a saved model may have, by name.
_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}
_PLAIN = (bool, int, float, str, type(None))


# ----------------------------------------------------------------------------- what is stored
def _model_class_name(model: Any, name: str = "model") -> str:
    models, configs = _tables()
    cls_name = type(model).__name__
    if models.get(cls_name) is not type(model):
        raise TypeError(f"{name} must be one of the models nets exports {sorted(models)}, got {cls_name}")
    if type(getattr(model, "config", None)).__name__ not in configs:
        raise TypeError(f"{name}: a {cls_name} whose config is a {type(getattr(model, 'config', None)).__name__} "
                        f"cannot be stored (configs: {sorted(configs)})")
    return cls_name


def _plain(value: Any) -> bool:
    """A str, number, bool or None, or a (nested) tuple of them."""
    return isinstance(value, _PLAIN) or (isinstance(value, tuple) and all(_plain(v) for v in value))


def _tuples(value: Any) -> Any:
    """JSON's lists back to the tuples they were (nested ones too)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _config_dict(config: Any) -> dict[str, Any]:
    """The config's fields as a dict of plain values (tuples kept as tuples)."""
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if not _plain(value):
            raise TypeError(f"model: config field {f.name} holds a {type(value).__name__}, which cannot be stored")
        out[f.name] = value
    return out


def _dtype_name(model: nn.Module) -> str:
    for t in list(model.parameters()) + list(model.buffers()):
        if t.is_floating_point():
            name = str(t.dtype).removeprefix("torch.")
            if name not in _DTYPES:
                raise TypeError(f"model: weights of dtype {t.dtype} cannot be stored (allowed: {sorted(_DTYPES)})")
            return name
    return "float32"


def _channels_last(model: nn.Module) -> bool:
    """True when the model's 4-D weights are in channels-last layout (``nets.train`` puts them
    there): the reloaded model gets the same layout, hence the same convolution kernels and
    bitwise the same outputs."""
    return any(p.ndim == 4 and not p.is_contiguous() and p.is_contiguous(memory_format=torch.channels_last)
               for p in model.parameters())


def model_description(model: nn.Module) -> dict[str, Any] | None:
    """``{"class", "config_class", "config", "stages", "seed", "dtype", "channels_last"}`` of a
    nets model (what :func:`save` stores besides the weights, JSON-ready but for tuples), or
    None for a module that cannot be stored (not a model nets exports)."""
    try:
        return _describe(model)
    except TypeError:
        return None


def _describe(model: nn.Module) -> dict[str, Any]:
    cls_name = _model_class_name(model)
    seed = getattr(model, "seed", None)
    return {
        "class": cls_name,
        "config_class": type(model.config).__name__,
        "config": _config_dict(model.config),
        "stages": model.stage if isinstance(model, PCAAE) else None,
        "seed": seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        "dtype": _dtype_name(model),
        "channels_last": _channels_last(model),
    }


def _check_path(path: Any, name: str = "path") -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}")
    return Path(os.fspath(path))


def save(model: nn.Module, path: str | os.PathLike) -> Path:
    """Write ``model`` (any model class nets exports, on any device) to ``path`` atomically; returns
    the path. ``path`` must end in ``.pt`` or ``.pth``; parent folders are created.

    Stores the class, the config, the PCA-AE's stages, the seed, the dtype and layout of the
    weights, the state dict (on the CPU), the geoshape version and :data:`FORMAT`; read it back
    with :func:`load`. TypeError for a module that is not a nets model.
    """
    desc = _describe(model)
    p = _check_path(path)
    if p.suffix not in (".pt", ".pth"):
        raise ValueError(f"path must end in .pt or .pth (torch's format), got {str(p)!r}")
    if p.is_dir():
        raise ValueError(f"path: {p} is a folder, not a file name")
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    record = {"kind": KIND, "format": FORMAT, "geoshape_version": geoshape.__version__, **desc,
              "state_dict": state}
    return atomic_torch_save(record, p)


# ----------------------------------------------------------------------------- rebuilding
class _Refused(ValueError):
    """A description that cannot be rebuilt; the caller prefixes where it came from."""


def _config_class(config_class: Any, config: Mapping[str, Any]) -> type:
    configs = _tables()[1]
    if config_class is not None:
        if config_class not in configs:
            raise _Refused(f"unknown config class {config_class!r} (known: {sorted(configs)})")
        return configs[config_class]
    # no class recorded (a training record of config.json): the one whose fields are these keys
    keys = set(config)
    found = [c for c in configs.values() if keys == {f.name for f in dataclasses.fields(c)}]
    if len(found) != 1:
        raise _Refused(f"the recorded config fields {sorted(keys)} match {len(found)} config classes "
                       f"({[c.__name__ for c in found]}), not one")
    return found[0]


def _rebuild(desc: Mapping[str, Any], state: Any) -> nn.Module:
    """The model of a description and a state dict, checked whole before it is returned;
    :class:`_Refused` (a ValueError) with the cause otherwise."""
    models = _tables()[0]
    cls_name = desc.get("class")
    if cls_name not in models:
        raise _Refused(f"unknown model class {cls_name!r} (known: {sorted(models)})")
    config = desc.get("config")
    if not isinstance(config, Mapping):
        raise _Refused(f"no config recorded for the {cls_name}")
    config_cls = _config_class(desc.get("config_class"), config)
    fields = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(config) - fields)
    if unknown:
        raise _Refused(f"config fields {unknown} are not fields of {config_cls.__name__}")
    try:  # JSON turns tuples into lists; every list-valued field of a config is a tuple
        cfg = config_cls(**{k: _tuples(v) for k, v in config.items()})
    except (TypeError, ValueError) as e:
        raise _Refused(f"the recorded {config_cls.__name__} is not valid: {e}") from None
    if not isinstance(state, Mapping) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                 for k, v in state.items()):
        raise _Refused("the state dict is not a mapping of names to tensors")
    dtype = desc.get("dtype")
    if dtype is None:  # not recorded (config.json's trainings): the state dict's own
        dtype = next((str(v.dtype).removeprefix("torch.") for v in state.values() if v.is_floating_point()),
                     "float32")
    if dtype not in _DTYPES:
        raise _Refused(f"dtype {dtype!r} is not one of {sorted(_DTYPES)}")
    seed = desc.get("seed")
    takes_seed = "seed" in inspect.signature(models[cls_name]).parameters
    try:  # the seed only matters for weights drawn later (a PCA-AE's next stage)
        model = models[cls_name](cfg, **({"seed": seed} if takes_seed and seed is not None else {}))
    except (TypeError, ValueError) as e:
        raise _Refused(f"cannot build a {cls_name} from it: {e}") from None
    if isinstance(model, PCAAE):
        stages = desc.get("stages")
        if stages is None:  # count the stage encoders of the state dict
            stages = len({k.split(".")[1] for k in state if k.startswith("encoders.")})
        if not isinstance(stages, int) or isinstance(stages, bool) or not 0 <= stages <= cfg.n_stages:
            raise _Refused(f"stages must be an int in [0, n_stages = {cfg.n_stages}], got {stages!r}")
        for _ in range(stages):
            model.add_stage()
    model.to(_DTYPES[dtype])
    _match(model.state_dict(), state, cls_name)
    model.load_state_dict(state, strict=True)
    if desc.get("channels_last"):
        model.to(memory_format=torch.channels_last)
    return model.eval()


def _match(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor], cls_name: str) -> None:
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    problems = []
    if missing:
        problems.append(f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if unexpected:
        problems.append(f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
    for k, t in expected.items():
        if k in found and (found[k].shape != t.shape or found[k].dtype != t.dtype):
            problems.append(f"{k} is {tuple(found[k].shape)} {found[k].dtype} in the file, "
                            f"{tuple(t.shape)} {t.dtype} in the model")
    if problems:
        raise _Refused(f"the state dict does not fit the {cls_name} of the recorded config: "
                       + "; ".join(problems[:6]))


def load(path: str | os.PathLike) -> nn.Module:
    """The model saved by :func:`save` at ``path``, on the CPU, in eval mode (call ``.train()``
    to go on training; a PCA-AE's earlier stages stay frozen).

    ValueError naming ``path`` and the cause when there is no such file, the file is damaged or
    truncated, is not a file of :func:`save`, has another format than :data:`FORMAT`, names an
    unknown class or an invalid config, or holds a state dict that does not fit the model; the
    check is done before the model is returned, never on a half-loaded model.
    """
    p = _check_path(path)
    if not p.is_file():
        raise ValueError(f"path: no such file {p}")
    try:
        record = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a damaged or foreign file
        raise ValueError(f"path: {p} cannot be read as a saved model (damaged or truncated?): "
                         f"{type(e).__name__}: {str(e)[:200]}") from None
    if not isinstance(record, dict) or record.get("kind") != KIND:
        hint = (" (it is a training checkpoint: read it with nets.load_checkpoint)"
                if isinstance(record, dict) and "model_state" in record else "")
        raise ValueError(f"path: {p} is not a model written by nets.save{hint}")
    if record.get("format") != FORMAT:
        raise ValueError(f"path: {p} has format {record.get('format')!r} (written by geoshape "
                         f"{record.get('geoshape_version')!r}); this version reads format {FORMAT}")
    try:
        return _rebuild(record, record.get("state_dict"))
    except _Refused as e:
        raise ValueError(f"path: {p}: {e}") from None


# ----------------------------------------------------------------------------- results folders
def _training_description(training: Any) -> dict | None:
    """The ``{"class", "config", "channels_last"}`` of a training record of config.json (the last
    stage's, for a PCA-AE trained stage by stage), or None. The weights' layout is the one
    ``nets.train`` gave them (``TrainConfig.channels_last``), so the rebuilt model runs the
    same convolution kernels as the trained one."""
    last = training[-1] if isinstance(training, list) and training else training
    model = last.get("model") if isinstance(last, Mapping) else None
    if not isinstance(model, Mapping) or "class" not in model:
        return None
    train_config = last.get("train_config")
    layout = bool(train_config.get("channels_last")) if isinstance(train_config, Mapping) else False
    return {**model, "channels_last": layout}


def load_results(folder: str | os.PathLike) -> dict[str, nn.Module]:
    """``{name: trained model}`` (CPU, eval mode) of an experiment's results folder, e.g.
    ``results/disk_vs_airy``: the state dicts of its ``weights.pt``, each rebuilt from
    ``config.json``.

    A model is described there by the ``"models"`` entry of the same name (class, config,
    stages, dtype; written by runs of this version), or else by the training of the same name
    in ``"trainings"`` (its class and config as the engine recorded them; a PCA-AE's stages
    are counted from its state dict). ValueError naming ``folder`` when a file is missing or
    damaged, and naming every model that config.json does not describe (rerun the experiment to
    record them) or whose state dict does not fit; nothing is returned unless every model
    could be rebuilt.
    """
    root = _check_path(folder, "folder")
    if not root.is_dir():
        raise ValueError(f"folder: no such folder {root}")
    weights_path, record_path = root / WEIGHTS_FILE, root / RECORD_FILE
    for p in (weights_path, record_path):
        if not p.is_file():
            raise ValueError(f"folder: {root} has no {p.name} (an experiment that trains writes {WEIGHTS_FILE} "
                             f"and {RECORD_FILE}; some, e.g. official_model --weights, save no weights)")
    try:
        record = json.loads(record_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"folder: {record_path} is not readable JSON: {e}") from None
    try:
        weights = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a damaged file
        raise ValueError(f"folder: {weights_path} cannot be read (damaged or truncated?): "
                         f"{type(e).__name__}: {str(e)[:200]}") from None
    if not isinstance(record, dict) or not isinstance(weights, dict):
        raise ValueError(f"folder: {root} does not hold an experiment's {RECORD_FILE} and {WEIGHTS_FILE}")
    described = record.get("models") if isinstance(record.get("models"), dict) else {}
    trainings = record.get("trainings") if isinstance(record.get("trainings"), dict) else {}
    models, problems = {}, []
    for name, state in weights.items():
        desc = described.get(name) or _training_description(trainings.get(name))
        if not isinstance(desc, Mapping):
            problems.append(f"{name!r}: {RECORD_FILE} records neither a model nor a training of that name "
                            f"(trainings: {sorted(trainings)}); rerun the experiment to record it")
            continue
        try:
            models[name] = _rebuild(desc, state)
        except _Refused as e:
            problems.append(f"{name!r}: {e}")
    if problems:
        raise ValueError(f"folder: {root}: cannot rebuild " + "; ".join(problems))
    return models
