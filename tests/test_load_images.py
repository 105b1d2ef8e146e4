"""geoshape.load_images: small files written here (numpy, Pillow for PNG, tifffile for TIFF,
independent of the reader under test) come back as the values written, scaled by hand
(uint8 / 255, uint16 / 65535, BT.601 luma 0.299 R + 0.587 G + 0.114 B in float64), and every
kind of bad input is refused by name."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

import geoshape
from geoshape import load_images

# A float64 reference rounded once to float32 against the reader's float64 -> float32 path:
# the two may differ in the last bit of the float32 result.
RTOL_F32 = 2**-23


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _uint8(shape, seed=0) -> np.ndarray:
    return _rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def _png(path, arr: np.ndarray) -> None:
    Image.fromarray(arr).save(path)


def _luma(rgb: np.ndarray, scale: float) -> np.ndarray:
    x = rgb.astype(np.float64) / scale
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


# ----------------------------------------------------------------------------- .npy / .npz
@pytest.mark.parametrize("dtype, scale", [(np.uint8, 255), (np.uint16, 65535), (np.int16, 32767)])
def test_npy_integers_are_scaled_by_their_dtype_max(tmp_path, dtype, scale):
    a = _rng().integers(0, np.iinfo(dtype).max, size=(3, 5, 5), endpoint=True).astype(dtype)
    a[0, 0, 0], a[0, 0, 1] = 0, np.iinfo(dtype).max
    np.save(tmp_path / "a.npy", a)
    x = load_images(tmp_path / "a.npy")
    assert x.dtype == np.float32 and x.shape == (3, 5, 5) and x.flags.c_contiguous
    np.testing.assert_allclose(x, a.astype(np.float64) / scale, rtol=RTOL_F32, atol=0)
    assert x[0, 0, 0] == 0.0 and x[0, 0, 1] == 1.0


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_npy_floats_in_the_unit_interval_are_kept(tmp_path, dtype):
    a = _rng().random((2, 4, 4)).astype(dtype)
    a[0, 0, :2] = 0.0, 1.0
    np.save(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(load_images(tmp_path / "a.npy"), a.astype(np.float32))


def test_bools_give_zero_and_one(tmp_path):
    a = _rng().random((2, 3, 3)) > 0.5
    np.save(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(load_images(tmp_path / "a.npy"), a.astype(np.float32))


@pytest.mark.parametrize("shape, expected", [((6, 6), (1, 6, 6)), ((2, 1, 6, 6), (2, 6, 6)),
                                             ((2, 6, 6, 1), (2, 6, 6)), ((2, 4, 6), (2, 4, 6))])
def test_array_layouts(tmp_path, shape, expected):
    a = _uint8(shape)
    np.save(tmp_path / "a.npy", a)
    x = load_images(tmp_path / "a.npy")
    assert x.shape == expected
    np.testing.assert_allclose(x.ravel(), a.ravel() / 255.0, rtol=RTOL_F32, atol=0)


def test_npz_takes_the_images_key_or_the_only_array(tmp_path):
    a, b = _uint8((2, 4, 4), 1), _uint8((3, 4, 4), 2)
    np.savez(tmp_path / "named.npz", labels=np.arange(2), images=a)
    np.savez(tmp_path / "only.npz", pictures=b)
    np.savez(tmp_path / "many.npz", x=a, y=b)
    np.testing.assert_allclose(load_images(tmp_path / "named.npz"), a / 255.0, rtol=RTOL_F32, atol=0)
    np.testing.assert_allclose(load_images(tmp_path / "only.npz"), b / 255.0, rtol=RTOL_F32, atol=0)
    with pytest.raises(ValueError, match=r"holds 2 arrays \['x', 'y'\], none named 'images'"):
        load_images(tmp_path / "many.npz")


def test_out_of_range_floats_are_refused_with_the_range_found(tmp_path):
    a = np.full((2, 3, 3), 0.5)
    a[0, 0, 0], a[1, 2, 2] = -0.25, 1.5
    np.save(tmp_path / "a.npy", a)
    with pytest.raises(ValueError, match=r"within \[0, 1\] \(to 1e-05\), found the range \[-0.25, 1.5\]"):
        load_images(tmp_path / "a.npy")


def test_float_rounding_past_one_is_clipped_as_geoshape_renders_it(tmp_path):
    imgs = geoshape.random_ellipses(50, size=28, rng=0).images
    np.save(tmp_path / "e.npy", imgs)
    out = load_images(tmp_path / "e.npy")
    assert out.max() <= 1.0 and out.min() >= 0.0
    np.testing.assert_allclose(out, np.clip(imgs, 0, 1), rtol=0, atol=0)
    a = np.full((1, 3, 3), 1.0 + 2e-5)
    np.save(tmp_path / "b.npy", a)
    with pytest.raises(ValueError, match="found the range"):
        load_images(tmp_path / "b.npy")


@pytest.mark.parametrize("bad, message", [(np.nan, "contains NaN .first at index .1, 2, 0.."),
                                          (np.inf, r"found the range \[0, inf\]")])
def test_nan_and_inf_are_refused(tmp_path, bad, message):
    a = np.zeros((2, 3, 3), np.float32)
    a[1, 2, 0] = bad
    np.save(tmp_path / "a.npy", a)
    with pytest.raises(ValueError, match=message):
        load_images(tmp_path / "a.npy")


def test_negative_signed_integers_are_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.array([[[0, -3], [4, 5]]], np.int16))
    with pytest.raises(ValueError, match="must be >= 0, found min -3"):
        load_images(tmp_path / "a.npy")


def test_colour_arrays_are_refused_or_converted(tmp_path):
    rgb = _uint8((2, 4, 4, 3), 3)
    np.save(tmp_path / "rgb.npy", rgb)
    with pytest.raises(ValueError, match="holds RGB images .*colour='luminance'"):
        load_images(tmp_path / "rgb.npy")
    y = load_images(tmp_path / "rgb.npy", colour="luminance")
    np.testing.assert_allclose(y, _luma(rgb, 255.0), rtol=4 * RTOL_F32, atol=1e-12)


@pytest.mark.parametrize("make, message", [
    (lambda p: np.save(p, np.zeros((0, 4, 4), np.uint8)), "holds no images"),
    (lambda p: np.save(p, np.zeros((2, 0, 4), np.uint8)), "holds empty images"),
    (lambda p: np.save(p, np.zeros((2, 3, 4, 5, 6))), "holds an array of shape"),
    (lambda p: np.save(p, np.zeros((2, 4, 4), complex)), "integer, bool or float dtype"),
    (lambda p: np.save(p, np.array([[["a"]]])), "integer, bool or float dtype"),
    (lambda p: np.save(p, np.array([None, 1], dtype=object), allow_pickle=True), "holding objects"),
    (lambda p: p.write_bytes(b"\x93NUMPY\x01\x00garbage"), "cannot be read as .npy"),
])
def test_bad_arrays_are_refused_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.npy"
    make(path)
    with pytest.raises((ValueError, TypeError), match=message) as e:
        load_images(path)
    assert str(path) in str(e.value)


def test_a_truncated_npy_is_refused(tmp_path):
    np.save(tmp_path / "a.npy", _uint8((4, 16, 16)))
    data = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cannot be read as .npy"):
        load_images(tmp_path / "a.npy")


# ----------------------------------------------------------------------------- image files
def test_png_folder_is_read_in_name_order(tmp_path):
    imgs = {name: _uint8((5, 5), i) for i, name in enumerate(["b.png", "a.png", "c.png"])}
    for name, a in imgs.items():
        _png(tmp_path / name, a)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"ignored")
    x = load_images(tmp_path)
    expected = np.stack([imgs["a.png"], imgs["b.png"], imgs["c.png"]]) / 255.0
    assert x.shape == (3, 5, 5) and x.dtype == np.float32
    np.testing.assert_allclose(x, expected, rtol=RTOL_F32, atol=0)


def test_sixteen_bit_png_and_single_files(tmp_path):
    a = _rng().integers(0, 65536, size=(6, 6)).astype(np.uint16)
    _png(tmp_path / "deep.png", a)
    x = load_images(tmp_path / "deep.png")
    assert x.shape == (1, 6, 6)
    np.testing.assert_allclose(x[0], a / 65535.0, rtol=RTOL_F32, atol=0)


def test_tiff_float_and_integer_files(tmp_path):
    f = _rng().random((4, 4)).astype(np.float32)
    u = _rng(1).integers(0, 65536, size=(4, 4)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "1.tif", f)
    tifffile.imwrite(tmp_path / "2.TIFF", u)
    x = load_images(tmp_path)
    np.testing.assert_array_equal(x[0], f)
    np.testing.assert_allclose(x[1], u / 65535.0, rtol=RTOL_F32, atol=0)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_colour_png_refused_by_default_and_luma_on_request(tmp_path, mode):
    c = _uint8((5, 5, len(mode)), 4)
    _png(tmp_path / "a.png", c)
    with pytest.raises(ValueError, match=f"a.png: holds {mode} images"):
        load_images(tmp_path)
    y = load_images(tmp_path, colour="luminance")
    np.testing.assert_allclose(y[0], _luma(c, 255.0), rtol=4 * RTOL_F32, atol=1e-12)  # alpha dropped


def test_grey_with_alpha_is_colour(tmp_path):
    la = _uint8((4, 4, 2), 5)
    _png(tmp_path / "a.png", la)
    with pytest.raises(ValueError, match="grey \\+ alpha"):
        load_images(tmp_path)
    np.testing.assert_allclose(load_images(tmp_path, colour="luminance")[0], la[..., 0] / 255.0,
                               rtol=RTOL_F32, atol=0)


def test_mismatched_sizes_name_the_first_offending_file(tmp_path):
    for name, shape in [("a.png", (4, 4)), ("b.png", (4, 4)), ("c.png", (5, 4)), ("d.png", (6, 6))]:
        _png(tmp_path / name, _uint8(shape))
    with pytest.raises(ValueError, match=r"c.png is 5 x 4 but a.png is 4 x 4"):
        load_images(tmp_path)


def test_rectangular_images_are_read_but_size_demands_squares(tmp_path):
    _png(tmp_path / "a.png", _uint8((4, 6)))
    assert load_images(tmp_path).shape == (1, 4, 6)
    with pytest.raises(ValueError, match=r"a.png holds images of 4 x 6, but size = 4 requires square 4 x 4"):
        load_images(tmp_path, size=4)
    _png(tmp_path / "a.png", _uint8((4, 4)))
    assert load_images(tmp_path, size=4).shape == (1, 4, 4)
    np.save(tmp_path / "b.npy", _uint8((2, 8, 8)))
    with pytest.raises(ValueError, match="holds images of 8 x 8, but size = 4"):
        load_images(tmp_path / "b.npy", size=4)


@pytest.mark.parametrize("fill, message", [(lambda d: None, "has no image files"),
                                           (lambda d: (d / "x.txt").write_text("x"), "has no image files"),
                                           (lambda d: (d / "x.png").write_bytes(b"\x89PNG broken"),
                                            "x.png cannot be read as an image")])
def test_empty_or_unreadable_folder_is_refused(tmp_path, fill, message):
    d = tmp_path / "imgs"
    d.mkdir()
    fill(d)
    with pytest.raises(ValueError, match=message):
        load_images(d)


def test_multipage_tiff_is_refused(tmp_path):
    tifffile.imwrite(tmp_path / "stack.tif", _uint8((3, 6, 6)), photometric="minisblack")
    with pytest.raises(ValueError, match="stack.tif: holds an array of shape"):
        load_images(tmp_path / "stack.tif")


# ----------------------------------------------------------------------------- arguments
@pytest.mark.parametrize("kwargs, error, message", [
    (dict(path=3), TypeError, "path must be a str or os.PathLike"),
    (dict(path=None), TypeError, "path must"),
    (dict(path="/nonexistent-geoshape/x.npy"), ValueError, "path: no such file or folder"),
    (dict(path="HERE/a.txt"), ValueError, "must be a .npy, .npz"),
    (dict(path="HERE/a.npy", size=0), ValueError, "size must be"),
    (dict(path="HERE/a.npy", size=2.5), TypeError, "size must be"),
    (dict(path="HERE/a.npy", size="4"), TypeError, "size must be"),
    (dict(path="HERE/a.npy", colour="rgb"), ValueError, "colour must be one of"),
    (dict(path="HERE/a.npy", colour=None), ValueError, "colour must be one of"),
])
def test_bad_arguments_are_refused_by_name(tmp_path, kwargs, error, message):
    np.save(tmp_path / "a.npy", _uint8((1, 4, 4)))
    (tmp_path / "a.txt").write_text("x")
    if isinstance(kwargs["path"], str):
        kwargs["path"] = kwargs["path"].replace("HERE", str(tmp_path))
    with pytest.raises(error, match=message):
        load_images(**kwargs)
