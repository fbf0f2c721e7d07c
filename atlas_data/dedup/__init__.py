"""What may not enter the data: near-duplicates within a run, and benchmark images.

- :mod:`~atlas_data.dedup.fingerprint`: a perceptual fingerprint of an image (a DCT hash and
  a gradient hash) that survives resizing, JPEG re-encoding and a few percent of cropping;
- :mod:`~atlas_data.dedup.benchmarks`: the index of a benchmark's images (and questions)
  that ``--decontaminate`` builds once, caches by content hash and shares with every shard.
"""
