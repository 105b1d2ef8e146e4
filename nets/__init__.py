"""Autoencoders of the talk in PyTorch, their regularisers, and the training engine.

    from nets import DiskAE, DiskAEConfig, TrainConfig, train, PRESETS
    model = DiskAE(PRESETS["bias"]["model"], seed=0)
    history = train(model, sampler, TrainConfig(**PRESETS["bias"]["train"]))
"""

from . import losses
from .disk_ae import PRESETS, DiskAE, DiskAEConfig
from .position import PositionDecoder, PositionDecoderConfig, PositionEncoder, PositionEncoderConfig
from .train import History, TrainConfig, load_checkpoint, train
from .pca_ae import PCAAE, PCAAEConfig, covariance_loss, train_pca_ae
from .plain_ae import PlainAE
from .vae import BetaVAE, VAEConfig, gaussian_kl

__all__ = [
    "DiskAE",
    "DiskAEConfig",
    "PRESETS",
    "PositionEncoder",
    "PositionEncoderConfig",
    "PositionDecoder",
    "PositionDecoderConfig",
    "TrainConfig",
    "History",
    "train",
    "load_checkpoint",
    "losses",
    "PCAAE",
    "PCAAEConfig",
    "covariance_loss",
    "train_pca_ae",
    "PlainAE",
    "BetaVAE",
    "VAEConfig",
    "gaussian_kl",
]
