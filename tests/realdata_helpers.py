"""Small real datasets built on the spot: images with a small printed code, boxes around it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import datasets
from PIL import Image, ImageDraw

SIZE = (1600, 1200)


def scene(i: int, size: tuple[int, int] = SIZE) -> tuple[Image.Image, list[int], str]:
    """An image with a small code at a spot that depends on ``i``; returns (img, box, code)."""
    img = Image.new("RGB", size, (180 + i % 50, 200, 170 + (7 * i) % 60))
    d = ImageDraw.Draw(img)
    for k in range(12):  # some clutter so images differ and are not blank
        x, y = (97 * (k + i)) % (size[0] - 60), (131 * (k + 2 * i)) % (size[1] - 60)
        d.rectangle([x, y, x + 40, y + 25], outline=(60, 60, 60))
    x, y = 200 + (53 * i) % (size[0] - 400), 150 + (37 * i) % (size[1] - 300)
    code = f"K{i:03d}"
    d.rectangle([x - 4, y - 4, x + 36, y + 14], fill="white")
    d.text((x, y), code, fill="black")
    return img, [x - 4, y - 4, x + 36, y + 14], code


def encode(img: Image.Image, fmt: str = "PNG", **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def box_as(box: list[int], fmt: str, size: tuple[int, int] = SIZE) -> list[float]:
    x0, y0, x1, y1 = box
    w, h = size
    return {
        "xyxy": [x0, y0, x1, y1],
        "xywh": [x0, y0, x1 - x0, y1 - y0],
        "xyxy_norm": [x0 / w, y0 / h, x1 / w, y1 / h],
        "xywh_norm": [x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h],
        "cxcywh_norm": [(x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h],
    }[fmt]


def hf_dataset(n: int, bbox_format: str = "xyxy", start: int = 0) -> datasets.Dataset:
    """HF layout with non-standard column names (needs a map): img, query, label, box."""
    rows: dict[str, list[Any]] = {"img": [], "query": [], "label": [], "box": []}
    for i in range(start, start + n):
        img, box, code = scene(i)
        rows["img"].append({"bytes": encode(img), "path": f"scene{i}.png"})
        rows["query"].append(f"What code is printed on the white tag number {i}?")
        rows["label"].append(code)
        rows["box"].append(box_as(box, bbox_format))
    features = datasets.Features(
        {
            "img": datasets.Image(),
            "query": datasets.Value("string"),
            "label": datasets.Value("string"),
            "box": datasets.Sequence(datasets.Value("float64")),
        }
    )
    return datasets.Dataset.from_dict(rows, features=features)


HF_MAP = "image=img,question=query,answer=label,bbox=box"


def save_hf(path: Path, n: int, bbox_format: str = "xyxy") -> Path:
    hf_dataset(n, bbox_format).save_to_disk(str(path))
    return path


def _png_with_size(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose header claims another size (a decompression bomb's header)."""
    import struct
    import zlib

    data = bytearray(encode(Image.new("L", (1, 1))))
    ihdr = 8 + 8  # signature, then length + type of the IHDR chunk
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def hostile_files() -> dict[str, tuple[bytes, str]]:
    """File name → (bytes, expected rejection reason). At least 20 broken/hostile files."""
    img, _, _ = scene(900)
    jpeg, png = encode(img, "JPEG", quality=85), encode(img)
    frames = [Image.new("RGB", (600, 400), c) for c in ("red", "green", "blue")]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    tiff = io.BytesIO()
    frames[0].save(tiff, format="TIFF", save_all=True, append_images=frames[1:])
    webp = io.BytesIO()
    frames[0].save(webp, format="WEBP", save_all=True, append_images=frames[1:], duration=100)
    bad_crc = bytearray(png)
    bad_crc[len(png) // 2] ^= 0xFF
    return {
        "truncated.jpg": (jpeg[: len(jpeg) // 3], "corrupt_image"),
        "truncated.png": (png[: len(png) // 2], "corrupt_image"),
        "flipped_byte.png": (bytes(bad_crc), "corrupt_image"),
        "empty.jpg": (b"", "empty_file"),
        "empty.png": (b"", "empty_file"),
        "png_named.jpg": (png, "wrong_extension"),
        "jpeg_named.png": (jpeg, "wrong_extension"),
        "jpeg_named.gif": (jpeg, "wrong_extension"),
        "image.txt": (png, "wrong_extension"),
        "notes.png": (b"just some text, not an image\n" * 20, "not_an_image"),
        "page.jpg": (b"<html><body>hello</body></html>", "not_an_image"),
        "random.webp": (bytes(range(256)) * 8, "not_an_image"),
        "bomb.png": (_png_with_size(100_000, 100_000), "too_many_pixels"),
        "wide_bomb.png": (_png_with_size(60_000, 2_000), "too_many_pixels"),
        "zero_width.png": (_png_with_size(0, 500), "not_an_image"),
        "animated.gif": (gif.getvalue(), "animated_image"),
        "multipage.tif": (tiff.getvalue(), "animated_image"),
        "animated.webp": (webp.getvalue(), "animated_image"),
        "sliver.png": (encode(Image.new("RGB", (3000, 20), "white")), "extreme_aspect"),
        "just_over_limit.png": (encode(Image.new("L", (2100, 2000), 128)), "too_many_pixels"),
    }
