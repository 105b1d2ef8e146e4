"""The authors' disk autoencoder, layer for layer, and a reader of their Keras weights.

The public code of the talk (``geometric_autoencoder_keras.py``) builds, for 63 x 63 images
and ``filter_sizes = (1, 8, 4, 3, 2, 1)``:

    encoder  5 x [Conv2D 3x3, stride 2, 'valid', bias, LeakyReLU 0.05]   63 -> 31 -> 15 -> 7 -> 3 -> 1
    decoder  5 x [Conv2DTranspose 3x3, stride 2, 'valid', bias, LeakyReLU 0.05]
                                                                          1 -> 3 -> 7 -> 15 -> 31 -> 63

channels 1 -> 8 -> 4 -> 3 -> 2 -> 1 (the 1x1 map of the last encoder layer is the code ``z``)
and the mirror back; a LeakyReLU follows *every* layer, the code's and the output's included.
Weights are Glorot-uniform, biases zero (Keras' defaults): 1,116 parameters in all.

In general the side is ``2^(k+1) - 1`` for ``k = len(widths) - 1`` layers each way, since a
'valid' 3x3 stride-2 convolution maps ``2^j - 1`` to ``2^(j-1) - 1`` (down to 1) and its
transpose maps ``m`` to ``2 m + 1``. With ``bias=False`` every layer is linear then LeakyReLU, so
``D(E(lam x)) = lam D(E(x))`` for ``lam >= 0`` (the talk's eq. 2).

:func:`load_keras_weights` reads a Keras 2.x HDF5 weights file of this layout (groups
``conv2d_1 ... conv2d_k`` and ``conv2d_transpose_1 ... conv2d_transpose_k``, each with
``kernel:0`` and ``bias:0``; Conv2D kernels ``(kh, kw, in, out)``, Conv2DTranspose kernels
``(kh, kw, out, in)``) and infers the widths from the kernel shapes. Keras' Conv2D is a
cross-correlation, like torch's ``conv2d``, and its Conv2DTranspose is the adjoint of that
correlation, like torch's ``conv_transpose2d``: both kernels map to torch's layout by the same
axis permutation ``(3, 2, 0, 1)``, with no flip.

Examples
--------
>>> ae = OfficialAE(seed=0)
>>> sum(p.numel() for p in ae.parameters())
1116
>>> ae.encode(torch.zeros(2, 1, 63, 63)).shape, ae.decode(torch.zeros(2, 1)).shape
(torch.Size([2, 1]), torch.Size([2, 1, 63, 63]))
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from geoshape import checks

from . import _checks

__all__ = ["OfficialAEConfig", "OfficialAE", "load_keras_weights", "AUTHORS_WIDTHS"]

#: ``filter_sizes`` of the authors' example model (``disk_example_model``).
AUTHORS_WIDTHS = (1, 8, 4, 3, 2, 1)
#: Most channels of one layer (the authors use 8; a 4096 x 4096 x 9 kernel is already 600 MB).
MAX_WIDTH = 4096


@dataclass(frozen=True)
class OfficialAEConfig:
    """The authors' layout.

    widths: channels from the image to the code, ``(1, c_1, ..., c_k)`` with ``c_k`` the
        latent dimension; ``k >= 1`` layers each way. Default: the authors' (1, 8, 4, 3, 2, 1).
    bias: every layer has a bias (Keras' default) or none (positively homogeneous net).
    leaky_slope: negative slope of the LeakyReLU after every layer (authors: 0.05).
    """

    widths: tuple[int, ...] = AUTHORS_WIDTHS
    bias: bool = True
    leaky_slope: float = 0.05

    def __post_init__(self) -> None:
        if not isinstance(self.widths, (tuple, list)) or len(self.widths) < 2:
            raise TypeError(f"widths must be a tuple of >= 2 ints (image channel first), got {self.widths!r}")
        widths = tuple(checks.integer(w, f"widths[{i}]", lo=1, hi=MAX_WIDTH) for i, w in enumerate(self.widths))
        if widths[0] != 1:
            raise ValueError(f"widths[0] must be 1 (one image channel), got {widths[0]}")
        if len(widths) > 15:
            raise ValueError(f"widths may hold at most 15 entries (side 2^15 - 1), got {len(widths)}")
        object.__setattr__(self, "widths", widths)
        checks.boolean(self.bias, "bias")
        checks.real(self.leaky_slope, "leaky_slope", 0.0, 1.0)

    @property
    def size(self) -> int:
        """Image side ``2^(k+1) - 1`` for ``k = len(widths) - 1`` layers (63 for the authors')."""
        return 2 ** len(self.widths) - 1

    @property
    def latent_dim(self) -> int:
        return self.widths[-1]

    def replace(self, **changes) -> "OfficialAEConfig":
        return dataclasses.replace(self, **changes)


class OfficialAE(nn.Module):
    """The authors' autoencoder; ``forward(x) = decode(encode(x))``.

    Shapes: ``encode`` takes ``(n, 1, s, s)`` or ``(n, s, s)`` float32 images (``s = 63`` for
    the default widths) and returns ``(n, d)``; ``decode`` takes ``(n, d)`` and returns
    ``(n, 1, s, s)``. Weights are drawn from a private generator seeded with ``seed``.
    """

    def __init__(self, config: OfficialAEConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        config, self.seed = _checks.model_args(config, OfficialAEConfig, OfficialAEConfig, seed)
        self.config = config
        w = config.widths
        k = len(w) - 1
        with _checks.seeded(self.seed):
            self.encoder = nn.ModuleList(
                nn.Conv2d(w[i], w[i + 1], 3, stride=2, bias=config.bias) for i in range(k))
            self.decoder = nn.ModuleList(
                nn.ConvTranspose2d(w[k - i], w[k - i - 1], 3, stride=2, bias=config.bias) for i in range(k))
            for m in list(self.encoder) + list(self.decoder):
                nn.init.xavier_uniform_(m.weight)  # Keras' glorot_uniform: same fans
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(n, 1, s, s)`` or ``(n, s, s)`` -> codes ``(n, d)`` (after the LeakyReLU)."""
        h = _checks.model_images(x, self, self.config.size)
        for conv in self.encoder:
            h = F.leaky_relu(conv(h), self.config.leaky_slope)
        return h.flatten(1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(n, d)`` -> images ``(n, 1, s, s)`` (after the final LeakyReLU)."""
        h = _checks.model_codes(z, self, self.config.latent_dim)[:, :, None, None]
        for conv in self.decoder:
            # The bias is added after the convolution rather than inside it: the same layer to
            # float rounding, and a faster step on the CPU (python -m validation.bench.official).
            h = F.conv_transpose2d(h, conv.weight, None, stride=2)
            if conv.bias is not None:
                h = h + conv.bias[:, None, None]
            h = F.leaky_relu(h, self.config.leaky_slope)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def encoder_parameters(self):
        """Parameters of E (what encoder weight decay and the contractive term look at)."""
        return self.encoder.parameters()

    def decoder_parameters(self):
        return self.decoder.parameters()


# ----------------------------------------------------------------------------- Keras weights
def _dataset(group, layer: str, name: str, path) -> np.ndarray:
    for key in (name, f"{layer}/{name}"):
        if key in group:
            return np.asarray(group[key][()])
    raise ValueError(f"path: {path} has no dataset {name!r} in layer {layer!r}")


def _layer_group(f, layer: str, path):
    if layer not in f:
        raise ValueError(f"path: {path} has no layer group {layer!r} (found {sorted(f.keys())})")
    g = f[layer]
    # Keras 2 nests the variables once more under a group of the layer's own name
    return g[layer] if layer in g and hasattr(g[layer], "keys") else g


def load_keras_weights(path: str | os.PathLike, *, leaky_slope: float = 0.05) -> OfficialAE:
    """An :class:`OfficialAE` carrying the weights of a Keras 2.x HDF5 weights file.

    ``path``: a ``.h5`` file of the authors' layout (see the module docstring), e.g. their
    ``disk_example_model_weights.h5`` (63 x 63, widths (1, 8, 4, 3, 2, 1)). The widths and
    the presence of biases are read from the file; ``leaky_slope`` is not stored there
    (authors: 0.05). The model is returned in eval mode, float32.

    Raises ``ValueError`` naming ``path`` for a file that is not HDF5, lacks a layer, or
    holds kernels whose shapes do not chain.
    """
    import h5py

    p = Path(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else None
    if p is None:
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    if not p.is_file():
        raise ValueError(f"path: no such file {p}")
    if not h5py.is_hdf5(p):
        raise ValueError(f"path: {p} is not an HDF5 file")
    with h5py.File(p, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f  # a whole saved model or weights only
        n_enc = sum(1 for k in root.keys() if k.startswith("conv2d_") and not k.startswith("conv2d_transpose"))
        if n_enc < 1:
            raise ValueError(f"path: {p} has no layer group 'conv2d_1' (found {sorted(root.keys())})")
        enc, dec = [], []
        for i in range(1, n_enc + 1):
            for kind, out in (("conv2d", enc), ("conv2d_transpose", dec)):
                layer = f"{kind}_{i}"
                g = _layer_group(root, layer, p)
                kernel = _dataset(g, layer, "kernel:0", p)
                bias = _dataset(g, layer, "bias:0", p) if any(k.startswith("bias") for k in g.keys()) else None
                out.append((layer, kernel, bias))
    widths = [1]
    for layer, kernel, bias in enc:
        if kernel.ndim != 4 or kernel.shape[:2] != (3, 3) or kernel.shape[2] != widths[-1]:
            raise ValueError(f"path: {layer}/kernel:0 must have shape (3, 3, {widths[-1]}, out), "
                             f"got {kernel.shape}")
        widths.append(int(kernel.shape[3]))
    for i, (layer, kernel, bias) in enumerate(dec):
        c_in, c_out = widths[len(widths) - 1 - i], widths[len(widths) - 2 - i]
        if kernel.shape != (3, 3, c_out, c_in):
            raise ValueError(f"path: {layer}/kernel:0 must have shape (3, 3, {c_out}, {c_in}), got {kernel.shape}")
    has_bias = {b is not None for _, _, b in enc + dec}
    if len(has_bias) != 1:
        raise ValueError(f"path: {p} has biases on some layers only")
    model = OfficialAE(OfficialAEConfig(tuple(widths), bias=has_bias.pop(), leaky_slope=leaky_slope))
    with torch.no_grad():
        for module, (layer, kernel, bias) in zip(list(model.encoder) + list(model.decoder), enc + dec):
            module.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1), np.float32)))
            if bias is not None:
                if bias.shape != (module.weight.shape[0] if isinstance(module, nn.Conv2d) else module.weight.shape[1],):
                    raise ValueError(f"path: {layer}/bias:0 has shape {bias.shape}, which does not match its kernel")
                module.bias.copy_(torch.from_numpy(bias.astype(np.float32)))
    return model.eval()
