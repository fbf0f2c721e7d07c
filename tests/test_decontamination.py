"""Benchmark images never become training data, and the same picture asked the same
question enters a run once: perceptual fingerprints, a cached benchmark index, and
near-duplicates across shards and resumes."""

from __future__ import annotations

import itertools
import json
import random
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from atlas_data.config import RunConfig
from atlas_data.dedup.benchmarks import QUESTION_OVERLAP, trigrams
from atlas_data.dedup.fingerprint import DEFAULT_BITS, FingerprintIndex, fingerprint, variants
from atlas_data.run.driver import run
from atlas_data.run.plan import RunPlan
from atlas_data.sources.local import LocalSource
from tests.photo_corpus import copy_of, write
from tests.runs import run_folder


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("pool")
    write(root, seed=11)
    return sorted(root.glob("*.jpg"))


def test_copies_match_their_original_and_different_photos_do_not(pool):
    rng = random.Random(3)
    images = [Image.open(p).convert("RGB") for p in pool]
    index = FingerprintIndex(
        [[v.dct for v in variants(im)] for im in images],
        [[v.gradient for v in variants(im)] for im in images],
        [p.name for p in pool],
    )
    for path, image in zip(pool, images, strict=True):
        for _ in range(2):
            found = index.find(fingerprint(copy_of(image, rng)))
            assert found is not None and found[0] == path.name, (path.name, found)
    prints = [fingerprint(im) for im in images]
    for (i, a), (j, b) in itertools.combinations(enumerate(prints), 2):
        assert not a.same(b, DEFAULT_BITS), (pool[i].name, pool[j].name, a.distance(b))


def test_reworded_questions_overlap_and_template_siblings_do_not():
    """The measurement behind QUESTION_OVERLAP."""

    def overlap(a: str, b: str) -> float:
        return len(trigrams(a) & trigrams(b)) / min(len(trigrams(a)), len(trigrams(b)))

    copies = [
        ("How many red beads can you see in the image?", "How many red beads can you see?"),
        (
            "Which letter is written nearest to the red pentagon in the photo?",
            "Which letter is written nearest to the red pentagon?",
        ),  # fmt: skip
        (
            "Is the left or the right circle larger than the other?",
            "Is the left or the right circle larger?",
        ),  # fmt: skip
    ]
    siblings = [
        ("How many blue dots can you see?", "How many red beads can you see?"),
        ("Which letter lies next to the red pentagon?", "Which letter is nearest to the star?"),
        ("Is the left or the right square larger?", "Is the left or the right circle larger?"),
    ]
    assert all(overlap(a, b) >= QUESTION_OVERLAP for a, b in copies)
    assert all(overlap(a, b) < QUESTION_OVERLAP for a, b in siblings)


@pytest.fixture(scope="module")
def corpus(pool, tmp_path_factory) -> dict[str, Any]:
    """A benchmark folder, a benchmark Parquet file with questions, and a source whose
    records include copies of benchmark images, a copied benchmark question, exact and
    near copies of its own images under the same question, and an image asked anew."""
    base = tmp_path_factory.mktemp("decon")
    counts = [p for p in pool if "-count" in p.name]
    lines = {json.loads(x)["image"]: json.loads(x)
             for x in (pool[0].parent / "questions.jsonl").read_text().splitlines()}  # fmt: skip
    bench = base / "bench"
    bench.mkdir()
    for p in [*counts[:3], *[q for q in pool if "-relate" in q.name][:3]]:
        shutil.copy(p, bench / p.name)
    table = base / "bench.parquet"
    relate = [q for q in pool if "-relate" in q.name][3:5]
    pq.write_table(pa.table({
        "image": [{"bytes": p.read_bytes(), "path": p.name} for p in relate],
        "question": ["Which letter is closest to the blue hexagon in the photo?"] * 2,
    }), table)  # fmt: skip
    src = base / "src"
    src.mkdir()
    rng = random.Random(5)
    records = []

    def add(name: str, image: Image.Image | Path, record: dict[str, Any], kind: str) -> None:
        if isinstance(image, Path):
            shutil.copy(image, src / name)
        else:
            image.save(src / name, quality=90)
        records.append(({**record, "image": name}, kind))

    for k, p in enumerate(counts[:3]):  # scraped copies of benchmark images (no points)
        scraped = {"question": "How many dots are there?", "answer": lines[p.name]["answer"]}
        add(f"leak{k}.jpg", copy_of(Image.open(p).convert("RGB"), rng), scraped, "leak")
    own = counts[3:6]
    for k, p in enumerate(own):
        add(f"own{k}.jpg", p, lines[p.name], "own")
    add("own0_again.jpg", own[0], lines[own[0].name], "duplicate")
    small = Image.open(own[1]).convert("RGB")
    halved = {**lines[own[1].name]}  # the same picture at half the size, its points too
    halved["points"] = [[x / 2, y / 2] for x, y in halved["points"]]
    add("own1_small.jpg", small.resize((small.width // 2, small.height // 2)), halved, "near")
    asked = {**lines[own[2].name], "question": "How many dots in all are there?"}
    add("own2_asked.jpg", own[2], asked, "own")
    borrowed = {**lines[own[0].name], "question": "Which letter is closest to the blue hexagon?"}
    add("own0_borrowed.jpg", own[0], borrowed, "question")
    (src / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r, _ in records))
    return {"bench": bench, "table": table, "src": src, "kinds": [k for _, k in records],
            "base": base}  # fmt: skip


def decon_config(corpus: dict[str, Any], out: str, **extra: Any) -> RunConfig:
    return RunConfig(
        source="local",
        source_options={"root": str(corpus["src"]), "questions": "q.jsonl"},
        decontaminate=[str(corpus["bench"]), str(corpus["table"])],
        shard_size=3,  # the duplicates land in other shards than their first
        out=str(corpus["base"] / out),
        **extra,
    )


def outcome(config: RunConfig, kinds: list[str]) -> dict[str, list[tuple[str, str]]]:
    """What became of each kind of record. An exact copy shares its original's sample id
    (ids come from content), so both land under the kind of the record named last."""
    source = LocalSource.from_options(config.source_options)
    by_id = {source.sample(i).id: kinds[i] for i in range(len(kinds))}
    folder = run_folder(config)
    rows = duckdb.sql(f"select id, reason, detail from '{folder}/rejects/*.parquet'").fetchall()
    kept = duckdb.sql(f"select id from '{folder}/sft/*.parquet'").fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for i, reason, detail in rows:
        out.setdefault(by_id[i], []).append((reason, detail))
    for (i,) in kept:
        out.setdefault(by_id[i], []).append(("kept", ""))
    return out


def test_benchmark_copies_are_contaminated_and_duplicates_are_not_kept_twice(corpus):
    config = decon_config(corpus, "runs", decontaminate_questions=True)
    manifest = run(config)
    got = outcome(config, corpus["kinds"])
    assert [r for r, _ in got["leak"]] == ["contaminated"] * 3
    assert all(str(corpus["bench"]) in d and "-count.jpg" in d for _, d in got["leak"])
    assert [r for r, _ in got["question"]] == ["contaminated"]
    assert (
        "question 0 of" in got["question"][0][1] and str(corpus["table"]) in got["question"][0][1]
    )
    # the exact copy and its original: one kept, one a duplicate
    assert sorted(r for r, _ in got["duplicate"]) == ["duplicate", "kept"]
    (near,) = got["near"]
    assert near[0] == "near_duplicate" and "kept earlier" in near[1]
    assert sorted(r for r, _ in got["own"]) == ["kept"] * 3  # incl. the same image asked anew
    assert manifest.filters.contaminated == {str(corpus["bench"]): 3, str(corpus["table"]): 1}
    assert manifest.filters.near_duplicates == 1
    described = {b["path"]: b for b in manifest.filters.benchmarks}
    assert described[str(corpus["table"])]["questions"] == 2
    assert described[str(corpus["bench"])]["images"] == 6

    # without the question check, the borrowed question is not looked at (its image is
    # the user's own: what becomes of it is exploration's business)
    plain = decon_config(corpus, "runs-plain")
    run(plain)
    (borrowed,) = outcome(plain, corpus["kinds"])["question"]
    assert borrowed[0] != "contaminated"


def test_the_index_is_built_once_cached_by_content_and_rebuilt_when_it_changes(corpus, tmp_path):
    cache = Path("data/cache/benchmarks")
    config = decon_config(corpus, "runs-cache")
    first = RunPlan.resolve(config)
    files = {p: p.stat().st_mtime_ns for p in cache.glob("*.npz")}
    again = RunPlan.resolve(config)
    assert {p: p.stat().st_mtime_ns for p in cache.glob("*.npz")} == files  # read, not rebuilt
    assert first.run_id == again.run_id
    changed = tmp_path / "bench"
    shutil.copytree(corpus["bench"], changed)
    extra = next(p for p in corpus["src"].glob("own2*.jpg"))
    shutil.copy(extra, changed / "extra.jpg")
    moved = RunPlan.resolve(decon_config({**corpus, "bench": changed}, "runs-cache"))
    assert moved.filters and first.filters
    assert moved.filters.benchmarks[0].content_hash != first.filters.benchmarks[0].content_hash
    assert moved.run_id != first.run_id  # what a benchmark holds is part of the run's identity


def test_near_duplicates_survive_a_resume(corpus):
    config = decon_config(corpus, "runs-resume")
    run(config)
    before = outcome(config, corpus["kinds"])
    plan = RunPlan.resolve(config)
    last = max(r.shard for r in plan.run_dir.records())
    root = plan.run_dir.root
    for kind in ("sft", "rejects"):
        (root / plan.run_dir.part(kind, last)).unlink(missing_ok=True)
    (root / plan.run_dir.done_record(last)).unlink()  # the last shard was cut short
    run(config)
    assert outcome(config, corpus["kinds"]) == before
    assert before["near"][0][0] == "near_duplicate"
