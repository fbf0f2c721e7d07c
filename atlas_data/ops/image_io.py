"""Loading images once, safely: every later stage sees an 8-bit RGB, upright image.

Hostile or broken inputs raise :class:`~atlas_data.rejections.Rejection` (stage ``load``)
with a short machine-readable ``reason`` and a human ``detail``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import struct
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from isal import isal_zlib
from PIL import Image, ImageOps, UnidentifiedImageError

from atlas_data.config import DEFAULT_MAX_PIXELS
from atlas_data.rejections import Rejection

MAX_ASPECT = 50.0


def _rejected(reason: str, detail: str) -> Rejection:
    return Rejection(reason, detail, "load")


@dataclass(frozen=True)
class LoadedImage:
    image: Image.Image
    sha256: str
    original_mode: str
    original_format: str | None
    # The input bytes when they already are the normalised image (upright 8-bit RGB in a
    # format every loader reads): stored as they are, a JPEG photo is not re-encoded into
    # a PNG many times its size.
    original: bytes | None = None


STORABLE_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def to_rgb(img: Image.Image) -> Image.Image:
    """Normalise any PIL mode to 8-bit RGB (alpha composited on white)."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        arr8 = ((arr - lo) * scale).clip(0, 255).astype(np.uint8)
        return Image.fromarray(arr8, mode="L").convert("RGB")
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


EXIF_ORIENTATION = 0x0112


def load_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode, check and normalise image bytes (EXIF orientation applied once, here)."""
    if not data:
        raise _rejected("empty_file", "the image file has zero bytes")
    sha = hashlib.sha256(data).hexdigest()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            fmt = img.format
            w, h = img.size
            if w <= 0 or h <= 0:
                raise _rejected("zero_size", f"image is {w}x{h}")
            if w * h > max_pixels:
                raise _rejected(
                    "too_many_pixels",
                    f"{w}x{h} = {w * h} pixels exceeds the limit of {max_pixels} "
                    "(raise --max-pixels if this is intended)",
                )
            if max(w, h) / min(w, h) > MAX_ASPECT:
                raise _rejected("extreme_aspect", f"{w}x{h} exceeds aspect {MAX_ASPECT}:1")
            frames = getattr(img, "n_frames", 1)
            if frames > 1:
                img.seek(0)  # animated: use the first frame, say so in the mode record
            mode = img.mode
            img.load()
    except Rejection:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise _rejected("too_many_pixels", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise _rejected("not_an_image", "bytes are not a recognised image format") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _rejected("corrupt_image", f"decoding failed: {exc}") from exc
    upright = True
    with contextlib.suppress(Exception):  # broken EXIF must not lose the pixels
        if img.getexif().get(EXIF_ORIENTATION, 1) != 1:  # transpose copies even when upright
            img, upright = ImageOps.exif_transpose(img) or img, False
    as_is = upright and frames == 1 and mode == "RGB" and fmt in STORABLE_FORMATS
    return LoadedImage(
        image=to_rgb(img),
        sha256=sha,
        original_mode=mode + (f"/{frames}frames" if frames > 1 else ""),
        original_format=fmt,
        original=data if as_is else None,
    )


# ---------------------------------------------------------------- how images are stored

EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}
FORMAT_OF_EXTENSION = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}
JPEG_QUALITY = 95  # 4:2:0 colour, as cameras store it (OCR reads the luminance)
WEBP_QUALITY = 90
# Lossless bits per pixel of an image's sample above which it is textured (paper, street,
# photo, JPEG artefacts): the 16 synthetic families measure 0.17-0.43 when flat and
# 1.86-12.1 when textured (BENCHMARKS.md section 11, "Storage by measurement").
TEXTURED_BITS = 1.0
_TILES, _TILE = 4, 48  # the sample: a 4 x 4 grid of 48 px tiles spread over the image


def texture_bits(img: Image.Image) -> float:
    """Bits per pixel that lossless PNG spends on a sample of ``img``: 16 small tiles
    spread over it, pasted into one mosaic (well under a millisecond for any image)."""
    w, h = img.size
    side = _TILES * _TILE
    if w * h <= side * side:
        sample = img
    else:
        sample = Image.new("RGB", (side, side))
        for i in range(_TILES):
            for j in range(_TILES):
                x = round((w - _TILE) * (i + 0.5) / _TILES) if w > _TILE else 0
                y = round((h - _TILE) * (j + 0.5) / _TILES) if h > _TILE else 0
                sample.paste(img.crop((x, y, x + _TILE, y + _TILE)), (i * _TILE, j * _TILE))
    return 8 * len(encode_flat_png(sample)) / (sample.width * sample.height)


@dataclass(frozen=True)
class Storage:
    """How one sample's images are stored: the source (unless its own bytes are kept) and
    every operation result on it, measured once so that they are stored alike."""

    fmt: str  # png, jpeg or webp
    policy: str = "auto"  # the run's --image-format

    @classmethod
    def measure(cls, img: Image.Image, policy: str, given: str | None = None) -> Storage:
        """``policy`` itself (png, jpeg, webp) or, for ``auto``: JPEG when the source is a
        JPEG (results on a photograph are photographs) or its content is textured, PNG when
        it is flat (lossless and small there). ``given``: the extension of the source's own
        bytes when they are stored as they are."""
        if policy != "auto":
            return cls(policy, policy)
        if given is not None and FORMAT_OF_EXTENSION.get(given) == "jpeg":
            return cls("jpeg")
        return cls("jpeg" if texture_bits(img) > TEXTURED_BITS else "png")

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.fmt]

    def encode(self, img: Image.Image) -> bytes:
        return encode_image(img, self.fmt, self.policy)


def encode_image(img: Image.Image, fmt: str, policy: str = "auto") -> bytes:
    """``img`` encoded as ``fmt`` (png, jpeg, webp): the one encoder of stored images. A
    PNG chosen by the ``auto`` policy holds flat content: :func:`encode_flat_png`; under
    ``png`` every image is PIL's PNG, byte for byte what earlier versions stored."""
    if fmt == "png":
        return encode_flat_png(img) if policy == "auto" else encode_png(img)
    buf = io.BytesIO()
    if fmt == "jpeg":
        img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    elif fmt == "webp":
        img.save(buf, format="WEBP", quality=WEBP_QUALITY, method=4)
    else:
        raise ValueError(f"unknown image format {fmt!r}; known: {', '.join(EXTENSIONS)}")
    return buf.getvalue()


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def encode_flat_png(img: Image.Image) -> bytes:
    """Lossless RGB PNG for flat content (charts, diagrams), several times faster than
    PIL's: every row but the first takes the "Up" filter (an unchanged area becomes
    zeros), computed with numpy, then deflated by ISA-L at level 1 (zlib's level-1 size
    at a quarter of its time). PIL tries all five filters on every row, which costs more
    than the compression itself (BENCHMARKS.md)."""
    rgb = np.asarray(img.convert("RGB"))
    h, w, _ = rgb.shape
    rows = rgb.reshape(h, w * 3)
    raw = np.empty((h, w * 3 + 1), dtype=np.uint8)
    raw[0, 0], raw[0, 1:] = 0, rows[0]  # filter None
    raw[1:, 0] = 2  # filter Up: the byte above subtracted, modulo 256
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8 bits, RGB, no interlace
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", isal_zlib.compress(raw.data, 1)),
            _png_chunk(b"IEND", b""),
        )
    )


def encode_png(img: Image.Image) -> bytes:
    """Lossless, deterministic encoding used for every stored image.

    zlib's run-length strategy (``compress_type=3``) at level 1 measured 10-15 % faster
    than plain level 1 and smaller on both flat and photographic images (BENCHMARKS.md):
    encoding is the largest cost of a run.
    """
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1, compress_type=zlib.Z_RLE)
    return buf.getvalue()


def downscale_to(
    img: Image.Image, max_side: int, resample: Image.Resampling = Image.Resampling.LANCZOS
) -> Image.Image:
    """Fit the longest side to ``max_side`` (the trainee's pixel budget); never upscale.

    The one resize for every "as the model sees it" view: judges, teacher images, report.
    """
    w, h = img.size
    if max(w, h) <= max_side:
        return img
    s = max_side / max(w, h)
    return img.resize((max(1, round(w * s)), max(1, round(h * s))), resample)
