"""Fingerprinting a sample and looking it up among 100,000 benchmark images, against
decoding the same image; and how well the fingerprint tells copies from other pictures.

Timing: 1600x1200 photo-like JPEGs (``tests/photo_corpus.py``); per image, the decode the
pipeline does anyway (``load_image``), then the fingerprint of the decoded image and a
lookup in an index of 100,000 benchmark images x 6 crops (600,000 fingerprints, random).
The lookup must not dominate a sample's cost: RATIO is (fingerprint + lookup) / decode.

Robustness: every corpus image, copied the way scrapers copy (1-5 % cropped off a side,
resized to 40-90 %, JPEG quality 50-85), must find its original at the default threshold,
and no two different corpus images may match each other.

    python -m benchmarks.dedup_lookup [--benchmark-images 100000]
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from atlas_data.dedup.fingerprint import DEFAULT_BITS, FingerprintIndex, fingerprint, variants
from atlas_data.ops.image_io import load_image
from benchmarks.common import header, ratio_line
from tests.photo_corpus import copy_of, write


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark-images", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    header("fingerprint + lookup among benchmark images vs decoding the image")
    with tempfile.TemporaryDirectory(prefix="atlas-bench-dedup-") as tmp:
        write(Path(tmp), seed=21)
        files = sorted(Path(tmp).glob("*.jpg"))
        blobs = [f.read_bytes() for f in files]
    gen = np.random.default_rng(0)
    shape = (args.benchmark_images, 6)
    index = FingerprintIndex(
        gen.integers(0, 2**63, shape, dtype=np.uint64),
        gen.integers(0, 2**63, shape, dtype=np.uint64),
        [f"bench/{k}.jpg" for k in range(args.benchmark_images)],
    )
    decode, hashing, lookup = [], [], []
    for _ in range(args.repeats):
        for data in blobs:
            t0 = time.perf_counter()
            image = load_image(data).image
            t1 = time.perf_counter()
            fp = fingerprint(image)
            t2 = time.perf_counter()
            index.find(fp)
            t3 = time.perf_counter()
            decode.append(t1 - t0)
            hashing.append(t2 - t1)
            lookup.append(t3 - t2)
    med = statistics.median
    print(
        f"{len(blobs)} JPEGs of 1600x1200, {args.repeats} rounds; index: "
        f"{args.benchmark_images} images x 6 crops"
    )
    print(f"decode              median {med(decode) * 1000:7.2f} ms")
    print(f"fingerprint         median {med(hashing) * 1000:7.2f} ms")
    print(f"lookup (600k)       median {med(lookup) * 1000:7.2f} ms")

    rng = random.Random(7)
    images = [load_image(b).image for b in blobs]
    prints = [variants(im) for im in images]
    real = FingerprintIndex(
        np.array([[v.dct for v in p] for p in prints], dtype=np.uint64),
        np.array([[v.gradient for v in p] for p in prints], dtype=np.uint64),
        [str(k) for k in range(len(images))],
    )
    found = 0
    trials = 0
    for k, im in enumerate(images):
        for _ in range(3):
            trials += 1
            hit = real.find(fingerprint(copy_of(im, rng)))
            found += hit is not None and hit[0] == str(k)
    pairs = list(itertools.combinations(range(len(images)), 2))
    wrong = sum(prints[i][0].same(prints[j][0], DEFAULT_BITS) for i, j in pairs)
    print(
        f"copies found at {DEFAULT_BITS} bits: {found} of {trials}; different pictures "
        f"matched: {wrong} of {len(pairs)} pairs"
    )
    ratio_line(
        "(fingerprint + lookup) / decode",
        (med(hashing) + med(lookup)) / med(decode),
        "< 1",
    )


if __name__ == "__main__":
    main()
