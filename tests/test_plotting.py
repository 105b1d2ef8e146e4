"""nets.plotting: the figures show what they state (decoded codes, reconstructions, correlations,
profile cuts), are readable (colour bars, units, annotation contrast), and bad arguments are
refused by name. Also validation._plots.plot_matrices' colour bars and annotation contrast."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nets
from nets import plotting as P

#: float32 decoding of the same codes through the same layers: identical up to rounding.
ATOL_DECODE = 1e-6


def _model(kind: str = "ae", size: int = 16, d: int = 3):
    # init="default" (PyTorch's own) so the decoder's output depends on the code; the
    # project's inits zero a linear output layer, which would make every decoded image 0
    cfg = nets.ConvAEConfig(size=size, n_stages=d, init="default")
    if kind == "pca_ae":
        m = nets.PCAAE(nets.PCAAEConfig(size=size, n_stages=d, init="default"), seed=1)
        for _ in range(d):
            m.add_stage()
        return m
    return nets.PlainAE(cfg, seed=1)


def _images(n: int = 12, size: int = 16) -> np.ndarray:
    return np.random.default_rng(0).random((n, size, size)).astype(np.float32)


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]


def _decode(model, z: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.decode(torch.from_numpy(z.astype(np.float32)))[:, 0].double().numpy()


# ----------------------------------------------------------------------------- traversals
@pytest.mark.parametrize("kind", ["ae", "pca_ae"])
def test_traversal_images_are_the_decoded_codes_it_states(kind):
    model, x = _model(kind), _images()
    model.train()
    fig = P.plot_traversals(model, x, n_steps=5, span=1.5)
    assert model.training                                   # the caller's mode is restored
    model.eval()
    # the codes, computed here independently of the plotting module
    with torch.no_grad():
        z = model.encode(torch.from_numpy(x)).double().numpy()
    mean, sd = z.mean(0), z.std(0)
    steps = np.linspace(-1.5, 1.5, 5)
    axes = _image_axes(fig)
    assert len(axes) == 3 * 5 and len(fig.axes) == 3 * 5 + 1     # + one colour bar
    assert fig.axes[-1].get_ylabel() == "grey level"
    for c in range(3):
        codes = np.tile(mean, (5, 1))
        codes[:, c] = mean[c] + steps * sd[c]
        want = _decode(model, codes)
        assert np.ptp(want) > 0, "the test model decodes every code to one image"
        for j in range(5):
            ax = axes[c * 5 + j]
            got = np.asarray(ax.images[0].get_array())
            err = np.abs(got - want[j]).max()
            assert err <= ATOL_DECODE, f"component {c}, step {j}: worst |figure - decode| = {err:.2e}"
            assert ax.get_title() == f"z{c + 1} = {codes[j, c]:.2f}"  # the code it states
        np.testing.assert_allclose(P.traversal_codes(model, x, n_steps=5, span=1.5)[c], codes, rtol=0, atol=1e-12)


def test_traversals_from_the_zero_code_and_chosen_components():
    model = _model()
    fig = P.plot_traversals(model, None, n_steps=3, span=2.0, components=[2, 0])
    axes = _image_axes(fig)
    assert len(axes) == 2 * 3
    codes = np.zeros((3, 3))
    codes[:, 2] = [-2.0, 0.0, 2.0]                          # first row: component 2, unit steps
    got = np.stack([np.asarray(ax.images[0].get_array()) for ax in axes[:3]])
    assert np.abs(got - _decode(model, codes)).max() <= ATOL_DECODE
    assert axes[0].get_ylabel().startswith("z3") and axes[3].get_ylabel().startswith("z1")


# ----------------------------------------------------------------------------- reconstructions
def test_reconstructions_show_inputs_above_outputs_with_their_mse():
    model, x = _model("pca_ae"), _images(n=6)
    fig = P.plot_reconstructions(model, x, n=4)
    axes = _image_axes(fig)
    assert len(axes) == 2 * 4 and len(fig.axes) == 2 * 4 + 1
    model.eval()
    with torch.no_grad():
        rec = model(torch.from_numpy(x[:4]))[:, 0].double().numpy()
    for j in range(4):
        assert np.abs(np.asarray(axes[j].images[0].get_array()) - x[j]).max() == 0
        assert np.abs(np.asarray(axes[4 + j].images[0].get_array()) - rec[j]).max() <= ATOL_DECODE
        assert axes[4 + j].get_title() == f"MSE {np.mean((rec[j] - x[j]) ** 2):.2e}"
    assert len(_image_axes(P.plot_reconstructions(model, x, n=50))) == 2 * 6   # all there are


# ----------------------------------------------------------------------------- covariance
def _codes():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 500))
    return np.column_stack([a, a + 0.01 * rng.normal(size=500), b])  # corr(z1, z2) ~ 1, corr(z1, z3) ~ 0


def test_covariance_is_the_correlation_with_a_centred_colour_bar():
    z = _codes()
    fig = P.plot_covariance(z, labels=["a", "b", "c"])
    ax, cbar = fig.axes
    img = ax.images[0]
    np.testing.assert_allclose(np.asarray(img.get_array()), np.corrcoef(z.T), atol=1e-12)
    assert (img.norm.vmin, img.norm.vmax) == (-1.0, 1.0)     # diverging map centred at 0
    assert cbar.get_ylabel() == "Pearson correlation"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert len(ax.texts) == 9


def test_annotations_contrast_with_their_cells():
    fig = P.plot_covariance(_codes())
    ax = fig.axes[0]
    colour = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_color() for t in ax.texts}
    assert colour[(0, 1)] == "white"      # |r| ~ 1: a dark red cell
    assert colour[(0, 2)] == "black"      # r ~ 0: the pale middle of the map
    assert P.contrast_colour((1.0, 1.0, 0.9)) == "black" and P.contrast_colour((0.1, 0.0, 0.3, 1.0)) == "white"


def test_validation_matrix_figure_has_colour_bars_and_contrasting_numbers(monkeypatch, tmp_path):
    from validation import _plots

    figs = []
    monkeypatch.setattr(_plots, "finish", lambda fig, path, dpi: figs.append(fig))
    m = np.array([[1.0, 0.02], [0.02, 0.9]])
    _plots.plot_matrices({"a": m, "b": -m}, tmp_path / "c.png", "cov", vmin=None, vmax=None, cmap="RdBu_r")
    fig = figs[0]
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2 and len(fig.axes) == 4            # two matrices, two colour bars
    for ax in panels:
        colour = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_color() for t in ax.texts}
        assert colour[(0, 0)] == "white" and colour[(0, 1)] == "black"


# ----------------------------------------------------------------------------- profile
def test_profile_axes_are_in_pixels_and_the_cut_meets_the_reference():
    y, x = np.mgrid[:9, :9]
    prof = np.exp(-((x - 4.0) ** 2 + (y - 4.0) ** 2) / 8.0)
    fig = P.plot_profile(prof)
    assert len(fig.axes) == 2 and fig.axes[0].get_xlabel() == "x (pixels)"
    assert fig.axes[0].images[0].get_extent() == [-0.5, 8.5, 8.5, -0.5]
    fig = P.plot_profile(prof, pixel_size=0.5, reference=lambda r: np.exp(-r**2 / 2.0))
    assert len(fig.axes) == 3
    assert fig.axes[0].images[0].get_extent() == [-0.25, 4.25, 4.25, -0.25]
    cut = next(ax for ax in fig.axes if ax.lines)
    (r, v), (rr, f) = (line.get_xydata().T for line in cut.lines[:2])
    np.testing.assert_allclose(r, 0.5 * np.arange(5))          # half-pixel samples, from the centre
    np.testing.assert_allclose(v, np.exp(-r**2 / 2.0), rtol=1e-12)  # this profile is its reference
    np.testing.assert_allclose(f, np.exp(-rr**2 / 2.0))
    assert "pixels" in cut.get_xlabel()


def test_saving_is_atomic_png(tmp_path):
    path = tmp_path / "sub" / "cov.png"
    fig = P.plot_covariance(_codes(), path=path)
    assert fig is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["cov.png"]


# ----------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("call, error, name", [
    (lambda m, x: P.plot_traversals("model", x), TypeError, "model"),
    (lambda m, x: P.plot_traversals(m, x, n_steps=1), ValueError, "n_steps"),
    (lambda m, x: P.plot_traversals(m, x, span=0.0), ValueError, "span"),
    (lambda m, x: P.plot_traversals(m, x, components=[3]), ValueError, "components"),
    (lambda m, x: P.plot_traversals(m, x, components="z1"), TypeError, "components"),
    (lambda m, x: P.plot_traversals(m, x[:, :8, :8]), ValueError, "images"),
    (lambda m, x: P.plot_traversals(m, x[:1]), ValueError, "images"),
    (lambda m, x: P.plot_traversals(m, [1, 2]), TypeError, "images"),
    (lambda m, x: P.plot_traversals(m, x, path=3), TypeError, "path"),
    (lambda m, x: P.plot_traversals(nets.PCAAE(nets.PCAAEConfig(size=16)), x), ValueError, "model"),
    (lambda m, x: P.plot_reconstructions(m, x, n=0), ValueError, "n"),
    (lambda m, x: P.plot_reconstructions(m, np.full_like(x, np.nan)), ValueError, "images"),
    (lambda m, x: P.plot_covariance(np.zeros(5)), ValueError, "codes"),
    (lambda m, x: P.plot_covariance(np.zeros((1, 3))), ValueError, "codes"),
    (lambda m, x: P.plot_covariance(np.zeros((5, 2)), labels=["a"]), ValueError, "labels"),
    (lambda m, x: P.plot_covariance(np.zeros((5, 2)), labels="ab"), TypeError, "labels"),
    (lambda m, x: P.plot_profile(np.zeros((2, 3, 3))), ValueError, "profile"),
    (lambda m, x: P.plot_profile(np.zeros((3, 3)), pixel_size=-1.0), ValueError, "pixel_size"),
    (lambda m, x: P.plot_profile(np.zeros((3, 3)), reference="airy"), TypeError, "reference"),
    (lambda m, x: P.plot_profile(np.zeros((3, 3)), reference=lambda r: r[:2]), ValueError, "reference"),
    (lambda m, x: P.contrast_colour((2.0, 0.0, 0.0)), ValueError, "rgba"),
])
def test_bad_arguments_are_refused_by_name(call, error, name):
    with pytest.raises(error, match=name):
        call(_model(), _images())
