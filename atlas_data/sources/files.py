"""The checks on a record's image *file* that the decoder (:func:`atlas_data.ops.image_io.
load_image`) does not make: its size on disk, an extension that lies about the format,
animation, and the policy on CMYK and 16-bit images. One header parse
(:func:`~atlas_data.ops.image_io.probe`) answers them all and gives the size the record's
boxes are read against; the pixels are decoded once, later, by the run."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from atlas_data.ops.image_io import Probe, probe
from atlas_data.rejections import Rejection
from atlas_data.sources.options import ImagePolicy

# What an extension promises. MPO is how PIL names many phone JPEGs (a JPEG + preview).
EXTENSION_FORMATS: dict[str, frozenset[str]] = {
    ".jpg": frozenset({"JPEG", "MPO"}),
    ".jpeg": frozenset({"JPEG", "MPO"}),
    ".jpe": frozenset({"JPEG", "MPO"}),
    ".jfif": frozenset({"JPEG", "MPO"}),
    ".png": frozenset({"PNG"}),
    ".gif": frozenset({"GIF"}),
    ".webp": frozenset({"WEBP"}),
    ".bmp": frozenset({"BMP", "DIB"}),
    ".tif": frozenset({"TIFF"}),
    ".tiff": frozenset({"TIFF"}),
    ".ppm": frozenset({"PPM"}),
    ".pgm": frozenset({"PPM"}),
    ".pbm": frozenset({"PPM"}),
    ".pnm": frozenset({"PPM"}),
}
HIGH_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})


def check_image(image: bytes | Image.Image, name: str, policy: ImagePolicy) -> Probe | None:
    """Raise the :class:`Rejection` ``policy`` calls for, or return the header's
    :class:`Probe`; ``None`` when the header does not parse (the run's decoder then names
    the precise problem: corrupt, not an image, a bomb). ``image``: the file's bytes, or an
    image a dataset already decoded (no file to check but its mode and frames)."""
    if isinstance(image, bytes) and len(image) > policy.max_file_bytes:
        raise Rejection(
            "file_too_large", f"{len(image)} bytes > max_file_bytes={policy.max_file_bytes}"
        )
    found = probe(image)
    if found is None:
        return None
    fmt, mode, frames = found.format, found.mode, found.frames
    ext = Path(name).suffix.lower() if name else ""
    if ext and policy.wrong_extension == "reject" and fmt not in EXTENSION_FORMATS.get(ext, ()):
        raise Rejection("wrong_extension", f"{name!r} holds a {fmt or 'unknown'} image")
    if frames > 1 and fmt != "MPO" and policy.animated == "reject":
        raise Rejection(
            "animated_image",
            f"{fmt} with {frames} frames; pass animated=first_frame to use the first frame",
        )
    if mode == "CMYK" and policy.cmyk == "reject":
        raise Rejection("cmyk_image", "CMYK image refused by cmyk=reject")
    if mode in HIGH_BIT_MODES and policy.high_bit_depth == "reject":
        raise Rejection("high_bit_depth", f"{mode} image refused by high_bit_depth=reject")
    return found
