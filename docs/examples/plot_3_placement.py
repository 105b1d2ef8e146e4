"""
Placing an object
=================

The decoder side of position: how can a network made of upsampling, convolutions and ReLUs
put an object at a *real* position? :mod:`theory.placement` constructs one exactly. Its first
(affine) layer maps the code ``a`` in ``[0, 1]`` to the two-sample Dirac ``[1 - a, a]``; each
further layer (zero insertion, four 5-tap channels, ReLU, a fixed mix, no bias) doubles the
position, so layer ``l`` holds the eq. 13 Dirac at ``2^(l-1) a``
(:func:`theory.construct_dirac`). :class:`nets.ConstructedPlacementDecoder` is the same network
in PyTorch; convolved with a fixed blurred-disk template it renders a blurred disk at a
sub-pixel position. The full derivation is on the page *How a decoder places an object*.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

import geoshape
import nets
import theory

# %%
# The coarse Diracs, layer by layer
# ---------------------------------
# A code ``a = 0.7`` through 5 layers: the Dirac at ``2^(l-1) a`` on ``2^(l-1) + 1`` samples.

layers = theory.construct_dirac(0.7, 5)
fig, axes = plt.subplots(len(layers), 1, figsize=(6, 4.5), sharex=False)
for l, (ax, c) in enumerate(zip(axes, layers), start=1):
    t = np.arange(c.size)
    ax.bar(t, c, width=0.8, color="C0")
    ax.axvline(2 ** (l - 1) * 0.7, color="C3", lw=1)
    ax.set_xlim(-0.6, 16.6)
    ax.set_ylim(0, 1.05)
    ax.set_yticks([])
    ax.set_ylabel(f"layer {l}", rotation=0, ha="right", va="center")
axes[-1].set_xlabel("sample (the red line is 2^(l-1) a)")
fig.tight_layout()

# %%
# The decoder's layer table
# -------------------------
# For an output of 8 samples the decoder has 4 layers (2, 3, 5 and 9 samples, cropped to 8);
# dyadic positions give exact fractions.

print(theory.placement_layer_table(8, positions=[2.25, 5.5]))

# %%
# A blurred disk at a sub-pixel position
# --------------------------------------
# In 2-D the decoder multiplies the eq. 13 Diracs of ``x`` and ``y`` and convolves the result
# with a fixed template, a blurred disk of radius 4 (:func:`theory.disk_template`). The output
# is the bilinear interpolation of four integer-shifted templates, held here against the
# exact blurred disk of :func:`geoshape.disks` at the same centre.

size, radius, sigma = 32, 4.0, 1.0
config = nets.ConstructedPlacementConfig(length=size, ndim=2,
                                         template=theory.disk_template(radius, sigma))
decoder = nets.ConstructedPlacementDecoder(config)
centre = (12.3, 18.7)                                      # (x, y) in pixels
with torch.no_grad():
    rendered = decoder(torch.tensor([centre], dtype=torch.float64))[0, 0].numpy()
exact = geoshape.disks(radius, centres=[centre], size=size, sigma=sigma)[0]
print(f"max |decoded - exact| = {np.abs(rendered - exact).max():.3f}")

fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, img, title in zip(axes, [rendered, exact, rendered - exact],
                          ["constructed decoder", "geoshape.disks", "difference"]):
    if title == "difference":                            # diverging colours centred at 0
        v = np.abs(img).max()
        im = ax.imshow(img, cmap="RdBu_r", vmin=-v, vmax=v)
    else:
        im = ax.imshow(img, cmap="gray")
    ax.plot(*centre, "r+", ms=8)
    ax.set_title(title)
    ax.axis("off")
    fig.colorbar(im, ax=ax, shrink=0.8)
fig.tight_layout()
plt.show()
