"""Samples that show several images: records with an image list and annotations naming
their image, operations that act on one image of several, the teacher and the cost that
see every image, rows and the report that carry them all, and decontamination and
near-duplicates image by image."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest
from PIL import Image, ImageDraw

from atlas_data.config import Budget, RunConfig
from atlas_data.explore.judges.flip import AnswerFlipJudge
from atlas_data.explore.search import explore
from atlas_data.inspect.publish import build_folder
from atlas_data.inspect.report import build_report
from atlas_data.llm.count import data_url_size, request_tokens
from atlas_data.ops import Operation
from atlas_data.ops.spec import Need
from atlas_data.run.driver import run
from atlas_data.sources.base import SourceRejection, SourceSample
from atlas_data.sources.local import LocalSource
from atlas_data.teacher.base import TeachRequest
from atlas_data.teacher.openai import build_prompt
from atlas_data.tokens import DEFAULT_VOCABULARY
from tests.multi_corpus import write
from tests.openai_server import ServerThread
from tests.photo_corpus import background, letter
from tests.runs import run_folder

TOKENS = ("<|Manip|>", "<|Line|>", "<|Arrow|>", "<|Shape|>", "<|Text|>")


def rows(folder: Path, kind: str, columns: str) -> list[tuple[Any, ...]]:
    if not list(folder.glob(f"{kind}/*.parquet")):
        return []
    return duckdb.sql(f"select {columns} from '{folder}/{kind}/*.parquet'").fetchall()


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("multi")
    truths = write(root, seed=0)
    options = {"root": str(root), "questions": "questions.jsonl"}
    config = RunConfig(source="local", source_options=options, split="both", out=str(root / "runs"))
    manifest = run(config)
    source = LocalSource.from_options(options)
    ids = {source.sample(i).id: t for i, t in enumerate(truths)}
    folder = run_folder(config)
    kept = {r[0]: r[1] for r in rows(folder, "sft", "id, tokens")}
    rejected = {r[0]: r[1] for r in rows(folder, "rejects", "id, reason")}
    assert set(kept) | set(rejected) == set(ids)  # every record is kept or rejected
    lines = [json.loads(x) for x in (root / "questions.jsonl").read_text().splitlines()]
    records = {source.sample(i).id: r for i, r in enumerate(lines)}
    return {"root": root, "config": config, "manifest": manifest, "folder": folder,
            "ids": ids, "kept": kept, "records": records}  # fmt: skip


def test_each_need_across_images_gets_its_token_and_controls_get_none(corpus_run):
    ids, kept = corpus_run["ids"], corpus_run["kept"]
    for kind in ("change", "dots", "tag"):
        needing = [i for i, t in ids.items() if t.kind == kind]
        token = ids[needing[0]].token
        got = [i for i in needing if token in (kept.get(i) or [])]
        assert len(needing) >= 5 and len(got) >= 0.7 * len(needing), (kind, got, needing)
    controls = [i for i, t in ids.items() if t.token is None]
    drawn = [i for i in controls if set(kept.get(i) or []) & set(TOKENS)]
    assert len(controls) >= 6 and not drawn, drawn
    # dots over two photos: one set of numbered marks per photo, numbering on from the first
    for i, t in ids.items():
        if t.kind == "dots" and i in kept:
            assert kept[i] == ["<|Text|>", "<|Text|>"]


def test_rows_hold_every_image_in_order_and_each_operation_names_its_own(corpus_run):
    folder, root, records = corpus_run["folder"], corpus_run["root"], corpus_run["records"]
    seen_three = False
    for sample_id, images, ops, messages, observations in rows(
        folder, "sft", "id, images, operations, messages, observations"
    ):
        record = records[sample_id]
        assert len(images) == len(record["images"]) >= 2
        seen_three |= len(images) == 3
        for stored, name in zip(images, record["images"], strict=True):  # stored as given
            assert stored["bytes"] == (root / name).read_bytes()
        user = messages[0]["content"]
        assert user.count("<image>") == len(images)
        assert user.startswith("".join(f"Image {k}: <image>\n" for k in range(1, len(images))))
        named = [json.loads(op["params"])["image"] for op in ops]
        annotated = {b["image"] for b in record.get("bbox", [])} | {
            p["image"] for p in record.get("points", [])
        }
        assert set(named) <= annotated, (named, annotated)
        for k, (op, obs) in enumerate(zip(ops, observations, strict=True)):
            assert obs["path"].endswith(f"-op{k}-image{named[k]}.jpg")
            # the observation is the operation run on the image it names
            source = Image.open(root / record["images"][named[k]]).convert("RGB")
            params = {k: v for k, v in json.loads(op["params"]).items() if k != "image"}
            result = Operation(op["name"], params).apply(source)
            assert Image.open(io.BytesIO(obs["bytes"])).size == result.size
    assert seen_three
    rl = rows(folder, "rl", "prompt, images")
    assert rl and all(p[0]["content"].count("<image>") == len(imgs) for p, imgs in rl)


def test_the_report_and_the_card_show_every_image(corpus_run, tmp_path):
    html = build_report(corpus_run["folder"], n_examples=30)
    assert "image 2 of 2" in html and "image 3 of 3" in html
    card = build_folder(corpus_run["folder"], "me/multi", tmp_path / "hub") / "README.md"
    text = card.read_text()
    assert "sft rows showing 2 images" in text and "sft rows showing 3 images" in text


def test_records_of_several_images_are_read_in_order_and_checked(tmp_path):
    rng = random.Random(0)
    names = []
    for k in range(9):
        background(rng, "sand").resize((400, 300)).save(tmp_path / f"{k}.png")
        names.append(f"{k}.png")
    lines = [
        {"images": names[:3], "question": "How many?", "answer": "3",
         "points": [{"x": 10, "y": 10, "image": 2}, {"x": 20, "y": 20, "image": 2},
                    {"x": 30, "y": 30, "image": 0}]},
        {"images": names, "question": "Too many?", "answer": "x"},
        {"images": names[:2], "question": "Where?", "answer": "x",
         "bbox": [{"box": [0, 0, 50, 50], "image": 2}]},
        {"images": names[:2], "question": "Which?", "answer": "x",
         "points": [{"x": 500, "y": 10, "image": 1}]},
        {"images": [names[0]], "question": "Single?", "answer": "x", "bbox": [0, 0, 50, 50]},
    ]  # fmt: skip
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    src = LocalSource.from_options({"root": str(tmp_path), "questions": "q.jsonl"})
    three, nine, bad_box, off_image, listed = list(src)
    one = {"image": names[0], "question": "Single?", "answer": "x", "bbox": [0, 0, 50, 50]}
    (tmp_path / "one.jsonl").write_text(json.dumps(one) + "\n")
    (single,) = LocalSource.from_options({"root": str(tmp_path), "questions": "one.jsonl"})
    assert isinstance(three, SourceSample)
    assert three.images == [(tmp_path / n).read_bytes() for n in names[:3]]
    # counted over every image: marks on image 0 then image 2, numbered on
    assert [(n.op, n.image, n.params.get("first", 1)) for n in three.needs] == [
        ("point_mark", 0, 1),
        ("point_mark", 2, 2),
    ]
    assert isinstance(nine, SourceRejection) and nine.rejection.reason == "too_many_images"
    assert isinstance(bad_box, SourceRejection) and bad_box.rejection.reason == "bad_bbox"
    assert "names image 2" in bad_box.rejection.detail
    assert isinstance(off_image, SourceRejection) and off_image.rejection.reason == "bad_points"
    # one image, as a path or a list of one: the same sample
    assert isinstance(single, SourceSample) and isinstance(listed, SourceSample)
    assert single.id == listed.id and not single.more_images


def test_the_teacher_sees_every_image_labelled_and_fitted_and_each_is_counted():
    budget = Budget(side=512, reading_px=12.0)
    big = [Image.new("RGB", (1600, 1200), c) for c in ("red", "green", "blue")]
    tokens = []
    for n in (1, 3):
        request = TeachRequest("s", "vqa", "Which differs?", "B", None, big[:n], [], "atlas")
        messages = build_prompt(request, budget).materialize()
        content = messages[1]["content"]
        labels = [c["text"] for c in content if c["type"] == "text" and c["text"][:6] == "Image "]
        urls = [c["image_url"]["url"] for c in content if c["type"] == "image_url"]
        assert len(urls) == n
        assert labels == ([f"Image {k}:" for k in range(1, n + 1)] if n > 1 else [])
        for url in urls:  # each one fitted to the budget
            size = data_url_size(url)
            assert size is not None and max(size) <= 512
        tokens.append(request_tokens({"model": "gpt-4o-mini", "messages": messages}))
    assert tokens[1] > tokens[0] + 2 * 100  # two more images, each counted


DISCS = [(120 + 110 * k, 150 + 60 * (k % 3)) for k in range(6)]


def _pair(rng: random.Random) -> list[Image.Image]:
    """Six red discs on a photo-like first image, and another photo."""
    first = background(rng, "grass").resize((800, 600))
    d = ImageDraw.Draw(first)
    for x, y in DISCS:
        d.ellipse((x - 8, y - 8, x + 8, y + 8), fill=(210, 40, 40))
    return [first, background(rng, "cloth").resize((800, 600))]


def test_decontamination_and_near_duplicates_are_per_image(tmp_path):
    rng = random.Random(3)
    root, bench = tmp_path / "data", tmp_path / "bench"
    root.mkdir()
    bench.mkdir()
    a = _pair(rng)
    b = _pair(random.Random(4))
    c = _pair(random.Random(5))
    c[0].save(bench / "held.png")  # a benchmark holds the FIRST image of sample c
    d = _pair(random.Random(6))
    d[1].save(bench / "held2.png")  # and the SECOND image of sample d
    files: dict[str, Image.Image] = {}
    for tag, pair in (("a", a), ("b", b), ("c", c), ("d", d)):
        for k, img in enumerate(pair):
            files[f"{tag}{k}.png"] = img
    # a re-encoded copy of sample a (both images): a near duplicate under the same question
    files["a0.jpg"], files["a1.jpg"] = a[0], a[1]
    # sample a's first image with another second image: another sample
    files["e1.png"] = b[1]
    for name, img in files.items():
        img.save(root / name, quality=90) if name.endswith(".jpg") else img.save(root / name)
    q = "How many red discs are in the first photo?"
    points = [{"x": x, "y": y, "image": 0} for x, y in DISCS]
    lines = [
        {"images": ["a0.png", "a1.png"]},
        {"images": ["a0.jpg", "a1.jpg"]},
        {"images": ["a0.png", "e1.png"]},
        {"images": ["c0.png", "c1.png"]},
        {"images": ["d0.png", "d1.png"]},
    ]
    (root / "q.jsonl").write_text(
        "".join(
            json.dumps({**x, "question": q, "answer": "6", "points": points}) + "\n" for x in lines
        )
    )
    config = RunConfig(
        source="local",
        source_options={"root": str(root), "questions": "q.jsonl"},
        judges=["annotation"],
        decontaminate=[str(bench)],
        direct_share=1.0,
        out=str(tmp_path / "runs"),
    )
    run(config)
    folder = run_folder(config)
    src = LocalSource.from_options(config.source_options)
    order = [src.sample(i).id for i in range(len(lines))]
    kept = {r[0] for r in rows(folder, "sft", "id")}
    rejected = dict(rows(folder, "rejects", "id, reason"))
    assert rejected.get(order[3]) == "contaminated" and rejected.get(order[4]) == "contaminated"
    assert rejected.get(order[1]) == "near_duplicate"
    assert order[0] in kept and order[2] in kept, (rejected, kept)


def test_the_vocabulary_schema_and_a_call_say_which_image():
    for op in DEFAULT_VOCABULARY.operations:
        assert op.params["properties"]["image"]["type"] == "integer"
    call = json.loads(Operation("zoom", {"box": [0, 0, 9, 9]}, image=2).call_json())
    assert call["arguments"]["image"] == 2
    assert (
        "image" not in json.loads(Operation("zoom", {"box": [0, 0, 9, 9]}).call_json())["arguments"]
    )


def test_a_benchmark_of_several_images_per_row_has_every_image_indexed(tmp_path):
    """BLINK keeps its images in ``image_1`` … ``image_4`` (unused ones empty), MuirBench
    in an ``image_list``: an image in any of them keeps a sample out."""
    import datasets

    from atlas_data.decontaminate import benchmark_index
    from atlas_data.dedup.fingerprint import fingerprint

    photos = [background(random.Random(k), "sand").resize((640, 480)) for k in range(5)]
    blink = datasets.Dataset.from_dict(
        {"image_1": [photos[0]], "image_2": [photos[1]], "image_3": [None],
         "question": ["Which image matches?"]},
        features=datasets.Features({"image_1": datasets.Image(), "image_2": datasets.Image(),
                                    "image_3": datasets.Image(),
                                    "question": datasets.Value("string")}),
    )  # fmt: skip
    muir = datasets.Dataset.from_dict(
        {"image_list": [[photos[2], photos[3]]], "question": ["Which one?"]},
        features=datasets.Features(
            {
                "image_list": datasets.Sequence(datasets.Image()),
                "question": datasets.Value("string"),
            }
        ),
    )
    for name, ds in (("blink", blink), ("muir", muir)):
        ds.save_to_disk(str(tmp_path / name))
    cache = tmp_path / "cache"
    found_blink = benchmark_index(str(tmp_path / "blink"), cache)
    found_muir = benchmark_index(str(tmp_path / "muir"), cache)
    for k, bench in ((0, found_blink), (1, found_blink), (2, found_muir), (3, found_muir)):
        assert bench.image_match(fingerprint(photos[k]), 12), k
    assert not found_blink.image_match(fingerprint(photos[4]), 12)
    assert not found_muir.image_match(fingerprint(photos[4]), 12)


def test_the_flip_judge_asks_on_every_image_with_the_result_in_its_place(monkeypatch):
    """A tag too small to read in image 2 of 2: the model is shown both images, before and
    after, and the zoom's result stands where image 2 was."""
    rng = random.Random(11)
    plain, tagged = background(rng, "sand"), background(rng, "grass")
    d = ImageDraw.Draw(tagged)
    d.rectangle((700, 500, 790, 540), fill=(250, 250, 250))
    box = letter(d, 745, 520, "KX42", 15)
    need = Need("zoom", {}, evidence=[float(v) for v in box], image=1)
    sample = SourceSample("two", b"", "What code is on the tag?", "KX42", "vqa", "t", needs=[need])
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with ServerThread() as server:
        options = {"model": "stand-in-vlm", "base_url": server.base_url, "cache_dir": None}
        config = RunConfig(teacher="openai", teacher_options=options, judges=["flip"])
        judge = AnswerFlipJudge.of_run(config)
        budget = config.budget()
        found = explore(sample, [plain, tagged], [judge], DEFAULT_VOCABULARY, 0, (), budget)
        asked = [r for r in server.state.chat_records() if not r.get("teaching")]
        judge.close()
    assert found.rejection is None, found.rejection
    (step,) = found.steps
    assert step.operation.image == 1 and step.judgement.evidence["flip"]["correct_after"]
    assert len(asked) == 2 and all(len(r["images"]) == 2 for r in asked)
