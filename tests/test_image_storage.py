"""How stored images are encoded (``--image-format``): the measured policy, the flat-PNG
encoder, and a run stored both ways, compared image by image against the lossless one."""

from __future__ import annotations

import io

import duckdb
import numpy as np
import pytest
from PIL import Image, ImageDraw

from atlas_data.config import RunConfig
from atlas_data.ops.image_io import TEXTURED_BITS, Storage, encode_flat_png, texture_bits
from atlas_data.run.driver import run
from atlas_data.sources.synthetic import SyntheticSource
from tests.runs import run_folder

N = 32  # every family twice


def diagram(size: tuple[int, int] = (900, 640)) -> Image.Image:
    """Flat content: a few filled shapes, lines and words on a plain background."""
    img = Image.new("RGB", size, (250, 250, 245))
    draw = ImageDraw.Draw(img)
    draw.rectangle((60, 80, 300, 400), fill=(40, 90, 200))
    draw.ellipse((420, 120, 700, 400), outline=(200, 30, 30), width=6)
    draw.line((50, 560, 850, 470), fill=(20, 20, 20), width=3)
    draw.text((500, 520), "Q3 revenue 42", fill=(0, 0, 0))
    return img


def noise(size: tuple[int, int] = (640, 480), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def psnr(a: Image.Image, b: Image.Image) -> float:
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    mse = float((d**2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@pytest.mark.parametrize(
    "img",
    [diagram(), noise(), noise((1, 1)), noise((333, 7), 1), diagram((17, 2049))],
    ids=["diagram", "noise", "one-pixel", "odd-width", "tall"],
)
def test_flat_png_decodes_to_exactly_the_pixels(img):
    data = encode_flat_png(img)
    back = decode(data)
    assert back.format == "PNG" and back.mode == "RGB" and back.size == img.size
    assert np.array_equal(np.asarray(back), np.asarray(img))


def test_flat_png_takes_other_modes_as_rgb():
    rgba = Image.new("RGBA", (40, 30), (10, 200, 30, 90))
    assert np.array_equal(
        np.asarray(decode(encode_flat_png(rgba))), np.asarray(rgba.convert("RGB"))
    )


def test_the_measure_separates_flat_from_textured_content():
    flat, grainy = texture_bits(diagram()), texture_bits(noise())
    assert flat < TEXTURED_BITS < grainy
    assert Storage.measure(diagram(), "auto").fmt == "png"
    assert Storage.measure(noise(), "auto").fmt == "jpeg"
    # results of operations on a photograph are photographs, whatever they show
    assert Storage.measure(diagram(), "auto", given="jpg").fmt == "jpeg"
    assert Storage.measure(diagram(), "auto", given="png").fmt == "png"
    for policy in ("png", "jpeg", "webp"):  # a named format is what the user gets
        assert Storage.measure(noise(), policy).fmt == policy
        assert decode(Storage.measure(diagram(), policy).encode(diagram())).size == (900, 640)


def test_an_unknown_format_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="image_format must be one of"):
        RunConfig(image_format="gif")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, RunConfig]:
    tmp = tmp_path_factory.mktemp("formats")
    out = {}
    for fmt in ("png", "auto"):
        cfg = RunConfig(split="sft", n=N, image_format=fmt, out=str(tmp / fmt))
        run(cfg)
        out[fmt] = cfg
    return out


def stored(cfg: RunConfig) -> dict[str, dict]:
    """Per kept row: its text, token spans and every stored image (path, bytes)."""
    rows = (
        duckdb.connect()
        .execute(
            "select id, text, token_spans, images, observations "
            f"from '{run_folder(cfg)}/sft/*.parquet'"
        )
        .fetchall()
    )
    return {r[0]: {"text": r[1], "spans": r[2], "images": [*r[3], *(r[4] or [])]} for r in rows}


def test_png_stores_everything_lossless_and_auto_mixes_formats(runs):
    png, auto = stored(runs["png"]), stored(runs["auto"])
    for row in png.values():  # a camera's JPEG too: its pixels, losslessly
        for im in row["images"]:
            assert im["path"].endswith(".png") and decode(im["bytes"]).format == "PNG"
    formats = {decode(im["bytes"]).format for row in auto.values() for im in row["images"]}
    assert formats == {"PNG", "JPEG"}
    for row in auto.values():  # the extension tells the truth
        for im in row["images"]:
            ext = {"PNG": "png", "JPEG": "jpg"}[decode(im["bytes"]).format]
            assert im["path"].endswith(f".{ext}")


def test_auto_images_match_the_lossless_run_and_rows_are_unchanged(runs):
    png, auto = stored(runs["png"]), stored(runs["auto"])
    assert png.keys() == auto.keys() and len(png) >= N - 4
    lossy = 0
    for sid, row in auto.items():
        ref = png[sid]
        assert row["text"] == ref["text"] and row["spans"] == ref["spans"]
        assert len(row["images"]) == len(ref["images"])
        for im, lossless in zip(row["images"], ref["images"], strict=True):
            a, b = decode(im["bytes"]), decode(lossless["bytes"])
            assert a.size == b.size
            if a.format == "PNG" or im["bytes"] == lossless["bytes"]:
                assert np.array_equal(np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))
            else:
                lossy += 1
                # 38 dB for scenes; a camera's fine grain zoomed 8x stores at 37 dB
                assert psnr(a.convert("RGB"), b.convert("RGB")) >= 36, im["path"]
    assert lossy


def test_camera_scenes_are_stored_as_their_own_jpeg_bytes(runs):
    auto = stored(runs["auto"])
    checked = 0
    for s in SyntheticSource(N):
        if s.encoded and s.id in auto:
            first = f"{s.id}-0.jpg" if s.more_images else f"{s.id}.jpg"  # Image 1's bytes
            (src,) = [im for im in auto[s.id]["images"] if im["path"] == first]
            assert src["bytes"] == s.encoded
            checked += 1
    assert checked


def test_auto_stores_fewer_bytes_per_kept_row(runs):
    def total(cfg: RunConfig) -> int:
        return sum(len(im["bytes"]) for row in stored(cfg).values() for im in row["images"])

    assert total(runs["auto"]) < 0.8 * total(runs["png"])
