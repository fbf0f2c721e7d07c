"""The store's PNG settings: zlib's run-length strategy against plain level 1.

On a flat synthetic scene and on a noisy photographic image, both 1600x1200, times
``encode_png``'s setting (level 1, ``Z_RLE``) against level 1 with the default strategy
and prints sizes; the ratio is default time / RLE time on the photographic image.

    python -m benchmarks.png_encode
"""

from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image

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


def main() -> None:
    header("PNG encoding: level 1 vs level 1 + Z_RLE")
    flat = SyntheticSource(2, seed=0).sample(1).image
    assert isinstance(flat, Image.Image)
    images = {"flat synthetic": flat.convert("RGB"), "noisy photo": photo_like()}
    times = {}
    for name, img in images.items():
        plain = encode(img, 5, compress_level=1)
        rle = encode(img, 5, compress_level=1, compress_type=zlib.Z_RLE)
        times[name] = (plain[0], rle[0])
        print(
            f"{name:15s} level 1: {plain[0] * 1000:6.1f} ms {plain[1] / 1024:7.0f} KiB   "
            f"level 1 + Z_RLE: {rle[0] * 1000:6.1f} ms {rle[1] / 1024:7.0f} KiB"
        )
    plain_t, rle_t = times["noisy photo"]
    ratio_line("level 1 / level 1 + Z_RLE encode time (photo)", plain_t / rle_t, "> 1")


if __name__ == "__main__":
    main()
