"""The authors' layout and the Keras weights reader, against an independent numpy
implementation of Keras' conventions (channels-last cross-correlation for Conv2D,
scatter-add for Conv2DTranspose) on small random files written with h5py."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nets.official import AUTHORS_WIDTHS, OfficialAE, OfficialAEConfig, load_keras_weights

SLOPE = 0.05
# float32 network against a float64 reference: ~1e-7 relative rounding per layer.
ATOL_KERAS = 1e-5


def _leaky(x):
    return np.where(x >= 0, x, SLOPE * x)


def keras_conv2d_valid_s2(x, kernel, bias):
    """x (h, w, c_in), kernel (3, 3, c_in, c_out): out[y, x, o] = sum x[2y+i, 2x+j, c] K[i, j, c, o]."""
    h = (x.shape[0] - 3) // 2 + 1
    w = (x.shape[1] - 3) // 2 + 1
    out = np.zeros((h, w, kernel.shape[3]))
    for y in range(h):
        for xx in range(w):
            patch = x[2 * y:2 * y + 3, 2 * xx:2 * xx + 3, :]
            out[y, xx] = np.einsum("ijc,ijco->o", patch, kernel)
    return out + (0 if bias is None else bias)


def keras_conv2d_transpose_valid_s2(x, kernel, bias):
    """x (h, w, c_in), kernel (3, 3, c_out, c_in): out[2y+i, 2x+j, o] += x[y, x, c] K[i, j, o, c]."""
    h, w, _ = x.shape
    out = np.zeros((2 * h + 1, 2 * w + 1, kernel.shape[2]))
    for y in range(h):
        for xx in range(w):
            out[2 * y:2 * y + 3, 2 * xx:2 * xx + 3, :] += np.einsum("c,ijoc->ijo", x[y, xx], kernel)
    return out + (0 if bias is None else bias)


def write_keras_weights(path, widths, rng, *, bias=True, extra_layers=True):
    """A Keras 2.x ``save_weights`` file: root attr layer_names, one group per layer holding a
    group of the same name with ``kernel:0`` / ``bias:0`` (the layout of the authors' file)."""
    k = len(widths) - 1
    enc, dec = [], []
    with h5py.File(path, "w") as f:
        names = ["input_1"] if extra_layers else []
        for i in range(k):
            enc.append((rng.normal(0, 0.5, (3, 3, widths[i], widths[i + 1])),
                        rng.normal(0, 0.1, widths[i + 1]) if bias else None))
        for i in range(k):
            c_in, c_out = widths[k - i], widths[k - i - 1]
            dec.append((rng.normal(0, 0.5, (3, 3, c_out, c_in)), rng.normal(0, 0.1, c_out) if bias else None))
        for kind, layers in (("conv2d", enc), ("conv2d_transpose", dec)):
            for i, (kern, b) in enumerate(layers, start=1):
                name = f"{kind}_{i}"
                names.append(name)
                g = f.create_group(name).create_group(name)
                g["kernel:0"] = kern.astype(np.float32)
                wn = [f"{name}/kernel:0".encode()]
                if b is not None:
                    g["bias:0"] = b.astype(np.float32)
                    wn.append(f"{name}/bias:0".encode())
                f[name].attrs["weight_names"] = wn
                if extra_layers:
                    names.append(f"leaky_re_lu_{kind}_{i}")
                    f.create_group(names[-1]).attrs["weight_names"] = []
        if extra_layers:
            f.create_group("input_1").attrs["weight_names"] = []
        f.attrs["layer_names"] = [n.encode() for n in names]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
    return [(kk.astype(np.float32).astype(np.float64), None if b is None else b.astype(np.float32).astype(np.float64))
            for kk, b in enc], \
           [(kk.astype(np.float32).astype(np.float64), None if b is None else b.astype(np.float32).astype(np.float64))
            for kk, b in dec]


def keras_forward(image, enc, dec):
    h = image[:, :, None].astype(np.float64)
    for kern, b in enc:
        h = _leaky(keras_conv2d_valid_s2(h, kern, b))
    z = h.reshape(-1)
    for kern, b in dec:
        h = _leaky(keras_conv2d_transpose_valid_s2(h, kern, b))
    return z, h[:, :, 0]


def test_authors_layout_shapes_and_parameter_count():
    ae = OfficialAE(seed=0)
    assert ae.config.size == 63 and ae.config.widths == AUTHORS_WIDTHS
    assert sum(p.numel() for p in ae.parameters()) == 1116
    sides, h = [], torch.zeros(1, 1, 63, 63)
    for conv in ae.encoder:
        h = conv(h)
        sides.append(h.shape[-1])
    assert sides == [31, 15, 7, 3, 1]
    for conv in ae.decoder:
        h = conv(h)
        sides.append(h.shape[-1])
    assert sides == [31, 15, 7, 3, 1, 3, 7, 15, 31, 63]
    # closed form: sum over layers of 9 c_in c_out + c_out, both ways
    w = AUTHORS_WIDTHS
    expected = sum(9 * a * b + b for a, b in zip(w, w[1:])) + sum(9 * a * b + a for a, b in zip(w, w[1:]))
    assert expected == 1116
    assert sum(p.numel() for p in OfficialAE(OfficialAEConfig(bias=False)).parameters()) == 1116 - sum(w[1:]) - sum(w[:-1])


@pytest.mark.parametrize("widths,size", [((1, 2), 3), ((1, 3, 2), 7), ((1, 4, 4, 2, 1), 31), (AUTHORS_WIDTHS, 63)])
def test_size_is_two_to_the_layers_plus_one_minus_one(widths, size):
    ae = OfficialAE(OfficialAEConfig(widths), seed=1)
    assert ae.config.size == size
    assert ae(torch.rand(2, 1, size, size)).shape == (2, 1, size, size)


def test_glorot_uniform_init_and_zero_biases():
    ae = OfficialAE(seed=3)
    for conv in list(ae.encoder) + list(ae.decoder):
        w = conv.weight
        fan_in = w.shape[1] * 9 if isinstance(conv, torch.nn.Conv2d) else w.shape[0] * 9
        fan_out = w.shape[0] * 9 if isinstance(conv, torch.nn.Conv2d) else w.shape[1] * 9
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        assert float(w.detach().abs().max()) <= bound
        assert torch.count_nonzero(conv.bias) == 0
    assert torch.equal(OfficialAE(seed=3).encoder[0].weight, ae.encoder[0].weight)
    assert not torch.equal(OfficialAE(seed=4).encoder[0].weight, ae.encoder[0].weight)


@settings(max_examples=25, deadline=None)
@given(lam=st.floats(0.0, 1e3), seed=st.integers(0, 2**31))
def test_bias_free_layout_is_positively_homogeneous(lam, seed):
    ae = OfficialAE(OfficialAEConfig(bias=False), seed=seed % 1000).double()
    x = torch.from_numpy(np.random.default_rng(seed).random((2, 1, 63, 63)))
    with torch.no_grad():
        lhs, rhs = ae(lam * x), lam * ae(x)
    assert torch.allclose(lhs, rhs, rtol=1e-10, atol=1e-12 * max(lam, 1.0))


@pytest.mark.parametrize("widths,bias", [((1, 3, 2), True), ((1, 2, 3, 1), False), (AUTHORS_WIDTHS, True)])
def test_loader_matches_numpy_keras_reference(tmp_path, widths, bias):
    rng = np.random.default_rng(len(widths) + bias)
    path = tmp_path / "w.h5"
    enc, dec = write_keras_weights(path, widths, rng, bias=bias)
    model = load_keras_weights(path)
    assert model.config.widths == widths and model.config.bias == bias
    size = model.config.size
    images = rng.random((3, size, size))
    with torch.no_grad():
        z = model.encode(torch.from_numpy(images.astype(np.float32))[:, None]).numpy()
        y = model.decode(torch.from_numpy(z)).numpy()[:, 0]
    for n in range(3):
        z_ref, y_ref = keras_forward(images[n], enc, dec)
        np.testing.assert_allclose(z[n], z_ref, atol=ATOL_KERAS, rtol=1e-5)
        # decode the model's own code through the reference decoder
        h = z[n].astype(np.float64).reshape(1, 1, -1)
        for kern, b in dec:
            h = _leaky(keras_conv2d_transpose_valid_s2(h, kern, b))
        np.testing.assert_allclose(y[n], h[:, :, 0], atol=ATOL_KERAS, rtol=1e-5)
        np.testing.assert_allclose(y[n], y_ref, atol=1e-4, rtol=1e-4)


def test_loader_rejects_bad_files(tmp_path):
    not_h5 = tmp_path / "a.h5"
    not_h5.write_bytes(b"not an hdf5 file")
    with pytest.raises(ValueError, match="path.*not an HDF5"):
        load_keras_weights(not_h5)
    with pytest.raises(ValueError, match="path: no such file"):
        load_keras_weights(tmp_path / "missing.h5")
    with pytest.raises(TypeError, match="path"):
        load_keras_weights(3)
    rng = np.random.default_rng(0)
    ok = tmp_path / "ok.h5"
    write_keras_weights(ok, (1, 3, 2), rng)
    lacking = tmp_path / "lacking.h5"
    write_keras_weights(lacking, (1, 3, 2), rng)
    with h5py.File(lacking, "a") as f:
        del f["conv2d_transpose_2"]
    with pytest.raises(ValueError, match="conv2d_transpose_2"):
        load_keras_weights(lacking)
    wrong = tmp_path / "wrong.h5"
    write_keras_weights(wrong, (1, 3, 2), rng)
    with h5py.File(wrong, "a") as f:
        del f["conv2d_transpose_1/conv2d_transpose_1/kernel:0"]
        f["conv2d_transpose_1/conv2d_transpose_1/kernel:0"] = np.zeros((3, 3, 2, 2), np.float32)
    with pytest.raises(ValueError, match="conv2d_transpose_1/kernel:0 must have shape"):
        load_keras_weights(wrong)
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.create_group("dense_1")
    with pytest.raises(ValueError, match="conv2d_1"):
        load_keras_weights(empty)


@pytest.mark.parametrize("kwargs,word", [
    (dict(widths=(2, 3)), "widths"), (dict(widths=(1,)), "widths"), (dict(widths=(1, 0)), "widths"),
    (dict(widths=(1, 2.0)), "widths"), (dict(widths="18"), "widths"), (dict(bias="yes"), "bias"),
    (dict(leaky_slope=-0.1), "leaky_slope"), (dict(widths=(1,) * 16), "widths"),
])
def test_config_rejects_bad_values(kwargs, word):
    with pytest.raises((ValueError, TypeError), match=word):
        OfficialAEConfig(**kwargs)


def test_model_checks_inputs():
    ae = OfficialAE()
    with pytest.raises(ValueError, match="x must have shape"):
        ae.encode(torch.zeros(1, 1, 64, 64))
    with pytest.raises(ValueError, match="z must have shape"):
        ae.decode(torch.zeros(1, 2))
    with pytest.raises(TypeError, match="x must be"):
        ae.encode(np.zeros((1, 1, 63, 63)))
    # float64 input (what torch.from_numpy gives) is cast, not refused
    assert ae.encode(torch.zeros(1, 1, 63, 63, dtype=torch.float64)).dtype == torch.float32


def test_decoder_bias_after_the_convolution_equals_torch_conv_transpose_with_bias():
    """The decoder adds each bias after ``conv_transpose2d`` (faster on the CPU): the reference
    is torch's own ``nn.ConvTranspose2d`` with its bias inside, on the same non-zero weights."""
    model = OfficialAE(seed=5)
    gen = torch.Generator().manual_seed(6)
    with torch.no_grad():
        for conv in model.decoder:
            conv.bias.copy_(torch.randn(conv.bias.shape, generator=gen) * 0.3)
    z = torch.linspace(-3.0, 3.0, 32)[:, None]
    with torch.no_grad():
        h = z[:, :, None, None]
        for conv in model.decoder:
            h = torch.nn.functional.leaky_relu(conv(h), model.config.leaky_slope)
        got = model.decode(z)
    assert got.shape == h.shape == (32, 1, 63, 63)
    err = float((got - h).abs().max())
    assert err <= 1e-6 * float(h.abs().max()), f"max abs difference {err:.3e}"
