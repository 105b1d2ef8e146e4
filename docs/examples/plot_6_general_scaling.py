"""
General scaling: the disk theory for any shape
==============================================

For disks of uniformly random radius the bias-free decoder's profile is Airy's function of the
radius. For any shape ``S`` that is star-shaped about the scaling centre, the optimum is the
same Airy profile of the shape's *gauge* ``|x|_S`` (:func:`theory.gauge_airy_image`); a shape
that is not star-shaped (an annulus) breaks it. Here the exact discrete optimum of scaled,
unblurred shapes (:func:`theory.scaled_family_profile`, the top eigenvector of the data,
integrated over the scale exactly) is set beside the gauge-Airy image. The derivation and the
trained nets are on the pages *General scaling* and *scaled_shapes*.
"""

import matplotlib.pyplot as plt
import numpy as np

import theory

# %%
# Discrete optimum against gauge-Airy, three shapes
# -------------------------------------------------
# 32 x 32 pixels; the cosine between the two unit-norm images is in each title.

size = 32
kinds = {"square": {}, "star": {}, "annulus": {}}
fig, axes = plt.subplots(2, len(kinds), figsize=(8, 5.4))
for col, (kind, params) in enumerate(kinds.items()):
    p = theory.scaled_family_profile(kind, size, supersample=2, **params)
    a = theory.gauge_airy_image("disk" if kind == "annulus" else kind, size)
    p = p * np.sign(p.sum())
    cos = float((p * a).sum() / np.linalg.norm(p) / np.linalg.norm(a))
    for row, (img, name) in enumerate(((p, "discrete optimum"), (a, "gauge-Airy"))):
        im = axes[row, col].imshow(img, cmap="viridis")
        axes[row, col].set_xticks([])
        axes[row, col].set_yticks([])
        fig.colorbar(im, ax=axes[row, col], fraction=0.046)
        axes[row, col].set_title(f"{kind}: {name}" + (f"\ncos {cos:.4f}" if row == 0 else ""), fontsize=9)
fig.tight_layout()
# %%
# The square and the star match Airy of their gauge (cosine above 0.999 even at 32 pixels);
# the annulus, whose scaled copies are not nested, is far from Airy of its outer radius.
