"""A perceptual fingerprint of an image, and when two are the same picture.

Two 64-bit hashes of a 32x32 grey copy: the DCT hash (pHash: the 8x8 lowest frequencies
against their median) keeps the picture's layout; the gradient hash (dHash: each of 9x8
cells brighter than its left neighbour) keeps its edges. Two pictures are the same when
both hashes are close: at most ``bits`` of the DCT hash differ and at most ``bits + SLACK``
of the gradient hash (the gradient hash moves more under JPEG). The default ``bits`` (12)
was measured (``benchmarks/dedup_lookup.py``, BENCHMARKS.md): copies resized to 40-90 %,
re-encoded at JPEG quality 50-85 and cropped by up to 5 % on a side, against 6 crops of the
original (:func:`variants`), stay within it; different photographs differ by about 30.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

SIDE = 32  # the grey copy the hashes are read from
SLACK = 4  # extra bits the gradient hash may differ by
DEFAULT_BITS = 12
CROP = 0.04  # the crops a benchmark image is also indexed under, as a share of a side


@dataclass(frozen=True)
class Fingerprint:
    dct: int  # 64 bits
    gradient: int  # 64 bits

    def to_json(self) -> list[str]:
        return [f"{self.dct:016x}", f"{self.gradient:016x}"]

    @classmethod
    def from_json(cls, value: list[str]) -> Fingerprint:
        return cls(int(value[0], 16), int(value[1], 16))

    def distance(self, other: Fingerprint) -> tuple[int, int]:
        return (self.dct ^ other.dct).bit_count(), (self.gradient ^ other.gradient).bit_count()

    def same(self, other: Fingerprint, bits: int = DEFAULT_BITS) -> bool:
        dct, gradient = self.distance(other)
        return dct <= bits and gradient <= bits + SLACK


def _grey(image: Image.Image) -> Image.Image:
    """A 32x32 grey copy: reduced in whole steps first (cheap), then box-filtered."""
    step = max(1, min(image.size) // (4 * SIDE))
    small = image.reduce(step) if step > 1 else image
    return small.convert("L").resize((SIDE, SIDE), Image.Resampling.BOX)


def fingerprint(image: Image.Image) -> Fingerprint:
    import cv2

    grey = np.asarray(_grey(image), dtype=np.float32)
    low = cv2.dct(grey)[:8, :8].flatten()
    dct = np.packbits(low > np.median(low[1:])).view(">u8")[0]
    cells = np.asarray(
        Image.fromarray(grey.astype(np.uint8)).resize((9, 8), Image.Resampling.BOX), np.int16
    )
    gradient = np.packbits((cells[:, 1:] > cells[:, :-1]).flatten()).view(">u8")[0]
    return Fingerprint(int(dct), int(gradient))


def variants(image: Image.Image) -> list[Fingerprint]:
    """The image's fingerprint, and those of crops by :data:`CROP` on each side and all
    round: a copy cropped a little on any side is near one of them."""
    w, h = image.size
    dx, dy = round(w * CROP), round(h * CROP)
    boxes = [
        (0, 0, w, h),
        (dx, 0, w, h),
        (0, 0, w - dx, h),
        (0, dy, w, h),
        (0, 0, w, h - dy),
        (dx // 2, dy // 2, w - dx // 2, h - dy // 2),
    ]
    return [fingerprint(image.crop(b)) for b in boxes]


class FingerprintIndex:
    """Many fingerprints, each row of them under one label (an image and its crops), searched
    at once: one vectorised popcount over every DCT hash, then the gradient hash of the few
    that are close (0.7 ms for 600,000 on one core: BENCHMARKS.md)."""

    def __init__(self, dct: Any, gradient: Any, labels: list[str]) -> None:
        dct, gradient = np.asarray(dct, dtype=np.uint64), np.asarray(gradient, dtype=np.uint64)
        self.per_label = dct.shape[1] if dct.ndim == 2 else 1
        self.dct = np.ascontiguousarray(dct.reshape(-1))
        self.gradient = np.ascontiguousarray(gradient.reshape(-1))
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def find(self, fp: Fingerprint, bits: int = DEFAULT_BITS) -> tuple[str, int] | None:
        """The label of an indexed picture ``fp`` is the same as, and the DCT distance."""
        if not len(self.dct):
            return None
        dct = np.bitwise_count(self.dct ^ np.uint64(fp.dct))
        near = np.flatnonzero(dct <= bits)
        if not near.size:
            return None
        gradient = np.bitwise_count(self.gradient[near] ^ np.uint64(fp.gradient))
        near = near[gradient <= bits + SLACK]
        if not near.size:
            return None
        best = int(near[np.argmin(dct[near])])
        return self.labels[best // self.per_label], int(dct[best])
