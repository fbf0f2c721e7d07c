"""The one home of images: probing, EXIF orientation, decoding, storing, fitting an export
and encoding a model request. Every later stage sees an 8-bit RGB, upright image.

- :func:`probe`: format, mode, frames and size from the header (one parse, no pixels).
- :func:`upright`: the one EXIF transpose; :meth:`Probe.upright_size` reads the same tag.
- :func:`load_image`: decode and check an input once (bytes, or an image a dataset already
  decoded), keeping the input bytes when they can be stored as they are; :func:`decode`
  for bytes this project stored.
- :func:`choose_format`: the one rule between JPEG and PNG (flat or textured content), under
  ``--image-format``. :class:`Storage` (stored images), :func:`fit` (export fits) and
  :func:`request_image` / :func:`data_url` (model requests) all decide by it, and all
  encode with :func:`encode_image`.

Hostile or broken inputs raise :class:`~atlas_data.rejections.Rejection` (stage ``load``)
with a short machine-readable ``reason`` and a human ``detail``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import math
import struct
import warnings
import zlib
from dataclasses import dataclass, field

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


# ---------------------------------------------------------------- probing and orientation

EXIF_ORIENTATION = 0x0112
QUARTER_TURNS = frozenset({5, 6, 7, 8})  # orientations that swap width and height


def orientation(img: Image.Image) -> int:
    """The EXIF orientation tag: 1 (upright) when absent or when the EXIF does not parse,
    0 for a tag that is not a number. For a PNG whose header carries no EXIF, PIL decodes
    the pixels to look for a trailing ``eXIf`` chunk: :meth:`Probe.upright_size` looks for
    one without decoding."""
    try:
        value = img.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - broken EXIF must not lose the pixels
        return 1
    return value if isinstance(value, int) else 0


def upright(img: Image.Image) -> tuple[Image.Image, bool]:
    """The one EXIF transpose: ``img`` turned as its orientation tag says, and whether the
    tag asked for a turn. An upright image is returned as it is (``exif_transpose`` copies
    even when there is nothing to turn)."""
    if orientation(img) == 1:
        return img, False
    try:
        return ImageOps.exif_transpose(img) or img, True
    except Exception:  # noqa: BLE001 - broken EXIF must not lose the pixels
        return img, False


def _png_late_chunks(data: bytes) -> set[bytes] | None:
    """Chunk types after a PNG's first IDAT, read from the chunk headers only (no pixels);
    ``None`` when the chunk list cannot be walked."""
    pos, seen_idat, late = 8, False, set()
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag = data[pos + 4 : pos + 8]
        if tag == b"IDAT":
            seen_idat = True
        elif seen_idat:
            late.add(tag)
        if tag == b"IEND":
            return late
        pos += 12 + length
    return late if seen_idat else None


def _png_may_hold_exif(img: Image.Image, data: bytes) -> bool:
    """Whether an opened PNG may hold EXIF: in its header (``info``), or in a chunk after
    its pixels (``eXIf``, or a text chunk that may be ImageMagick's raw EXIF profile)."""
    if any(isinstance(k, str) and k.lower().startswith(("exif", "raw profile")) for k in img.info):
        return True
    late = _png_late_chunks(data)
    return late is None or bool(late & {b"eXIf", b"tEXt", b"zTXt", b"iTXt"})


@dataclass(frozen=True)
class Probe:
    """What one header parse says about an input image: enough to apply a source's file
    policy and convert its annotations, without decoding the pixels."""

    format: str  # PIL's name ("JPEG", "PNG", "MPO"...), "" when it names none
    mode: str
    frames: int
    size: tuple[int, int]  # as stored, before any EXIF turn
    _image: Image.Image = field(repr=False, compare=False)
    _data: bytes | None = field(default=None, repr=False, compare=False)

    def upright_size(self) -> tuple[int, int] | None:
        """The size as displayed (after the EXIF turn :func:`load_image` applies), or
        ``None`` for a zero size or a header that breaks on reading its EXIF."""
        w, h = self.size
        if w <= 0 or h <= 0:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                turn = self._orientation()
            except Exception:  # noqa: BLE001 - the decoder reports it
                return None
        return (h, w) if turn in QUARTER_TURNS else (w, h)

    def _orientation(self) -> int:
        img, data = self._image, self._data
        if data is not None and self.format == "PNG" and not _png_may_hold_exif(img, data):
            return 1  # no EXIF anywhere: PIL would decode the pixels to learn this
        return orientation(img)


def probe(image: bytes | Image.Image) -> Probe | None:
    """One header parse of ``image`` (bytes, or an image a dataset decoded); ``None`` when
    the header does not parse: :func:`load_image` then names the precise problem."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            img = image if isinstance(image, Image.Image) else Image.open(io.BytesIO(image))
            return Probe(
                format=img.format or "",
                mode=img.mode,
                frames=int(getattr(img, "n_frames", 1)),
                size=img.size,
                _image=img,
                _data=None if isinstance(image, Image.Image) else image,
            )
    except Exception:  # noqa: BLE001 - the decoder reports it with a specific reason
        return None


# ---------------------------------------------------------------- decoding


def _check_size(w: int, h: int, max_pixels: int) -> None:
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


def pixels_digest(img: Image.Image) -> str:
    """Digest of decoded pixels (for images that have no file bytes: generated scenes, a
    dataset's decoded images)."""
    h = hashlib.sha256(f"{img.mode}{img.size}".encode())
    h.update(img.tobytes())
    return h.hexdigest()


def load_image(image: bytes | Image.Image, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Decode, check and normalise an input image, once: the size limits, the EXIF turn
    (:func:`upright`) and 8-bit RGB. Bytes that already are the normalised image (upright
    8-bit RGB JPEG, PNG or WebP, one frame) are kept as ``original``, to be stored as they
    are. An image a dataset already decoded is checked and normalised the same way; its
    ``sha256`` is :func:`pixels_digest` and it has no ``original``."""
    if isinstance(image, Image.Image):
        _check_size(*image.size, max_pixels)
        frames = int(getattr(image, "n_frames", 1))
        mode = image.mode
        pixels, _ = upright(image)
        return LoadedImage(
            image=to_rgb(pixels),
            sha256=pixels_digest(image),
            original_mode=mode + (f"/{frames}frames" if frames > 1 else ""),
            original_format=image.format,
        )
    data = image
    if not data:
        raise _rejected("empty_file", "the image file has zero bytes")
    sha = hashlib.sha256(data).hexdigest()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            fmt = img.format
            _check_size(*img.size, max_pixels)
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
    img, turned = upright(img)
    as_is = not turned and frames == 1 and mode == "RGB" and fmt in STORABLE_FORMATS
    return LoadedImage(
        image=to_rgb(img),
        sha256=sha,
        original_mode=mode + (f"/{frames}frames" if frames > 1 else ""),
        original_format=fmt,
        original=data if as_is else None,
    )


def decode(data: bytes) -> Image.Image:
    """Bytes this project stored, decoded to upright 8-bit RGB (no input checks: they were
    made when the image was loaded)."""
    img = Image.open(io.BytesIO(data))
    img.load()
    return to_rgb(upright(img)[0])


# ---------------------------------------------------------------- the one rule: JPEG or PNG

EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}
FORMAT_OF_EXTENSION = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}
JPEG_QUALITY = 95  # stored images: 4:2:0 colour, as cameras store it (OCR reads luminance)
WEBP_QUALITY = 90
# Lossless bits per pixel of an image's sample, beyond what a blank image of the same size
# costs, above which it is textured (paper, street, photo, JPEG artefacts). Over 1,400
# synthetic scenes (seeds 0, 1 and 7) flat ones measure 0.00-0.41 and textured ones
# 1.56-12 (BENCHMARKS.md section 11, "Storage by measurement", measured before the blank's
# 0.16 bits were taken off: the same decisions).
TEXTURED_BITS = 1.0
_TILES, _TILE = 4, 48  # the sample: a 4 x 4 grid of 48 px tiles spread over the image


@functools.lru_cache(maxsize=256)
def _blank_bytes(w: int, h: int) -> int:
    """What :func:`encode_flat_png` spends on a blank ``w`` x ``h`` image: the container
    and deflate's floor, which would otherwise make every tiny image look textured."""
    return len(encode_flat_png(Image.new("RGB", (w, h))))


def texture_bits(img: Image.Image) -> float:
    """Bits per pixel that lossless PNG spends on a sample of ``img`` beyond a blank one's:
    16 small tiles spread over it, pasted into one mosaic (well under a millisecond for any
    image)."""
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
    spent = len(encode_flat_png(sample)) - _blank_bytes(*sample.size)
    return 8 * max(spent, 0) / (sample.width * sample.height)


def is_textured(img: Image.Image) -> bool:
    """Textured (JPEG is the right encoding) rather than flat (lossless PNG is small)."""
    return texture_bits(img) > TEXTURED_BITS


def choose_format(img: Image.Image, policy: str = "auto", given: str | None = None) -> str:
    """The one rule deciding how an image is encoded, for storage, export fits and model
    requests alike: ``policy`` itself when it names a format (png, jpeg, webp); for
    ``auto``, JPEG when ``given`` (the extension of bytes kept as they are) is a JPEG's
    (results on a photograph are photographs) or the content is textured, PNG when it is
    flat."""
    if policy != "auto":
        return policy
    if given is not None and FORMAT_OF_EXTENSION.get(given) == "jpeg":
        return "jpeg"
    return "jpeg" if is_textured(img) else "png"


# ---------------------------------------------------------------- how images are stored


@dataclass(frozen=True)
class Storage:
    """How one sample's images are stored: the source (unless its own bytes are kept) and
    every operation result on it, measured once so that they are stored alike."""

    fmt: str  # png, jpeg or webp
    policy: str = "auto"  # the run's --image-format

    @classmethod
    def measure(cls, img: Image.Image, policy: str, given: str | None = None) -> Storage:
        """The format :func:`choose_format` gives the source image ``img``. ``given``: the
        extension of the source's own bytes when they are stored as they are."""
        return cls(choose_format(img, policy, given), policy)

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.fmt]

    def encode(self, img: Image.Image) -> bytes:
        return encode_image(img, self.fmt, self.policy)


def encode_image(
    img: Image.Image, fmt: str, policy: str = "auto", *, quality: int = JPEG_QUALITY
) -> bytes:
    """``img`` encoded as ``fmt`` (png, jpeg, webp): the one encoder, of stored images,
    export fits and model requests. A PNG chosen by the ``auto`` policy holds flat content:
    :func:`encode_flat_png`; under ``png`` every image is PIL's PNG (:func:`encode_png`),
    byte for byte what earlier versions stored. ``quality``: a JPEG's (stored images and
    export fits keep the default, :data:`JPEG_QUALITY`)."""
    if fmt == "png":
        return encode_flat_png(img) if policy == "auto" else encode_png(img)
    buf = io.BytesIO()
    if fmt == "jpeg":
        img.save(buf, format="JPEG", quality=quality)
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
    """PIL's lossless PNG, deterministic: what ``--image-format png`` stores (flat PNGs chosen
    by ``auto`` take :func:`encode_flat_png`).

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


# ---------------------------------------------------------------- fitting an export


@dataclass(frozen=True)
class Fitted:
    """A stored image fitted to an export's pixel budget: ``data`` is ``None`` when it
    already fits (its bytes go out untouched), else the resized image in ``fmt``."""

    size: tuple[int, int]
    data: bytes | None = None
    fmt: str = ""


def fit(data: bytes, max_side: int, max_pixels: int | None, policy: str = "auto") -> Fitted:
    """Stored image bytes fitted to ``max_side`` and ``max_pixels`` (never upscaled). The
    size comes from the header; only an image that must shrink is decoded, resized
    (Lanczos) and encoded as :func:`choose_format` says under the run's ``policy``, given
    the stored format: a JPEG stays one, a flat PNG stays one."""
    found = probe(data)
    size = found.upright_size() if found else None
    if found is None or size is None:
        raise ValueError("the stored image does not decode")
    w, h = size
    scale = min(1.0, max_side / max(w, h))
    if max_pixels:
        scale = min(scale, math.sqrt(max_pixels / (w * h)))
    if scale >= 1.0:
        return Fitted(size)
    small_size = (max(1, math.floor(w * scale)), max(1, math.floor(h * scale)))
    small = decode(data).resize(small_size, Image.Resampling.LANCZOS)
    fmt = choose_format(small, policy, STORABLE_FORMATS.get(found.format))
    return Fitted(small_size, encode_image(small, fmt, policy), fmt)


# ---------------------------------------------------------------- model requests

REQUEST_JPEG_QUALITY = 90  # textured images sent to a model (stored ones take 95)


def request_image(img: Image.Image, max_side: int) -> tuple[bytes, str]:
    """``img`` as a model request carries it, and its MIME type: upright (:func:`upright`),
    8-bit RGB, its longest side at most ``max_side`` (bicubic), encoded as
    :func:`choose_format` says for ``auto``: flat content as lossless PNG
    (:func:`encode_flat_png`), textured content as JPEG at quality
    :data:`REQUEST_JPEG_QUALITY` (90; 4:2:0 colour). A request's token count depends on
    the image's size only, never on this choice."""
    turned, _ = upright(img)
    small = downscale_to(to_rgb(turned), max_side, Image.Resampling.BICUBIC)
    fmt = choose_format(small)
    return encode_image(small, fmt, quality=REQUEST_JPEG_QUALITY), f"image/{fmt}"


def data_url(img: Image.Image, max_side: int) -> str:
    """:func:`request_image` as a base64 data URL, what a chat request's ``image_url`` holds."""
    data, mime = request_image(img, max_side)
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"
