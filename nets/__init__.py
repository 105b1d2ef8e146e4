"""Autoencoders of the talk in PyTorch, their regularisers, and the training engine.

    from nets import DiskAE, train, PRESETS
    recipe = PRESETS["bias"]
    model = DiskAE(recipe.model, seed=0)
    history = train(model, sampler, recipe.train_config(progress=False))

Models: :class:`DiskAE` (the talk's disk autoencoder, :mod:`nets.disk_ae`),
:class:`PositionEncoder` / :class:`PositionDecoder` (:mod:`nets.position`), the PCA-like
autoencoder :class:`PCAAE` (:mod:`nets.pca_ae`) and its baselines :class:`PlainAE` and
:class:`BetaVAE` / :class:`BetaTCVAE` (:mod:`nets.plain_ae`, :mod:`nets.vae`, :mod:`nets.tcvae`), all built from the shared
architecture of :mod:`nets.conv_ae` (:class:`ConvAEConfig`); the authors' own Keras layout
:class:`OfficialAE` and :func:`load_keras_weights` for their HDF5 weights (:mod:`nets.official`);
:class:`PlacementDecoder`, a conv decoder from a 2-D position to an image (:mod:`nets.placement_decoder`).
:class:`ConstructedPlacementDecoder` is the exact ReLU construction placing the eq. 13 Dirac (:mod:`nets.placement`).
Saving and loading trained models: :func:`save`, :func:`load`, and :func:`load_results` for an
experiment's results folder (:mod:`nets.saveload`).
"""

from . import losses
from .disk_ae import PRESETS, DiskAE, DiskAEConfig, Preset
from .position import PositionDecoder, PositionDecoderConfig, PositionEncoder, PositionEncoderConfig
from .train import History, TrainConfig, load_checkpoint, train
from .conv_ae import ConvAEConfig
from .pca_ae import PCAAE, PCAAEConfig, covariance_loss, train_pca_ae
from .plain_ae import PlainAE
from .tcvae import BetaTCVAE, TCVAEConfig, tc_decomposition
from .vae import BetaVAE, VAEConfig, gaussian_kl
from .official import OfficialAE, OfficialAEConfig, load_keras_weights
from .placement_decoder import PlacementDecoder, PlacementDecoderConfig
from .placement import ConstructedPlacementConfig, ConstructedPlacementDecoder
from .saveload import load, load_results, save
from . import plotting

__all__ = [
    "DiskAE",
    "DiskAEConfig",
    "PRESETS",
    "Preset",
    "PositionEncoder",
    "PositionEncoderConfig",
    "PositionDecoder",
    "PositionDecoderConfig",
    "TrainConfig",
    "History",
    "train",
    "load_checkpoint",
    "losses",
    "ConvAEConfig",
    "PCAAE",
    "PCAAEConfig",
    "covariance_loss",
    "train_pca_ae",
    "PlainAE",
    "BetaVAE",
    "BetaTCVAE",
    "TCVAEConfig",
    "tc_decomposition",
    "VAEConfig",
    "gaussian_kl",
    "OfficialAE",
    "OfficialAEConfig",
    "load_keras_weights",
    "PlacementDecoder",
    "PlacementDecoderConfig",
    "ConstructedPlacementDecoder",
    "ConstructedPlacementConfig",
    "save",
    "load",
    "load_results",
    "plotting",
]
