"""The store's PNG encoders: PIL's (``--image-format png``) and the flat-PNG encoder of
``--image-format auto``.

On a flat synthetic scene and on a noisy photographic image, both 1600x1200, times
``encode_png``'s setting (level 1, ``Z_RLE``) against level 1 with the default strategy,
and ``encode_flat_png`` (numpy Up filter, ISA-L deflate level 1), and prints sizes; the
ratio is PIL's ``encode_png`` time / ``encode_flat_png`` time on the flat scene.

    python -m benchmarks.png_encode
"""

from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image

from atlas_data.ops.image_io import encode_flat_png
from atlas_data.sources.synthetic import SyntheticSource
from benchmarks.common import header, ratio_line, timed


def photo_like(seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8))
    smooth = np.asarray(base.resize((1600, 1200), Image.Resampling.BICUBIC)).astype(np.int16)
    noisy = smooth + rng.normal(0, 6, smooth.shape).astype(np.int16)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def encode(img: Image.Image, repeats: int, **kw: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(repeats):
        buf = io.BytesIO()
        with timed() as elapsed:
            img.save(buf, format="PNG", **kw)
        best, size = min(best, elapsed()), len(buf.getvalue())
    return best, size


def flat_png(img: Image.Image, repeats: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(repeats):
        with timed() as elapsed:
            size = len(encode_flat_png(img))
        best = min(best, elapsed())
    return best, size


def main() -> None:
    header("PNG encoding: PIL level 1, level 1 + Z_RLE, encode_flat_png", "isal")
    flat = SyntheticSource(1, seed=0, families=["geometry"]).sample(0).image
    assert isinstance(flat, Image.Image)
    images = {"flat synthetic": flat.convert("RGB"), "noisy photo": photo_like()}
    times = {}
    for name, img in images.items():
        plain = encode(img, 5, compress_level=1)
        rle = encode(img, 5, compress_level=1, compress_type=zlib.Z_RLE)
        ours = flat_png(img, 5)
        times[name] = (rle[0], ours[0])
        print(
            f"{name:15s} level 1: {plain[0] * 1000:6.1f} ms {plain[1] / 1024:7.0f} KiB   "
            f"level 1 + Z_RLE: {rle[0] * 1000:6.1f} ms {rle[1] / 1024:7.0f} KiB   "
            f"encode_flat_png: {ours[0] * 1000:6.1f} ms {ours[1] / 1024:7.0f} KiB"
        )
    pil_t, ours_t = times["flat synthetic"]
    ratio_line("encode_png / encode_flat_png time (flat scene)", pil_t / ours_t, "> 1")


if __name__ == "__main__":
    main()
