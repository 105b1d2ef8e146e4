"""The argument checks of nets that are about tensors and models, and the constructor preamble
every model shares.

Scalars (ints, reals, choices, seeds, powers of two) are checked by the public
:mod:`geoshape.checks`; this module holds what is specific to nets:

* tensors handed to a model: :func:`images` (``(n, 1, *side)`` or ``(n, *side)``),
  :func:`codes` (``(n, d)``), :func:`batch` (any tensor with a batch axis), :func:`matrix`
  (``(m, d)`` with enough rows), :func:`tensor` (just the type), :func:`float_tensor` (a
  floating dtype: losses refuse integer and bool tensors);
* arrays handed to the engine: :func:`as_images` (a float array -> a float32 tensor);
* tuples of layer widths: :func:`widths`;
* model construction: :func:`model_args` (config and seed) and :func:`seeded` (a private,
  seeded torch RNG for drawing the initial weights);
* what a model does with its inputs: :func:`model_images` / :func:`model_codes` (the shape
  checks above, then a floating dtype, cast to the model's dtype -- float32 unless the model
  was converted, e.g. by ``.double()``; numpy arrays are refused with a TypeError), and
  :func:`weights_budget` (a model whose weights alone would pass
  :data:`geoshape.checks.MEMORY_BUDGET_BYTES` is refused before any layer is allocated).

Every check raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, wrong
shape or range) with a message that names the argument, before any work.

Examples
--------
>>> images(torch.zeros(2, 8, 8), 8).shape
torch.Size([2, 1, 8, 8])
>>> codes(torch.zeros(3, 2), 2).shape
torch.Size([3, 2])
>>> try:
...     codes(torch.zeros(3, 2), 1)
... except ValueError as e:
...     print(e)
z must be one code per row: z must have shape (n, 1), got (3, 2)
"""

from __future__ import annotations

import contextlib
import math
import numbers
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn

from geoshape import checks

__all__ = ["tensor", "float_tensor", "images", "codes", "batch", "matrix", "as_images", "widths", "finite_real",
           "model_args", "seeded",
           "dtype_of", "floating", "model_images", "model_codes", "weights_budget"]


# --------------------------------------------------------------------------- tensors
def tensor(t: Any, name: str) -> torch.Tensor:
    """``t`` unchanged if it is a ``torch.Tensor``; TypeError naming ``name`` otherwise."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    return t


def images(x: Any, size: int, ndim: int = 2, name: str = "x") -> torch.Tensor:
    """An image batch with ``ndim`` spatial axes of side ``size``, as ``(n, 1, size, ...)``.

    Accepts ``(n, 1, size, ..., size)`` (returned unchanged) or ``(n, size, ..., size)``
    (a channel axis of 1 is inserted); ``ndim=1`` is a batch of 1-D signals ``(n, L)``.
    """
    tensor(x, name)
    want = (size,) * ndim
    if x.ndim == ndim + 1 and tuple(x.shape[1:]) == want:
        x = x.unsqueeze(1)
    if x.ndim != ndim + 2 or tuple(x.shape[1:]) != (1, *want):
        dims = ", ".join(map(str, want))
        raise ValueError(f"{name} must have shape (n, 1, {dims}) or (n, {dims}), got {tuple(x.shape)}")
    return x


def codes(z: Any, dim: int, name: str = "z") -> torch.Tensor:
    """A batch of latent codes ``(n, dim)``, returned unchanged."""
    tensor(z, name)
    if z.ndim != 2 or z.shape[1] != dim:
        raise ValueError(f"{name} must be one code per row: {name} must have shape (n, {dim}), "
                         f"got {tuple(z.shape)}")
    return z


def float_tensor(t: Any, name: str) -> torch.Tensor:
    """``t`` unchanged if it is a floating-point ``torch.Tensor`` (any float dtype); TypeError
    naming ``name`` for another type or an integer / bool / complex tensor."""
    tensor(t, name)
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor (float16/32/64), got dtype {t.dtype}")
    return t


def batch(t: Any, name: str, min_n: int = 1) -> torch.Tensor:
    """A tensor whose first axis (the batch) has length ``>= min_n`` and whose items are not
    empty (no axis of length 0)."""
    tensor(t, name)
    if t.ndim < 1 or t.shape[0] < min_n:
        raise ValueError(f"{name} must have a batch axis of length >= {min_n}, got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty (an axis of length 0), got shape {tuple(t.shape)}")
    return t


def matrix(t: Any, name: str, min_rows: int = 1) -> torch.Tensor:
    """A 2-D tensor ``(m, d)`` with ``m >= min_rows`` and ``d >= 1`` (e.g. the codes of a batch)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor (m, d), got {type(t).__name__}"
                        + (" (convert it with torch.from_numpy)" if isinstance(t, np.ndarray) else ""))
    if t.ndim != 2:
        raise ValueError(f"{name} must be a 2-D tensor (m, d), got shape {tuple(t.shape)}")
    if t.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows (a batch), got {t.shape[0]}")
    if t.shape[1] < 1:
        raise ValueError(f"{name} needs at least one column, got shape {tuple(t.shape)}")
    return t


# --------------------------------------------------------------------------- arrays
def as_images(a: Any, name: str) -> torch.Tensor:
    """A float array ``(n, s, s)``, ``(n, 1, s, s)`` or ``(n, L)`` (numpy, or a tensor, which
    is copied to the CPU) as a contiguous float32 tensor ``(n, 1, s, s)`` or ``(n, L)``."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (or a sampler callable for data), got {type(a).__name__}")
    if not np.issubdtype(a.dtype, np.floating):
        raise TypeError(f"{name} must have a floating dtype (float32), got {a.dtype}")
    if a.ndim not in (2, 3, 4) or (a.ndim == 4 and a.shape[1] != 1):
        raise ValueError(f"{name} must have shape (n, s, s), (n, 1, s, s) or (n, L), got {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one image, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must hold non-empty images (no axis of length 0), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return t.unsqueeze(1) if t.ndim == 3 else t


# --------------------------------------------------------------------------- scalars and tuples
def widths(values: tuple, n: int, rule: str, name: str = "widths") -> None:
    """ValueError unless ``values`` has ``n`` entries (``rule`` says why, e.g. ``"log2(size)"``),
    each a positive ``int``."""
    if len(values) != n:
        raise ValueError(f"{name} must have {rule} = {n} entries, got {len(values)}")
    for w in values:
        if isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 1:
            raise ValueError(f"{name} must be positive ints, got {values!r}")


def finite_real(value: Any, name: str) -> float:
    """A finite real number, any sign, as a ``float`` (ValueError otherwise, TypeError for
    non-numbers). :func:`geoshape.checks.real` words its message as an interval; this one
    says "finite real number", which callers of ``DiskAE.profile`` match."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite real number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


# --------------------------------------------------------------------------- model construction
def model_args(config: Any, expected: type | tuple[type, ...], default: Callable[[], Any], seed: Any,
               ) -> tuple[Any, int]:
    """The preamble of every model constructor: ``(config, seed)`` checked.

    ``config`` is ``default()`` when None and must be an instance of ``expected`` (TypeError
    otherwise); ``seed`` must be an int in ``[0, 2**63 - 1]`` (:func:`geoshape.checks.seed`).
    """
    if config is None:
        config = default()
    if not isinstance(config, expected):
        names = " or ".join(c.__name__ for c in (expected if isinstance(expected, tuple) else (expected,)))
        raise TypeError(f"config must be a {names}, got {type(config).__name__}")
    return config, checks.seed(seed, "seed")


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with the global torch CPU RNG forked and seeded with ``seed``: layers
    built inside draw their initial weights from it, and the caller's RNG is untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


# --------------------------------------------------------------------------- model inputs and size
FLOAT32_BYTES = 4


def dtype_of(model: nn.Module) -> torch.dtype:
    """The dtype of ``model``'s first floating parameter or buffer (the default dtype if none)."""
    for t in model.parameters():
        if t.is_floating_point():
            return t.dtype
    for t in model.buffers():
        if t.is_floating_point():
            return t.dtype
    return torch.get_default_dtype()


def floating(t: Any, model: nn.Module, name: str) -> torch.Tensor:
    """``t`` (a floating tensor of any float dtype) cast to ``model``'s dtype."""
    tensor(t, name)
    if not t.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
    return t.to(dtype=dtype_of(model))


def model_images(x: Any, model: nn.Module, size: int, ndim: int = 2, name: str = "x") -> torch.Tensor:
    """:func:`images` (shape ``(n, 1, size, ...)`` or ``(n, size, ...)``), then
    :func:`floating`."""
    return floating(images(x, size, ndim, name), model, name)


def model_codes(z: Any, model: nn.Module, dim: int, name: str = "z") -> torch.Tensor:
    """:func:`codes` (shape ``(n, dim)``), then :func:`floating`."""
    return floating(codes(z, dim, name), model, name)


def weights_budget(n_parameters: int, names: str) -> None:
    """ValueError naming ``names`` (the config fields that set the size) and the bytes needed
    unless ``n_parameters`` float32 weights fit the memory budget."""
    checks.budget(FLOAT32_BYTES * n_parameters, names, f"the weights ({n_parameters:,} float32 parameters)")
