"""
The position encoder and Table 1
================================

How can a convolutional encoder read *where* an object is? The talk's answer (eqs. 9-12):
filter with ``[1, 2, 1]`` and subsample by two, ``L`` times. A one-hot Dirac at index ``i``
(0-based) of a signal of length ``2^L`` comes out as the number ``i + 1``, and the continuous
Dirac of eq. 13 at a real position ``a`` comes out as ``a + 1``. This example runs the encoder
(:func:`theory.position_encode`), prints the talk's Table 1 (:func:`theory.position_layer_table`)
and checks the induction with sympy (:func:`theory.prove_position_encoder`).
"""

import matplotlib.pyplot as plt
import numpy as np

import geoshape
import theory

# %%
# Encoding Diracs
# ---------------
# :func:`geoshape.dirac` renders eq. 13: a real position ``a`` splits its mass between
# ``floor(a)`` and ``floor(a) + 1``. The encoder returns ``a + 1`` for every ``a`` in
# ``[0, n - 1]``, integer or not.

n = 16
a = np.linspace(0.0, n - 1, 61)
x = geoshape.dirac(a, n=n)                    # (61, 16): one Dirac per row
code = theory.position_encode(x)              # (61,)
print("largest |E(delta_a) - (a + 1)|:", np.abs(code - (a + 1)).max())

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
axes[0].imshow(x, aspect="auto", cmap="gray_r", extent=[-0.5, n - 0.5, a[-1], a[0]])
axes[0].set_xlabel("sample")
axes[0].set_ylabel("position a")
axes[0].set_title("eq. 13 Diracs")
axes[1].plot(a, code, "C0.", label="encoder output")
axes[1].plot(a, a + 1, "k-", lw=0.8, label="a + 1")
axes[1].set_xlabel("position a")
axes[1].set_title("E_L(delta_a)")
axes[1].legend()
fig.tight_layout()

# %%
# Table 1: every layer for the eight one-hot inputs of length 8
# -------------------------------------------------------------
# ``u(l)`` is the output of layer ``l``; the last one is the position plus one.

table = theory.position_layer_table(8)
print(table)

# %%
# The same table as images: row ``i`` of each panel is ``u(l)`` for ``delta_i``.

fig, axes = plt.subplots(1, len(table.layers), figsize=(7, 3),
                         gridspec_kw={"width_ratios": [u.shape[1] for u in table.layers]})
for l, (ax, u) in enumerate(zip(axes, table.layers)):
    ax.imshow(u.astype(float), cmap="viridis", vmin=0, vmax=8, aspect="auto")
    for (i, j), v in np.ndenumerate(u):
        ax.text(j, i, int(v), ha="center", va="center", fontsize=7,
                color="w" if v < 5 else "k")
    ax.set_title("x" if l == 0 else f"u({l})")
    ax.set_xticks([])
    ax.set_yticks(range(8) if l == 0 else [])
axes[0].set_ylabel("one-hot index i")
fig.tight_layout()

# %%
# The induction, machine-checked
# ------------------------------
# sympy evaluates each step of the proof for a symbolic number of layers ``L`` and index
# ``k``; ``holds`` is True only if every step simplified to an identity.

proof = theory.prove_position_encoder()
print(proof)
assert proof.holds
plt.show()
