"""
A PCA-like autoencoder and its latent traversal
===============================================

The PCA-like autoencoder (:class:`nets.PCAAE`, eqs. 14-17) grows its code one component at a
time: stage ``k`` adds an encoder and a decoder for component ``z_k``, freezes everything
trained before, and penalises the covariance of ``z_k`` with the earlier components. The
first component should carry the most variance (for ellipses, the area), and the components
should be decorrelated. This example trains a tiny one (16 x 16 ellipses, 2 stages of 100
steps on one thread; a few seconds) with :func:`nets.train_pca_ae` and shows what each
component does: decode a grid of codes around the data's median code. The experiment
``python -m validation.pca_ae_ellipses`` does this at full size and measures it.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import geoshape
import nets

size = 16
data = geoshape.random_ellipses(2048, size=size, a=(1.0, 6.0), b=(1.0, 6.0), rng=0)
config = nets.PCAAEConfig(size=size, n_stages=2)
train_config = nets.TrainConfig(steps=100, batch_size=64, lr=3e-3, threads=1, progress=False,
                                val_fraction=0.0)
model, histories = nets.train_pca_ae(config, data.images, train_config, seed=0)
for k, h in enumerate(histories, start=1):
    print(f"stage {k}: {h.steps[-1]} steps in {h.seconds:.1f} s, final training loss {h.train_loss[-1]:.4f}")

# %%
# The codes and the ellipses' area
# --------------------------------
# With this little training the first component already follows the ellipse's area
# ``pi a b`` (up to sign); the second is decorrelated from it by the covariance penalty.

with torch.no_grad():
    z = model.encode(torch.from_numpy(data.images)).numpy()      # (2048, 2)
area = np.pi * data.factors["a"] * data.factors["b"]
print("corr(z1, area) = %.3f, corr(z1, z2) = %.3f"
      % (np.corrcoef(z[:, 0], area)[0, 1], np.corrcoef(z[:, 0], z[:, 1])[0, 1]))

# %%
# Traversal grid
# --------------
# Row ``k`` moves component ``z_k`` from its 5th to its 95th percentile over the data, the
# other component held at its median.

steps = 7
median = np.median(z, axis=0)
fig, axes = plt.subplots(2, steps, figsize=(steps * 1.2, 2.8))
for k in range(2):
    values = np.quantile(z[:, k], np.linspace(0.05, 0.95, steps))
    codes = np.tile(median, (steps, 1))
    codes[:, k] = values
    with torch.no_grad():
        images = model.decode(torch.from_numpy(codes).float())[:, 0].numpy()   # (steps, 16, 16)
    for j in range(steps):
        axes[k, j].imshow(images[j], cmap="gray", vmin=0, vmax=1)
        axes[k, j].set_xticks([])
        axes[k, j].set_yticks([])
    axes[k, 0].set_ylabel(f"z{k + 1}")
fig.suptitle("decoded codes: one component moves, the other at its median")
fig.tight_layout()
plt.show()
