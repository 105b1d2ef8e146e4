"""The PCA-like autoencoder of the talk (slides "PCA Autoencoder", eqs. 14-17).

The latent grows by one component -- or one *packet* of ``p`` components, the talk's remedy for
attributes such as a 2-D position that must be learned together -- per stage:

* stage k trains a new encoder ``E(k)`` that outputs component(s) k and a fresh decoder
  ``D(k)`` that reads all components so far; ``E(1) .. E(k-1)`` are frozen, i.e. their
  parameters have ``requires_grad=False`` *and* they stay in eval mode so that their
  BatchNorm running statistics do not move (``PCAAE.train(mode)`` is overridden for that;
  the public PCAAE code sets a misspelt ``param.required_grad`` and leaves them in train mode);
* each encoder ends with a BatchNorm without shift, ``BatchNorm1d(affine=False)``: beta is
  fixed to 0 so ``E[z] = 0`` (the talk fixes beta = 0). The scale gamma is fixed to 1 as well:
  a learnable scale would let stage k shrink its component and the decoder scale it back up,
  driving the covariance penalty to zero without decorrelating anything (eq. 14 is not
  scale-invariant). With unit-variance components the penalty is the squared correlation;
* the stage-k loss is eq. 17, ``mean |x - D(E(x))|^2 + lam * L_cov`` with :func:`covariance_loss`.

The encoders and decoders are the blocks of :mod:`nets.conv_ae`, shared with the baselines
``nets.plain_ae`` and ``nets.vae`` so that all three have the same capacity. Weights are
initialised explicitly (``init``) inside a seeded, forked torch RNG, and the test-suite checks
that the chosen law is what the weights follow (the public code builds a truncated normal and
never assigns it).

Training reuses the engine: :func:`train_pca_ae` calls ``nets.train`` once per stage, through
the ``training_loss(x_in, x_target)`` hook of :class:`PCAAE`.

The architecture's names (``ConvEncoder``, ``make_encoder``, ``reconstruction_loss``, ...)
moved to :mod:`nets.conv_ae`; they are re-exported here for the code that imports them from
this module.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass

import torch
from torch import nn

from geoshape import checks
from geoshape.streams import stream_seed

from . import _checks
from . import conv_ae as _conv_ae
# Re-exported: these lived in this module before the shared architecture got its own.
from .conv_ae import (ARCHS, INITS, OUTPUTS, RECON_LOSSES, TRUNC_STD, AllConvDecoder, AllConvEncoder,
                      ConvAEConfig, ConvDecoder, ConvEncoder, crop_images, init_weights, make_decoder,
                      make_encoder, n_decoder_parameters, n_encoder_parameters, pad_images, reconstruction_loss)
from .train import train
from .train_config import TrainConfig

__all__ = [
    "PCAAEConfig",
    "PCAAE",
    "stage_seed",
    "covariance_loss",
    "train_pca_ae",
    # re-exported from nets.conv_ae
    *_conv_ae.__all__,
]


def stage_seed(seed: int, k: int, role: str) -> int:
    """Seed of stage ``k``'s (1-based) ``role`` ("init" or "train") of a PCA-AE seeded with
    ``seed``: the named stream ``stage/k/role`` (:func:`geoshape.streams.stream_seed`), so that
    no stage of one seed shares a stream with a stage of another (``seed + k`` would give
    seed 0's stage 2 the stream of seed 1's stage 1)."""
    k = checks.integer(k, "k", lo=1)
    role = checks.choice(role, "role", ("init", "train"))
    return stream_seed(seed, f"stage/{k}/{role}")


@dataclass(frozen=True, kw_only=True)
class PCAAEConfig(ConvAEConfig):
    """Architecture and loss of :class:`PCAAE`: the fields of
    :class:`nets.conv_ae.ConvAEConfig` (``n_stages`` = K stages, ``packet`` = the components
    each stage adds) plus

    lam_cov: lambda of eq. 17, finite and >= 0 (public code: 1; with a per-pixel mean squared
        error).

    On ``output``: with the squared error of eq. 17 a sigmoid stops learning once it
    saturates: on grey disks the standard AE and the packet PCA-AE sat at the all-black image
    (test MSE 0.047 against 0.0025 for linear PCA). On ellipses, though, the sigmoid gave the
    better PCA-AE (validation.pca_ae_ellipses uses it; measured there).
    """

    lam_cov: float = 1.0

    def validate(self) -> None:
        """Raise ValueError/TypeError naming the bad field and its allowed range."""
        super().validate()
        self._set("lam_cov", checks.nonnegative(self.lam_cov, "lam_cov"))

    def replace(self, **changes) -> "PCAAEConfig":
        return dataclasses.replace(self, **changes)


# --------------------------------------------------------------------------------------------
# the covariance loss (eqs. 14-16)


def covariance_loss(z: torch.Tensor, n_new: int) -> torch.Tensor:
    """Mean squared batch covariance between the ``n_new`` newest components and all earlier
    ones, plus (packets) between the new components themselves.

    ``z``: (m, d) floating-point codes of a batch (m >= 2), the last ``n_new`` columns being the
    stage's new packet (an integer tensor is a TypeError: its batch mean is undefined).
    Covariances are eq. 14, ``Cov(a, b) = mean(a b) - mean(a) mean(b)`` (normalised by m): the
    frozen components pass their BatchNorm in eval mode, so their batch mean is only close to
    0 and eq. 15's shortcut would not be exact. The mean runs over the penalised pairs:
    ``(d - p) p`` earlier-new pairs and ``p (p - 1) / 2`` pairs inside the packet (the talk's
    eq. 16 writes 1/k in front of a sum of k-1 terms; the public code divides by k-1, as here).
    Returns a 0-d tensor; 0 when there is no pair (first stage with p = 1).
    """
    _checks.float_tensor(_checks.matrix(z, "z", min_rows=2), "z")
    d = z.shape[1]
    n_new = checks.integer(n_new, "n_new", lo=1, hi=d)
    zc = z - z.mean(dim=0, keepdim=True)
    cov = zc.T @ zc[:, d - n_new:] / z.shape[0]  # (d, p): column j = new component d-p+j
    old = cov[: d - n_new] ** 2
    inside = torch.triu(cov[d - n_new:], diagonal=1) ** 2
    n_pairs = (d - n_new) * n_new + n_new * (n_new - 1) // 2
    if n_pairs == 0:
        return z.sum() * 0.0
    return (old.sum() + inside.sum()) / n_pairs


# --------------------------------------------------------------------------------------------
# the model


def _n_parameters(config: PCAAEConfig) -> int:
    """Parameters of a fully grown PCAAE: every stage's encoder and decoder."""
    total, dim = 0, 0
    for q in config.packets:
        dim += q
        total += n_encoder_parameters(config, q) + n_decoder_parameters(config, dim)
    return total


class PCAAE(nn.Module):
    """PCA-like autoencoder; ``forward(x) = decode(encode(x))`` at the current stage.

    Built empty (stage 0); :meth:`add_stage` appends a new encoder and a fresh decoder and
    freezes everything trained before. All stage decoders are kept (frozen), so
    :meth:`reconstruct` can replay any earlier stage for the ordering measures.

    Args:
        config: :class:`PCAAEConfig` (default: ``PCAAEConfig()``).
        seed: stage k's modules are drawn from a private generator seeded with the named
            stream ``stage/k/init`` of ``seed`` (:func:`stage_seed`); same seed -> same
            weights; the global RNG is untouched. An int in ``[0, 2**63 - 1]``.

    Shapes: ``encode`` ``(n, 1, s, s)`` or ``(n, s, s)`` -> ``(n, d_k)``, ``d_k`` the
    components of stages 1..k (:attr:`latent_dim`); ``decode`` ``(n, d_k)`` -> ``(n, 1, s, s)``;
    ``s = config.size``, any side in [8, 1024]. The stage nets are built for
    ``config.padded_size`` (the next power of two): ``encode`` zero-pads its input to it,
    centred, and ``decode`` / ``reconstruct`` crop the decoder's output back to ``s``
    (:func:`nets.conv_ae.pad_images`, :func:`nets.conv_ae.crop_images`), so eq. 17 is measured
    on the ``s x s`` pixels of the input only.
    Inputs are float tensors of any float dtype, cast to the model's dtype (float32 unless the
    model was converted); numpy arrays are refused (TypeError naming the argument).
    A config whose fully grown model would hold more than 4 GiB of float32 weights is refused
    at construction (ValueError with the bytes needed).

    Examples:
        >>> m = PCAAE(PCAAEConfig(size=16, n_stages=2), seed=0)
        >>> m.add_stage()
        1
        >>> m(torch.zeros(4, 1, 16, 16)).shape
        torch.Size([4, 1, 16, 16])
    """

    def __init__(self, config: PCAAEConfig | None = None, *, seed: int = 0) -> None:
        super().__init__()
        config, seed = _checks.model_args(config, PCAAEConfig, PCAAEConfig, seed)
        _checks.weights_budget(_n_parameters(config), "config (size, widths, packet, n_stages)")
        self.config = config
        self.seed = seed
        self.encoders = nn.ModuleList()
        self.decoders = nn.ModuleList()

    @property
    def stage(self) -> int:
        return len(self.encoders)

    @property
    def latent_dim(self) -> int:
        return sum(self.config.packets[: self.stage])

    def add_stage(self) -> int:
        """Freeze all existing modules and append stage k's encoder and decoder; returns k."""
        cfg = self.config
        if self.stage >= cfg.n_stages:
            raise ValueError(f"all n_stages = {cfg.n_stages} stages are already built")
        for m in list(self.encoders) + list(self.decoders):
            m.requires_grad_(False)
            m.eval()
        k = self.stage + 1
        ref = next(self.parameters(), None)
        with _checks.seeded(stage_seed(self.seed, k, "init")):
            enc = make_encoder(cfg, cfg.packets[k - 1], zero_mean=True)
            dec = make_decoder(cfg, sum(cfg.packets[:k]))
            init_weights(enc, cfg.init, cfg.leaky_slope)
            init_weights(dec, cfg.init, cfg.leaky_slope)
        if ref is not None:
            enc.to(device=ref.device, dtype=ref.dtype)
            dec.to(device=ref.device, dtype=ref.dtype)
        enc.train(self.training)
        dec.train(self.training)
        self.encoders.append(enc)
        self.decoders.append(dec)
        return k

    def train(self, mode: bool = True) -> "PCAAE":
        """Set train/eval mode on the active stage only; earlier stages always stay in eval
        mode, so their BatchNorm statistics are frozen along with their weights."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for i, (enc, dec) in enumerate(zip(self.encoders, self.decoders)):
            active = mode and i == self.stage - 1
            enc.train(active)
            dec.train(active)
        return self

    def _require_stage(self) -> None:
        if self.stage == 0:
            raise RuntimeError("the PCAAE has no stage yet: call add_stage() first")

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> codes ``(n, latent_dim)``, components ordered by stage."""
        self._require_stage()
        x = pad_images(_checks.model_images(x, self, self.config.size), self.config.padded_size)
        return torch.cat([enc(x) for enc in self.encoders], dim=1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``(n, latent_dim)`` -> images ``(n, 1, s, s)`` with the current decoder."""
        self._require_stage()
        return crop_images(self.decoders[-1](_checks.model_codes(z, self, self.latent_dim)), self.config.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def reconstruct(self, x: torch.Tensor, stage: int) -> torch.Tensor:
        """``D(stage)(E(1..stage)(x))``: the reconstruction after stage ``stage`` (1-based)."""
        self._require_stage()
        stage = checks.integer(stage, "stage", lo=1, hi=self.stage)
        rec = self.decoders[stage - 1](self.encode(x)[:, : sum(self.config.packets[:stage])])
        return crop_images(rec, self.config.size)

    def training_loss(self, x_in: torch.Tensor, x_target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Eq. 17 for the current stage k: ``{"mse": mean squared error per pixel (or "bce",
        see ConvAEConfig.recon_loss), "cov": lam_cov * covariance_loss(z, p_k)}``, p_k the
        stage's packet size (the engine sums the entries)."""
        self._require_stage()
        z = self.encode(x_in)
        rec = self.decode(z)
        target = _checks.model_images(x_target, self, self.config.size, name="x_target")
        terms = reconstruction_loss(rec, target, self.config.recon_loss)
        terms["cov"] = self.config.lam_cov * covariance_loss(z, self.config.packets[self.stage - 1])
        return terms

    def encoder_parameters(self):
        return self.encoders.parameters()

    def decoder_parameters(self):
        return self.decoders.parameters()


# --------------------------------------------------------------------------------------------
# training driver


def train_pca_ae(config: PCAAEConfig, data, train_config, *, val_data=None, seed: int = 0, start: PCAAE | None = None):
    """Build a :class:`PCAAE` and train its ``n_stages`` stages with ``nets.train``.

    Args:
        config: the model's :class:`PCAAEConfig`.
        data, val_data: as for ``nets.train`` (array of images or a sampler).
        train_config: one ``nets.TrainConfig`` used for every stage (stage k runs with
            ``seed`` the named stream ``stage/k/train`` of ``train_config.seed``,
            :func:`stage_seed`, so batches differ between stages and seeds), or a
            sequence of ``n_stages`` configs. With a ``checkpoint_dir``, stage k checkpoints
            into ``checkpoint_dir/stage_k`` (so ``resume`` works stage by stage).
        seed: model initialisation seed (see :class:`PCAAE`).
        start: a partly trained :class:`PCAAE` to branch from: a deep copy of it keeps its
            ``start.stage`` trained stages and only the later stages are trained (so variants
            that differ from stage ``start.stage + 1`` on share identical earlier stages).
            Its config must equal ``config`` except for ``lam_cov``, ``n_stages`` and the
            packets after its stages; ``start`` itself is not modified.

    Returns:
        ``(model, histories)``: the trained model (eval mode) and one ``History`` per stage
        trained by this call.
    """
    if not isinstance(config, PCAAEConfig):
        raise TypeError(f"config must be a PCAAEConfig, got {type(config).__name__}")
    if isinstance(train_config, TrainConfig):
        configs = [
            dataclasses.replace(
                train_config,
                seed=stage_seed(train_config.seed, k + 1, "train"),
                **(
                    {"checkpoint_dir": os.path.join(str(train_config.checkpoint_dir), f"stage_{k + 1}")}
                    if getattr(train_config, "checkpoint_dir", None)
                    else {}
                ),
            )
            for k in range(config.n_stages)
        ]
    elif isinstance(train_config, (list, tuple)) and all(isinstance(c, TrainConfig) for c in train_config):
        if len(train_config) != config.n_stages:
            raise ValueError(f"train_config must have n_stages = {config.n_stages} entries, got {len(train_config)}")
        configs = list(train_config)
    else:
        raise TypeError("train_config must be a TrainConfig or a sequence of n_stages TrainConfigs")
    if start is None:
        model = PCAAE(config, seed=seed)
    else:
        if not isinstance(start, PCAAE):
            raise TypeError(f"start must be a PCAAE or None, got {type(start).__name__}")
        k0 = start.stage
        free = ("lam_cov", "n_stages", "packet")
        a = {f.name: getattr(start.config, f.name) for f in dataclasses.fields(PCAAEConfig) if f.name not in free}
        b = {f.name: getattr(config, f.name) for f in dataclasses.fields(PCAAEConfig) if f.name not in free}
        if a != b or k0 > config.n_stages or start.config.packets[:k0] != config.packets[:k0]:
            raise ValueError(
                "start's config is incompatible with config (only lam_cov, n_stages and later packets may differ)"
            )
        model = copy.deepcopy(start)
        model.config = config
        configs = configs[k0:]
    histories = []
    for cfg in configs:
        model.add_stage()
        histories.append(train(model, data, cfg, val_data=val_data))
    model.eval()
    return model, histories
