"""The stages one sample passes through: each returns the sample or a catalogue
rejection, and dedup decides in source order with its own stage."""

from __future__ import annotations

from atlas_data.config import RunConfig
from atlas_data.dedup.fingerprint import fingerprint
from atlas_data.dedup.kept import Kept
from atlas_data.rejections import Rejection
from atlas_data.run.stages import Sample, Stages
from atlas_data.sources.base import SourceRejection
from atlas_data.sources.synthetic import SyntheticSource
from atlas_data.tokens import DEFAULT_VOCABULARY


def stages(kept: Kept | None = None) -> Stages:
    return Stages(RunConfig(n=4), "stages", DEFAULT_VOCABULARY, kept or Kept())


def loaded(index: int = 0) -> Sample:
    out = stages().load(SyntheticSource(n=4, seed=3).sample(index))
    assert isinstance(out, Sample) and out.pixels is not None
    return out


def test_load_refuses_a_source_rejection_and_keeps_a_sample_whole():
    refused = Rejection("path_outside_root", "../x.png", "load")
    assert stages().load(SourceRejection("r1", refused)) is refused
    s = loaded()
    assert s.item.image == b"" and s.sha  # pixels decoded once, the record's copy dropped


def test_explore_encodes_once_and_drops_the_pixels():
    s = loaded()
    st = stages()
    out = st.filter(s)
    assert out is s and len(s.fingerprints) == 1
    out = st.explore(s, None)
    assert isinstance(out, Sample)
    assert not out.pixels and len(out.images) == 1 and out.images[0]["bytes"]
    assert len(out.observations) == len(out.steps) == len(out.operations)


def test_dedup_refuses_an_exact_and_a_near_duplicate_with_its_own_stage():
    s = loaded()
    s.fingerprints = [fingerprint(s.pixels[0])]
    kept = Kept()
    assert stages(kept).dedup(s) is s  # nothing kept yet: it passes
    kept.add(s.key, zip(s.near_keys, s.fingerprints, strict=True), "first")
    exact = stages(kept).dedup(s)
    assert isinstance(exact, Rejection) and (exact.reason, exact.stage) == ("duplicate", "dedup")
    s.sha = "another-encoding-of-the-same-picture"
    near = stages(kept).dedup(s)
    assert isinstance(near, Rejection) and (near.reason, near.stage) == ("near_duplicate", "dedup")
    assert "sample first" in near.detail
    s.item.answer = "another answer"  # the same picture with another answer is another sample
    assert stages(kept).dedup(s) is s
