"""What may not enter the data: near-duplicates within a run, and benchmark images.

- :mod:`~atlas_data.dedup.fingerprint`: a perceptual fingerprint of an image (a DCT hash and
  a gradient hash) that survives resizing, JPEG re-encoding and a few percent of cropping;
- :mod:`~atlas_data.dedup.kept`: what a run has kept so far, across shards and resumes;
- :mod:`~atlas_data.dedup.benchmarks`: the index of a benchmark's images (and questions)
  that ``--decontaminate`` builds once, caches by content hash and shares with every shard.

Pixels and numbers only: opening a benchmark table (formats, hub names, column names) is
the sources' knowledge, passed in by :mod:`atlas_data.decontaminate`, above them.
"""
