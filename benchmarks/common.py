"""What every benchmark prints: the machine, the versions, and a uniform result line."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata

from PIL import Image

from atlas_data.sources.base import SourceSample


def versions(*packages: str) -> str:
    found = []
    for name in packages:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} -")
    return ", ".join(found)


def header(title: str, *packages: str) -> None:
    print(f"== {title}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print(f"versions: {versions('atlas-data', 'pillow', 'numpy', *packages)}")
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    """``with timed() as elapsed: ...`` then ``elapsed()`` gives the seconds it took."""
    t0 = time.perf_counter()
    end: list[float] = []
    try:
        yield lambda: (end[0] if end else time.perf_counter()) - t0
    finally:
        end.append(time.perf_counter())


def peak_rss_mib() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ratio_line(name: str, value: float, target: str) -> None:
    """The last line every benchmark prints."""
    print(f"RATIO {name} = {value:.3f} (target {target})")


def synthetic_image(sample: SourceSample) -> Image.Image:
    """The pixels of a generated sample (the synthetic source always hands over an image)."""
    if not isinstance(sample.image, Image.Image):
        raise TypeError(f"{sample.id}: expected generated pixels, got encoded bytes")
    return sample.image
