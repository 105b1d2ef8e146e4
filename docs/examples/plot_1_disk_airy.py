"""
A blurred disk and Airy's profile
=================================

A bias-free autoencoder with a one-dimensional code decodes every disk as ``h(r) f``: one
fixed image ``f`` times a scale. The best ``f`` for a set of images is their *discrete
optimum*, the top eigenvector of the data (:func:`theory.disk_profile`). For centred disks
with radii uniform on ``[0, R)`` the talk shows that, in the continuum, ``f`` is Airy's
function (:func:`theory.airy_profile`, eq. 8). Here we draw 2,000 blurred disks of 32 x 32
pixels (:func:`geoshape.centred_disks`), compute their discrete optimum and hold it against
Airy's profile, sharp and blurred like the disks (:func:`theory.airy_image`).
"""

import matplotlib.pyplot as plt
import numpy as np

import geoshape
import theory

size, R = 32, 16.0
data = geoshape.centred_disks(2000, size=size, sigma=1.0, rng=0)   # radii U[0, 16), sigma 1 px
print(data.images.shape, "radii in [%.2f, %.2f)" % (data.factors["radius"].min(), data.factors["radius"].max()))

# %%
# The discrete optimum and Airy's profile on the same grid
# --------------------------------------------------------
# Both images have unit Euclidean norm. Blurring the Airy profile with the disks' Gaussian
# (``sigma=1``) accounts for most of the gap: the blur is its main cause.

f = theory.disk_profile(data.images)                     # (32, 32), unit norm
airy = theory.airy_image(size, R=R)                      # Airy's f on the pixel grid, unit norm
airy_blur = theory.airy_image(size, R=R, sigma=1.0)      # the same, blurred like the disks
print(f"max |f - Airy|         = {np.abs(f - airy).max():.2e}")
print(f"max |f - blurred Airy| = {np.abs(f - airy_blur).max():.2e}")

fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, img, title in zip(axes, [data.images[0], f, f - airy],
                          [f"a blurred disk, r = {data.factors['radius'][0]:.1f}",
                           "discrete optimum f", "f - Airy"]):
    if title == "f - Airy":                              # diverging colours centred at 0
        v = np.abs(img).max()
        im = ax.imshow(img, cmap="RdBu_r", vmin=-v, vmax=v)
    else:
        im = ax.imshow(img, cmap="gray")
    ax.set_title(title)
    ax.axis("off")
    fig.colorbar(im, ax=ax, shrink=0.8)
fig.tight_layout()

# %%
# Radial profiles
# ---------------
# :func:`theory.radial_profile` averages an image over the pixels at each distance from the
# centre. The closed form is scaled to the sharp Airy image's norm on the grid.

rho, f_r = theory.radial_profile(f)
_, airy_r = theory.radial_profile(airy)
_, blur_r = theory.radial_profile(airy_blur)
t = np.linspace(0.0, rho.max(), 400)
scale = airy_r[0] / theory.airy_profile(rho[0], R)      # the grid image's unit-norm scale

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(t, scale * theory.airy_profile(t, R), "k-", lw=1, label="Airy, closed form (eq. 8)")
ax.plot(rho, f_r, "C0x", ms=4, label="discrete optimum of the disks")
ax.plot(rho, blur_r, "C1-", lw=1, label="Airy blurred like the disks")
ax.axvline(R, color="0.6", ls=":")
ax.set_xlabel("distance to the centre (pixels)")
ax.set_ylabel("profile (unit-norm image)")
ax.legend()
fig.tight_layout()
plt.show()
