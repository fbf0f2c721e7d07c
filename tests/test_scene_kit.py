"""The scene kit's fast pixel helpers do what the slower code they replaced did."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from atlas_data.sources.scenes.kit import gaussian_blur, grain, rgb_planes, shaded, tinted


def blocks(mode: str) -> Image.Image:
    img = Image.new("RGB", (640, 480), (200, 190, 180))
    d = ImageDraw.Draw(img)
    for i in range(30):
        x, y = i * 37 % 560, i * 53 % 420
        d.rectangle((x, y, x + 60, y + 40), fill=(i * 8 % 255, 30, 220 - i * 5))
    return img.convert(mode)


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("radius", [0.5, 2.5, 12.0, 40.0])
def test_gaussian_blur_matches_pillows_blur(mode: str, radius: float):
    img = blocks(mode)
    ours = gaussian_blur(img, radius)
    assert ours.mode == mode and ours.size == img.size
    theirs = np.asarray(img.filter(ImageFilter.GaussianBlur(radius)), dtype=float)
    diff = np.abs(np.asarray(ours, dtype=float) - theirs)
    assert diff.mean() < 1.0, diff.mean()
    # and it did blur: edges are softened as much as Pillow softens them
    sharp = np.abs(np.asarray(img, dtype=float) - theirs).mean()
    assert sharp > 4 * diff.mean()


def test_grain_is_zero_mean_noise_of_sigma_and_never_repeats_within_a_row_of_the_block():
    g = grain(np.random.default_rng(0), (1000, 700), 3.0)
    assert g.shape == (700, 1000) and g.dtype == np.float32
    assert abs(float(g.mean())) < 0.1 and abs(float(g.std()) - 3.0) < 0.1
    assert not np.array_equal(g[:, :100], g[:, 100:200])  # no period shorter than the block
    other = grain(np.random.default_rng(1), (1000, 700), 3.0)
    assert not np.array_equal(g, other)


def test_colour_planes_round_and_saturate():
    shade = np.array([[-300.0, -0.4, 0.6, 400.0]], np.float32)
    out = tinted(shade, (10, 128, 250))
    assert out.dtype == np.uint8 and out.shape == (1, 4, 3)
    assert out[0, :, 0].tolist() == [0, 10, 11, 255]
    assert out[0, :, 2].tolist() == [0, 250, 251, 255]
    planes = rgb_planes([shade, shade + 100, shade * 0])
    assert planes[0, :, 1].tolist() == [0, 100, 101, 255] and planes[0, :, 2].tolist() == [0] * 4


def test_shaded_multiplies_each_channel_by_the_light():
    img = Image.new("RGB", (3, 1), (200, 100, 50))
    light = np.array([[1.0, 0.5, 2.0]], np.float32)
    out = np.asarray(shaded(img, light))
    assert out[0].tolist() == [[200, 100, 50], [100, 50, 25], [255, 200, 100]]
