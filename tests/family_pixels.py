"""Helpers the family pixel tests (``tests/test_families_*.py``) share: a family's samples,
their images as the run stores them (``--image-format auto``: a camera's JPEG as it is, the
others by the storage policy) decoded back, the needs completed at the default budget, and
those needs run for real on the stored pixels."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from functools import cache

import numpy as np
from PIL import Image

from atlas_data.config import RunConfig
from atlas_data.explore.search import complete_needs
from atlas_data.ops import Operation, need_in
from atlas_data.ops.frame import Frame
from atlas_data.ops.image_io import Storage
from atlas_data.ops.spec import Need
from atlas_data.ops.zoom import zoom_scale
from atlas_data.sources.base import SourceSample
from atlas_data.sources.synthetic import SyntheticSource

BUDGET = RunConfig().budget()


@cache
def samples(family: str, n: int, seed: int = 5) -> tuple[SourceSample, ...]:
    """The first ``n`` samples of ``family`` from ``SyntheticSource`` at ``seed`` (cached)."""
    return tuple(SyntheticSource(n, seed=seed, families=[family]))


@cache
def stored_samples(family: str, n: int, seed: int = 5) -> tuple[SourceSample, ...]:
    """The same samples as ``samples(family, n, seed)``, each through ``stored_sample``
    (cached)."""
    return tuple(stored_sample(s) for s in SyntheticSource(n, seed=seed, families=[family]))


def decode(data: bytes) -> Image.Image:
    """Encoded image bytes decoded to an RGB image."""
    return Image.open(io.BytesIO(data)).convert("RGB")


def decoded(img: Image.Image | bytes, data: bytes | None = None) -> Image.Image:
    """``img`` as the run stores it (``data``, its own JPEG, when it has one), decoded."""
    assert isinstance(img, Image.Image)
    return decode(data or Storage.measure(img, "auto").encode(img))


def stored_images(s: SourceSample) -> list[Image.Image]:
    """Every image of ``s`` as the run stores it (Image 1's camera JPEG as it is), decoded."""
    return [decoded(s.image, s.encoded), *(decoded(im) for im in s.more_images)]


def stored(s: SourceSample) -> np.ndarray:
    """Image 1 of ``s`` as the run stores it, decoded (an int RGB array)."""
    return np.asarray(decoded(s.image, s.encoded)).astype(int)


def stored_sample(s: SourceSample) -> SourceSample:
    """``s`` with every image as the run stores it, decoded."""
    first, *rest = stored_images(s)
    more: list[Image.Image | bytes] = [*rest]
    return replace(s, image=first, more_images=more)


def size_of(img: np.ndarray | Image.Image | bytes) -> tuple[int, int]:
    """The (width, height) of an image or of a pixel array."""
    if isinstance(img, np.ndarray):
        return img.shape[1], img.shape[0]
    assert isinstance(img, Image.Image)
    return img.size


def completed(
    s: SourceSample, images: Sequence[np.ndarray | Image.Image | bytes] | None = None
) -> list[Need]:
    """The needs of ``s`` completed at the default budget as explore does, on the sizes of
    ``images`` (one image or array per image of ``s``; by default its own images)."""
    sizes = [size_of(im) for im in (s.images if images is None else images)]
    return complete_needs(s, sizes, BUDGET).needs


def run_chain(needs: Sequence[Need], img: np.ndarray | Image.Image | bytes) -> Image.Image:
    """Every need run for real on ``img`` (an image, or an int RGB array), each on the
    previous step's result, in its frame."""
    assert not isinstance(img, bytes)
    canvas = img if isinstance(img, Image.Image) else Image.fromarray(img.astype(np.uint8))
    frame = Frame(canvas.size)
    for n in needs:
        op = Operation(n.op, need_in(frame, n).params)
        out = op.apply(canvas)
        frame, canvas = op.reframe(frame, out.size), out
    return canvas


def inside(p: Sequence[float], box: Sequence[float], pad: float = 0.0) -> bool:
    """Whether point ``p`` lies in ``box`` (x0, y0, x1, y1, ends included), widened by ``pad``."""
    return box[0] - pad <= p[0] <= box[2] + pad and box[1] - pad <= p[1] <= box[3] + pad


def zoomed_px(need: Need, px: float) -> float:
    """A length of ``px`` source pixels in budget pixels after the zoom ``need``."""
    p = need.params
    return px * zoom_scale(p["box"], float(p.get("factor", 1)), BUDGET)
