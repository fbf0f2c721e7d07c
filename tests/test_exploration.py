"""Exploration on images nobody annotated: search without boxes, judges that say no,
direct answers, chains with an image per step, and a grounding model asked over HTTP.

The grounded corpus (``tests/grounded_corpus.py``) is made here: 36 photo-like JPEGs with
small stickers, large signs and large discs, and questions; the evidence boxes of the
``hidden`` questions are held back from the pipeline and used only to check its finds.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
from PIL import Image

from atlas_data.config import RunConfig
from atlas_data.explore import explore
from atlas_data.explore.judges.annotation import AnnotationJudge
from atlas_data.explore.proposers.grounding import parse_box
from atlas_data.explore.proposers.salient import Salient
from atlas_data.explore.proposers.scan import Scan
from atlas_data.ops import Operation, specs
from atlas_data.ops.frame import Frame
from atlas_data.ops.spec import MatchContext, Need
from atlas_data.run.driver import run
from atlas_data.sources.base import SourceSample, content_id
from atlas_data.tokens import DEFAULT_VOCABULARY
from atlas_data.trajectory.formats import get_preset, normalize_answer
from tests.grounded_corpus import SIZE, Truth, write
from tests.openai_server import ServerThread

BUDGET = RunConfig().budget()  # the default run's view


def inside(outer: Any, inner: Any) -> bool:
    """``inner`` lies within ``outer`` (the test's own geometry, not the library's)."""
    return bool(
        outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2]
        and inner[3] <= outer[3]
    )  # fmt: skip


def rows(folder: Path, kind: str) -> list[dict[str, Any]]:
    if not list((folder / kind).glob("*.parquet")):
        return []
    rel = duckdb.sql(f"select * from '{folder / kind}/*.parquet'")
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def sample_id(root: Path, truth: Truth) -> str:
    data = (root / truth.image).read_bytes()
    return content_id(hashlib.sha256(data).hexdigest(), truth.question)


def subset(root: Path, truths: list[Truth], folder: Path) -> Path:
    """A folder with some of the corpus's photos and their records, boxes left out."""
    folder.mkdir()
    with (folder / "questions.jsonl").open("w") as f:
        for t in truths:
            (folder / t.image).write_bytes((root / t.image).read_bytes())
            f.write(json.dumps({"image": t.image, "question": t.question, "answer": t.answer}))
            f.write("\n")
    return folder


def local_run(root: Path, out: Path, **options: Any) -> tuple[Path, dict[str, Any]]:
    source = {"root": str(root), "questions": str(root / "questions.jsonl")}
    manifest = run(RunConfig(source="local", source_options=source, out=str(out), **options))
    return next(out.iterdir()), manifest


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[Truth]]:
    root = tmp_path_factory.mktemp("photos")
    return root, write(root, per_kind=12, seed=0)


@pytest.fixture(scope="module")
def corpus_run(corpus, tmp_path_factory) -> dict[str, Any]:
    """The default local run (default judges, proposers and direct share) over the corpus."""
    root, truths = corpus
    folder, manifest = local_run(root, tmp_path_factory.mktemp("runs"), split="both")
    by_id = {sample_id(root, t): t for t in truths}
    sft = {r["id"]: r for r in rows(folder, "sft")}
    rejects = {r["id"]: r for r in rows(folder, "rejects")}
    assert set(sft) | set(rejects) == set(by_id)  # every record is kept or rejected
    return {"folder": folder, "manifest": manifest, "truth": by_id, "sft": sft, "rej": rejects}


def first_zoom(row: dict[str, Any] | None) -> list[float] | None:
    if not row or not row["operations"] or row["operations"][0]["name"] != "zoom":
        return None
    return json.loads(row["operations"][0]["params"])["box"]


def test_the_search_finds_small_text_that_no_record_boxed(corpus_run):
    hidden = [i for i, t in corpus_run["truth"].items() if t.kind == "hidden"]
    found = [
        i
        for i in hidden
        if (box := first_zoom(corpus_run["sft"].get(i))) and inside(box, corpus_run["truth"][i].box)
    ]
    assert len(hidden) == 12 and len(found) >= 0.8 * len(hidden), (len(found), len(hidden))
    for i in found:  # found by a proposer that needs no box, and read in the zoom by OCR
        op = corpus_run["sft"][i]["operations"][0]
        assert op["proposer"] in ("text", "scan", "salient")
        assert corpus_run["truth"][i].answer in json.loads(op["evidence"])["ocr"]["text"]


def test_questions_no_operation_helps_get_no_token(corpus_run):
    no_help = [i for i, t in corpus_run["truth"].items() if t.kind == "no_help"]
    tokened = [i for i in no_help if corpus_run["sft"].get(i, {}).get("tokens")]
    assert len(no_help) == 12 and len(tokened) <= 0.1 * len(no_help), tokened
    # each says no for its own reason: legible already, large already, or nobody could judge
    reasons = " ".join(corpus_run["rej"][i]["detail"] for i in no_help if i in corpus_run["rej"])
    assert "already legible at the budget" in reasons or "no judge spoke" in reasons


def test_given_boxes_that_really_help_are_kept(corpus_run):
    given = [i for i, t in corpus_run["truth"].items() if t.kind == "given"]
    kept = [
        i
        for i in given
        if (box := first_zoom(corpus_run["sft"].get(i))) and inside(box, corpus_run["truth"][i].box)
    ]
    assert len(kept) >= 0.8 * len(given), (len(kept), len(given))


def test_the_filter_says_no_and_reports_it(corpus_run):
    m = corpus_run["manifest"]
    assert 0 < m.counts.kept < m.counts.samples
    q = m.quality
    assert q.judges["ocr"]["reject"] > 0 and q.judges["ocr"]["accept"] > 0
    assert q.judges["annotation"]["abstain"] > 0  # no box: the annotation judge has no say
    assert q.proposers["text"]["chosen"] >= 10  # the detector found the stickers
    for row in corpus_run["rej"].values():  # the trail: what was tried and what judges said
        if row["reason"] == "no_helpful_operation" and "no judge spoke" not in row["detail"]:
            assert row["operations"], row["detail"]
            assert all(json.loads(op["evidence"]) for op in row["operations"])


def test_direct_trajectories_come_at_the_requested_share_and_pass_the_verifiers(corpus_run):
    folder = corpus_run["folder"]
    share = corpus_run["manifest"].config.direct_share
    direct = [r for r in corpus_run["sft"].values() if r["direct"]]
    shards = [f for f in corpus_run["manifest"].files if f.startswith("sft/")]
    # the share of each shard's kept rows, rounded up: at most one more per shard
    assert direct and len(direct) <= share * len(corpus_run["sft"]) + len(shards)
    rl_direct = [r for r in rows(folder, "rl") if r["direct"]]
    assert {r["id"] for r in rl_direct} == {r["id"] for r in direct}
    for r in direct:
        truth = corpus_run["truth"][r["id"]]
        assert truth.kind == "no_help" and not r["tokens"] and not r["operations"]
        parsed = get_preset(r["preset"]).parse(r["text"])  # the verifiers' own checks
        assert normalize_answer(parsed.answer) == normalize_answer(truth.answer)
        assert not any(t in r["text"] for t in DEFAULT_VOCABULARY.tokens)
        assert not r["observations"]
    assert corpus_run["manifest"].quality.direct == len(direct)


def test_no_direct_share_keeps_no_direct_answer(corpus, tmp_path):
    root, truths = corpus
    signs = [t for t in truths if t.question == "What does the big sign say?"][:3]
    sub = subset(root, signs, tmp_path / "signs")
    _, manifest = local_run(sub, tmp_path / "runs", direct_share=0.0)
    assert manifest.counts.kept == 0
    assert manifest.counts.rejected_by_reason == {"no_helpful_operation": len(signs)}


# ----------------------------------------------------------------- judges that must refuse


def test_a_zoom_on_evidence_already_large_at_the_budget_is_never_kept():
    rng = random.Random(3)
    zoom = specs()["zoom"]
    ctx = MatchContext(SIZE, BUDGET)
    for _ in range(200):
        w, h = rng.randint(30, 900), rng.randint(30, 700)
        x, y = rng.randint(0, SIZE[0] - w), rng.randint(0, SIZE[1] - h)
        need = Need("zoom", {"box": [x, y, x + w, y + h], "factor": 2})
        if min(w, h) * 1024 / SIZE[0] < 10:
            continue  # small at the budget: a zoom may help
        factor = rng.uniform(1, 8)
        m = zoom.match({"box": [x, y, x + w, y + h], "factor": factor}, need, ctx)
        assert not m.ok and "already large enough" in m.evidence["why"]


def test_a_box_covering_most_of_the_image_is_not_a_localisation():
    box = specs()["box"]
    ctx = MatchContext(SIZE, BUDGET)
    whole = [0, 0, SIZE[0], SIZE[1]]
    most = [40, 30, SIZE[0] - 40, SIZE[1] - 30]
    for need_box in (whole, most):
        need = Need("box", {"box": need_box})
        for cand in (whole, most):
            assert not box.match({"box": cand}, need, ctx).ok
    small = [100, 100, 400, 300]  # the same judge accepts a real localisation
    assert box.match({"box": small}, Need("box", {"box": small}), ctx).ok


def test_scan_and_salient_alone_find_nothing_helpful_when_nothing_is_small():
    """Free proposers put many zooms forward; with the evidence large at the budget, the
    annotation judge turns every one down and the sample has no operation."""
    img = Image.new("RGB", (2048, 1536), (120, 140, 160))
    img.paste((220, 40, 30), (700, 500, 1400, 1100))
    need = Need("zoom", {"box": [700, 500, 1400, 1100], "factor": 1})
    sample = SourceSample("s", img, "What colour is the block?", "red", "vqa", "test", needs=[need])
    proposers = [Scan(BUDGET), Salient(BUDGET)]
    found = explore(
        sample, img, [AnnotationJudge(BUDGET)], DEFAULT_VOCABULARY, 0, proposers, BUDGET
    )
    assert not found.steps and found.rejection.reason == "no_helpful_operation"
    assert found.counts["proposer:scan:proposed"] > 50
    assert found.counts["judge:annotation:accept"] == 0
    assert found.direct is not None  # and the annotation knows it needs none


def test_scan_tiles_cover_the_canvas_at_several_sizes_and_salient_finds_the_busy_patch():
    img = Image.new("RGB", (1600, 1200), (128, 128, 128))
    rng = np.random.default_rng(0)
    patch = (rng.random((150, 200)) > 0.5).astype(np.uint8) * 255
    img.paste(Image.fromarray(patch).convert("RGB"), (1200, 900))
    sample = SourceSample("s", img, "q?", "a", "vqa", "test")
    tiles = [op.params["box"] for op in Scan(BUDGET).propose(sample, img)]
    sizes = {b[2] - b[0] for b in tiles}
    assert len(sizes) >= 4
    assert all(0 <= b[0] < b[2] <= 1600 and 0 <= b[1] < b[3] <= 1200 for b in tiles)
    for x, y in ((5, 5), (1595, 1195), (800, 600)):  # every point is in some tile
        assert any(b[0] <= x < b[2] and b[1] <= y < b[3] for b in tiles)
    busy = [op.params["box"] for op in Salient(BUDGET).propose(sample, img)]
    assert busy and inside([1100, 800, 1600, 1200], busy[0])  # the densest window first
    flat = Image.new("RGB", (800, 600), (90, 90, 90))
    assert Salient(BUDGET).propose(SourceSample("f", flat, "q?", "a", "vqa", "test"), flat) == []


# ----------------------------------------------------------------- chains, step by step


def test_three_chain_kinds_run_end_to_end_with_an_image_per_step(tmp_path):
    families = "counting,odd_one,geometry"
    manifest = run(
        RunConfig(n=24, seed=2, out=str(tmp_path), source_options={"families": families})
    )
    folder = next(tmp_path.iterdir())
    chains = set()
    for r in rows(folder, "sft"):
        names = [op["name"] for op in r["operations"]]
        if len(names) < 2:
            continue
        chains.add(tuple(names))
        assert len(r["tokens"]) == len(names) == len(r["observations"])
        assert r["agentic_text"].count("<tool_call>") == len(names)
        # each step's image is that step's operation run on the previous step's image
        canvas = Image.open(io.BytesIO(r["images"][0]["bytes"])).convert("RGB")
        for op, obs in zip(r["operations"], r["observations"], strict=True):
            frame = json.loads(op["frame"])
            assert list(canvas.size) == frame["size"]
            canvas = Operation(op["name"], json.loads(op["params"])).apply(canvas)
            stored = np.asarray(Image.open(io.BytesIO(obs["bytes"])).convert("RGB"))
            assert stored.shape == np.asarray(canvas).shape
            assert np.abs(stored.astype(int) - np.asarray(canvas)).mean() < 1.0
    assert {("zoom", "point_mark"), ("box", "arrow"), ("aux_line", "text_label")} <= chains
    assert manifest.quality.multi_operation_share > 0.3


def test_a_later_step_is_proposed_and_judged_in_the_zoomed_frame():
    img = Image.new("RGB", (1600, 1200), (230, 230, 230))
    pts = [[1010, 610], [1050, 640], [1090, 620]]
    tray = [1000, 600, 1100, 660]
    needs = [
        Need("zoom", {"box": tray, "factor": 8}, "", detail_px=8, evidence=tray),
        Need("point_mark", {"points": pts, "numbered": True}),
    ]
    sample = SourceSample("t", img, "How many dots on the tray?", "3", "vqa", "test", needs=needs)
    found = explore(sample, img, [AnnotationJudge(BUDGET)], DEFAULT_VOCABULARY, 0, (), BUDGET)
    assert [s.operation.name for s in found.steps] == ["zoom", "point_mark"]
    frame = found.steps[1].frame
    assert frame is not None and frame.origin == (1000.0, 600.0) and frame.scale == 8.0
    marks = found.steps[1].operation.params["points"]
    assert marks == [Frame(img.size, (1000.0, 600.0), 8.0).point(p) for p in pts]
    assert marks[0] == [80.0, 80.0]


# ----------------------------------------------------------------- a grounding model


def test_the_grounding_proposer_asks_the_endpoint_and_its_box_becomes_the_zoom(corpus, tmp_path):
    root, truths = corpus
    hidden = [t for t in truths if t.kind == "hidden"][:4]
    sub = subset(root, hidden, tmp_path / "hidden")
    with ServerThread() as server:
        options = {"model": "stand-in-vlm", "base_url": server.base_url, "cache_dir": None}
        folder, manifest = local_run(
            sub,
            tmp_path / "runs",
            teacher="openai",
            teacher_options=options,
            proposers=["grounding"],
        )
        asked = [
            r for r in server.state.chat_records() if r["text"].startswith("You locate evidence")
        ]
    assert len(asked) >= len(hidden)  # one question per record, with the image
    assert all(r["images"] for r in asked)
    by_answer = {t.answer: t for t in hidden}
    kept = rows(folder, "sft")
    assert len(kept) >= 3
    for r in kept:
        op = r["operations"][0]
        assert op["proposer"] == "grounding"
        assert inside(json.loads(op["params"])["box"], by_answer[r["answer"]].box)
    assert manifest.quality.proposers["grounding"]["chosen"] == len(kept)


@pytest.mark.parametrize(
    "reply",
    ['{"box": null}', "somewhere near the top", '{"box": [1, 2, 3]}', '{"box": [0, 0, "a", 4]}'],
)
def test_a_grounding_reply_without_a_usable_box_proposes_nothing(reply):
    assert parse_box(reply) is None


def test_a_grounding_reply_in_prose_with_json_is_parsed():
    assert parse_box('Sure! {"box": [10, 20.5, 30, 40]} is where it is.') == [10, 20.5, 30, 40]
