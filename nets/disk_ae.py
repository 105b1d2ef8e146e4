"""The disk autoencoder of the talk ("Disk autoencoder design", slides 9-10).

Encoder: ``L = log2(size)`` blocks ``[conv 3x3, bias?, LeakyReLU, subsample x2]`` bring the
image from ``size x size`` to ``1 x 1`` (a power-of-two size; any other is padded to one, see
below); a linear map (bias?) takes the last block's channels to the latent ``z`` of dimension
``d``. Decoder: the exact mirror, a linear map (bias?, LeakyReLU) from ``z`` to the widest
channel count at ``1 x 1``, then ``L`` blocks ``[upsample x2, conv 3x3, bias?, LeakyReLU]``;
the last block's conv outputs one channel and is linear (no LeakyReLU), so the output can take
any real value.

Channels (``widths = (w_0, ..., w_{L-1})``, ``w_{-1} = 1`` the image):

    encoder block i (input size / 2^i):   w_{i-1} -> w_i      then subsample to size / 2^{i+1}
    latent map:                            w_{L-1} -> d        (a linear layer on the 1x1 map)
    decoder map:                           d -> w_{L-1}        (then LeakyReLU, reshaped to 1x1)
    decoder block i (output size / 2^i):   w_i -> w_{i-1}      after upsampling to size / 2^i

With ``bias=False`` every layer is linear or LeakyReLU, and zero padding, nearest/bilinear
upsampling, average pooling, decimation and transposed convolutions all commute with a
positive scale, so the decoder is positively homogeneous (talk, eq. 2):
``D(lam z) = lam D(z)`` for ``lam >= 0``. There is no normalisation layer for that reason.

Subsampling (where the kept samples sit matters for the position analysis, docs/conventions.md):

* ``"stride"``: the conv has stride 2, i.e. conv then keep even 0-based indices; it computes
  the conv only at the kept samples (4x cheaper) and is the default.
* ``"decimate"``: conv, LeakyReLU, then keep odd 0-based indices (the talk's "even positions").
* ``"avgpool"``: conv, LeakyReLU, then 2x2 average pooling.

Upsampling: ``"nearest"`` and ``"bilinear"`` (``align_corners=False``) precede a 3x3 conv;
``"transpose"`` replaces both by a 4x4 transposed conv with stride 2 and padding 1.

Any image size (``DiskAEConfig.size`` in ``[4, 1024]``, odd sizes included): the blocks halve
the side down to ``1 x 1``, so the layout is built for ``DiskAEConfig.padded_size``, the next
power of two ``>= size`` (``size`` itself when it is one). ``encode`` pads its input with zeros
to that side, centred, the extra pixel of an odd difference at the bottom and right (63 -> 64:
one row below and one column to the right; 100 -> 128: 14 on every side), and ``decode`` crops
the same window out of the decoder's output (:func:`nets.conv_ae.pad_images`,
:func:`nets.conv_ae.crop_images`), so ``model(x)`` has ``x``'s shape and the training loss
compares the crop with the input. Zeros because the disks lie on a black background (padding
only widens it), because the convolutions pad with zeros too, and because zero padding is
linear, which keeps the bias-free net positively homogeneous. Pixel ``(i, j)`` of the input
sits at ``(i + m, j + m)`` of the padded grid, ``m = (padded_size - size) // 2``, which matters
for the position analysis. A power-of-two size pads and crops nothing.
"""

from __future__ import annotations

import dataclasses
import math
import types
from dataclasses import dataclass
from typing import Any, Mapping

import torch
from torch import nn
from torch.nn import functional as F

from geoshape import checks

from . import _checks
from .conv_ae import crop_images, pad_images, padded_side
from .train_config import TrainConfig

__all__ = ["DiskAEConfig", "DiskAE", "Preset", "PRESETS", "SUBSAMPLING", "UPSAMPLING", "INITS", "MIN_SIZE",
           "MAX_SIZE"]

SUBSAMPLING = ("stride", "avgpool", "decimate")
UPSAMPLING = ("nearest", "bilinear", "transpose")
INITS = ("default", "kaiming")
MIN_SIZE = 4  # the smallest image the layout takes: two blocks down to 1x1
MAX_SIZE = 1024


def _default_widths(size: int) -> tuple[int, ...]:
    # 8 channels at full resolution, doubling to a cap of 32: at these widths the size-64 net
    # trains at about 34 steps/s on 2 cores (docs/presets.md)
    n_blocks = int(round(math.log2(size)))
    return tuple(min(32, 8 * 2 ** (i // 2)) for i in range(n_blocks))


@dataclass(frozen=True)
class DiskAEConfig:
    """Architecture of :class:`DiskAE` (all fields validated by :meth:`validate`).

    size: image side, an int in [4, 1024] of any parity; the layout is built for
        :attr:`padded_size`, the next power of two ``>= size``, and the encoder has
        ``log2(padded_size)`` blocks (inputs zero-padded, outputs cropped: module docstring).
    latent_dim: d >= 1, the latent dimension (the talk: 1).
    widths: channels after each encoder block, ``log2(padded_size)`` positive ints; ``None`` gives
        ``(8, 8, 16, 16, 32, 32)`` for size 64 (8 doubling every second block, capped at 32).
    leaky_slope: alpha of LeakyReLU, in [0, 1) (talk 0.2, the official code 0.05).
    subsampling: ``"stride" | "avgpool" | "decimate"`` (see module docstring).
    upsampling: ``"nearest" | "bilinear" | "transpose"``.
    bias: additive biases on every layer (False = the ablation of the talk, eq. 2).
    init: ``"default"`` (PyTorch's uniform fan-in init) or ``"kaiming"`` (normal, gain for
        the leaky slope, zero biases).
    """

    size: int = 64
    latent_dim: int = 1
    widths: tuple[int, ...] | None = None
    leaky_slope: float = 0.2
    subsampling: str = "stride"
    upsampling: str = "nearest"
    bias: bool = True
    init: str = "default"

    def __post_init__(self) -> None:
        self.validate()

    @property
    def padded_size(self) -> int:
        """The side the layout is built for: the next power of two ``>= size`` (read-only)."""
        return padded_side(self.size)

    @property
    def n_blocks(self) -> int:
        return int(round(math.log2(self.padded_size)))

    @property
    def channel_widths(self) -> tuple[int, ...]:
        return self.widths if self.widths is not None else _default_widths(self.padded_size)

    def validate(self) -> None:
        """Raise ValueError/TypeError naming the bad field and its allowed range; ints, reals,
        bools and tuples are stored normalised (``int``, ``float``, ``bool``, ``tuple``)."""
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("size", checks.integer(self.size, "size", lo=MIN_SIZE, hi=MAX_SIZE))
        put("latent_dim", checks.integer(self.latent_dim, "latent_dim", lo=1))
        if self.widths is not None:
            if not isinstance(self.widths, (tuple, list)):
                raise TypeError(f"widths must be a tuple of ints or None, got {type(self.widths).__name__}")
            _checks.widths(tuple(self.widths), self.n_blocks,
                           f"log2(padded_size) (size {self.size} pads to {self.padded_size})")
            put("widths", tuple(int(w) for w in self.widths))
        put("leaky_slope", checks.real(self.leaky_slope, "leaky_slope", 0.0, 1.0, hi_open=True))
        checks.choice(self.subsampling, "subsampling", SUBSAMPLING)
        checks.choice(self.upsampling, "upsampling", UPSAMPLING)
        put("bias", checks.boolean(self.bias, "bias"))
        checks.choice(self.init, "init", INITS)

    def replace(self, **changes) -> "DiskAEConfig":
        return dataclasses.replace(self, **changes)

    def n_parameters(self) -> int:
        """Parameters of ``DiskAE(self)``, counted without building it."""
        w, d, b = self.channel_widths, self.latent_dim, int(self.bias)
        taps = 16 if self.upsampling == "transpose" else 9
        chans = (1, *w)
        enc = sum(chans[i] * chans[i + 1] * 9 + b * chans[i + 1] for i in range(len(w)))
        dec = sum(chans[i + 1] * chans[i] * taps + b * chans[i] for i in range(len(w)))
        return enc + dec + 2 * w[-1] * d + b * (d + w[-1])


class _EncoderBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, cfg: DiskAEConfig) -> None:
        super().__init__()
        stride = 2 if cfg.subsampling == "stride" else 1
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=cfg.bias)
        self.slope = float(cfg.leaky_slope)
        self.subsampling = cfg.subsampling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv(x), self.slope)
        if self.subsampling == "decimate":
            x = x[:, :, 1::2, 1::2]
        elif self.subsampling == "avgpool":
            x = F.avg_pool2d(x, 2)
        return x


# Nearest x2 upsampling followed by a 3x3 correlation with zero padding equals, for each of
# the 4 output phases (row parity r, column parity c), a 3x3 correlation of the low-resolution
# input with the folded kernel A_r W A_c^T (zero padding again exact):
#   even phase  y[2m]   = w[-1] x[m-1] + (w[0] + w[1]) x[m]
#   odd phase   y[2m+1] = (w[-1] + w[0]) x[m] + w[1] x[m+1]
# Computing the 4 phases as 4*c_out channels at low resolution and interleaving them with
# pixel_shuffle gives the same function and the same parameters at 2-3x less cost on CPU (no
# upsampled tensor, and 4x more output channels for the convolution kernel to vectorise).
_FOLD = torch.tensor(
    [[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 0.0]],   # even phase: rows = low-res taps
     [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]   # odd phase
)


def _nearest_up_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    c_out, c_in = weight.shape[:2]
    fold = _FOLD.to(dtype=weight.dtype, device=weight.device)
    # k[o, i, r, c, a, b] = sum_{p,q} fold[r, a, p] W[o, i, p, q] fold[c, b, q]
    k = torch.einsum("rap,oipq,cbq->orciab", fold, weight, fold).reshape(4 * c_out, c_in, 3, 3)
    b = None if bias is None else bias.repeat_interleave(4)
    return F.pixel_shuffle(F.conv2d(x, k, b, padding=1), 2)


class _DecoderBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, cfg: DiskAEConfig, last: bool) -> None:
        super().__init__()
        self.upsampling = cfg.upsampling
        if cfg.upsampling == "transpose":
            self.conv = nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=cfg.bias)
        else:
            self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=cfg.bias)
        self.slope = float(cfg.leaky_slope)
        self.last = last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsampling == "nearest":
            x = _nearest_up_conv(x, self.conv.weight, self.conv.bias)
            return x if self.last else F.leaky_relu(x, self.slope)
        if self.upsampling == "bilinear":
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.conv(x)
        return x if self.last else F.leaky_relu(x, self.slope)


class DiskAE(nn.Module):
    """Convolutional autoencoder of the talk; ``forward(x) = decode(encode(x))``.

    Args:
        config: a :class:`DiskAEConfig` (default: the talk's, size 64, d = 1, with biases).
        seed: weights are drawn from a private generator seeded with this int (in
            ``[0, 2**63 - 1]``), so two models built with the same config and seed are
            identical, and the global torch RNG is left untouched.

    Shapes: ``encode`` takes ``(n, 1, size, size)`` or ``(n, size, size)`` and returns
    ``(n, d)``; ``decode`` takes ``(n, d)`` and returns ``(n, 1, size, size)``, ``size`` the
    config's (the layers run at ``config.padded_size``; see the module docstring). Inputs are
    float tensors of any float dtype, cast to the model's dtype (float32 unless the model was
    converted, e.g. by ``.double()``); numpy arrays are refused (TypeError naming the
    argument). A config whose weights would take more than 4 GiB is refused before any layer
    is allocated (ValueError with the bytes needed).

    Examples:
        >>> ae = DiskAE(DiskAEConfig(size=16, widths=(4, 4, 8, 8)), seed=0)
        >>> ae(torch.zeros(2, 1, 16, 16)).shape
        torch.Size([2, 1, 16, 16])
        >>> odd = DiskAE(DiskAEConfig(size=28), seed=0)
        >>> odd.config.padded_size, odd(torch.zeros(2, 28, 28)).shape
        (32, torch.Size([2, 1, 28, 28]))
    """

    def __init__(self, config: DiskAEConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        config, seed = _checks.model_args(config, DiskAEConfig, DiskAEConfig, seed)
        _checks.weights_budget(config.n_parameters(), "config (size, widths, latent_dim)")
        self.config = config
        self.seed = seed
        w = config.channel_widths
        with _checks.seeded(seed):
            enc = [_EncoderBlock(1 if i == 0 else w[i - 1], w[i], config) for i in range(len(w))]
            self.encoder = nn.ModuleDict(
                {"blocks": nn.ModuleList(enc), "latent": nn.Linear(w[-1], config.latent_dim, bias=config.bias)}
            )
            dec = [
                _DecoderBlock(w[i], 1 if i == 0 else w[i - 1], config, last=(i == 0))
                for i in reversed(range(len(w)))
            ]
            self.decoder = nn.ModuleDict(
                {"latent": nn.Linear(config.latent_dim, w[-1], bias=config.bias), "blocks": nn.ModuleList(dec)}
            )
            if config.init == "kaiming":
                self._kaiming_init()

    def _kaiming_init(self) -> None:
        # Normal He init with the leaky gain keeps the activation scale through the 2L+2
        # layers; biases start at zero. Called inside the seeded block of __init__.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, a=self.config.leaky_slope, nonlinearity="leaky_relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    # ------------------------------------------------------------------ public API
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(n, 1, s, s)`` or ``(n, s, s)`` -> latent codes ``(n, d)``."""
        x = pad_images(_checks.model_images(x, self, self.config.size), self.config.padded_size)
        for block in self.encoder["blocks"]:
            x = block(x)
        return self.encoder["latent"](x.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes ``(n, d)`` -> images ``(n, 1, s, s)``."""
        z = _checks.model_codes(z, self, self.config.latent_dim)
        h = F.leaky_relu(self.decoder["latent"](z), self.config.leaky_slope)
        h = h[:, :, None, None]
        for block in self.decoder["blocks"]:
            h = block(h)
        return crop_images(h, self.config.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.no_grad()
    def profile(self, z: float = 1.0) -> torch.Tensor:
        """Decoder output ``D(z)`` as a ``(size, size)`` tensor for a scalar code.

        With ``bias=False`` the decoder is positively homogeneous, so ``profile(+1)`` and
        ``profile(-1)`` are the two profiles f of the talk (eqs. 2-8): any output is
        ``|z| * profile(sign z)``. For ``latent_dim > 1`` the code is ``z`` times the first
        basis vector.
        """
        # float32 codes: beyond ~3.4e38 the code itself is not representable.
        z = checks.real(_checks.finite_real(z, "z"), "z", lo=-1e30, hi=1e30)
        was_training = self.training
        self.eval()
        try:
            p = next(self.parameters())
            code = torch.zeros(1, self.config.latent_dim, dtype=p.dtype, device=p.device)
            code[0, 0] = z
            return self.decode(code)[0, 0]
        finally:
            self.train(was_training)

    def layer_weights(self) -> dict[str, torch.Tensor]:
        """Detached copies of every weight and bias, keyed ``encoder.blocks.0.conv.weight`` etc.

        Conv weights are ``(c_out, c_in, 3, 3)`` (transposed convs ``(c_in, c_out, 4, 4)``),
        linear weights ``(out, in)``; ordered from the input layer to the output layer.
        """
        return {k: v.detach().clone() for k, v in self.named_parameters()}

    def encoder_parameters(self):
        """Parameters of E (what type-3 regularisation and the contractive term look at)."""
        return self.encoder.parameters()

    def decoder_parameters(self):
        return self.decoder.parameters()


# --------------------------------------------------------------------------------------------
# training recipes


@dataclass(frozen=True)
class Preset:
    """A training recipe for the talk's disk experiment (centred disks, radii U[0, 32),
    sigma 1, 64x64, data drawn fresh per batch by ``geoshape.centred_disks``).

    name: the key in :data:`PRESETS`.
    model: the :class:`DiskAEConfig`.
    steps, batch_size, lr, lr_schedule, min_lr_ratio, warmup_steps, eval_every, threads: the
        ``nets.TrainConfig`` fields of the recipe (:attr:`train`, :meth:`train_config`).
    budget_s: the wall-clock seconds the recipe was sized for on the 2-core machine.

    What each recipe reached there (validation MSE per pixel on 512 held-out disks, measured
    with ``validation.bench.nets``) is in ``docs/presets.md``, not in code.

    ``preset["model"]``, ``preset["train"]`` and ``preset["budget_s"]`` (and ``preset.get``)
    read the same values as the attributes, for code written against the dict-of-dicts form.

    Examples:
        >>> p = PRESETS["bias_free"]
        >>> p.train_config(progress=False).steps, p["model"].bias
        (600, False)
    """

    name: str
    model: DiskAEConfig
    steps: int
    batch_size: int
    lr: float
    lr_schedule: str
    min_lr_ratio: float
    eval_every: int
    threads: int | None
    warmup_steps: int = 0
    budget_s: float = 180.0

    _TRAIN_FIELDS = ("steps", "batch_size", "lr", "lr_schedule", "min_lr_ratio", "warmup_steps", "eval_every",
                     "threads")

    def __post_init__(self) -> None:
        if not isinstance(self.model, DiskAEConfig):
            raise TypeError(f"model must be a DiskAEConfig, got {type(self.model).__name__}")
        checks.positive(self.budget_s, "budget_s")
        self.train_config()  # validates the training fields (TrainConfig names the bad one)

    @property
    def train(self) -> dict[str, Any]:
        """The recipe's ``nets.TrainConfig`` fields as a fresh dict (add progress,
        checkpoint or seed fields as needed)."""
        return {k: getattr(self, k) for k in self._TRAIN_FIELDS}

    def train_config(self, **changes: Any) -> TrainConfig:
        """``nets.TrainConfig(**self.train, **changes)``."""
        return TrainConfig(**{**self.train, **changes})

    def __getitem__(self, key: str) -> Any:
        if key == "train":
            return self.train
        if key in {f.name for f in dataclasses.fields(self)}:
            return getattr(self, key)
        raise KeyError(f"{key!r}: a Preset has the keys model, train, budget_s and its fields "
                       f"(measured results are in docs/presets.md)")

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


#: The recipes by name (a read-only mapping of :class:`Preset`). Their measured results are in
#: ``docs/presets.md``.
PRESETS: Mapping[str, Preset] = types.MappingProxyType({
    "bias": Preset(name="bias", model=DiskAEConfig(), steps=5000, batch_size=64, lr=4e-3, lr_schedule="cosine",
                   min_lr_ratio=0.01, warmup_steps=100, eval_every=100, threads=1, budget_s=180.0),
    "bias_free": Preset(name="bias_free", model=DiskAEConfig(bias=False), steps=600, batch_size=64, lr=2e-3,
                        lr_schedule="cosine", min_lr_ratio=0.01, eval_every=50, threads=1, budget_s=40.0),
})
