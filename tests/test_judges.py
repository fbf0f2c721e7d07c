"""The OCR and answer-flip judges on synthetic small-text scenes, with the real OCR model."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from atlas_data.config import RunConfig
from atlas_data.explore import build_judges, combine
from atlas_data.explore.judges.annotation import AnnotationJudge
from atlas_data.explore.judges.flip import AnswerFlipJudge, is_correct
from atlas_data.explore.judges.ocr import OCRJudge
from atlas_data.explore.search import complete_needs
from atlas_data.explore.text import model_paths
from atlas_data.ops import Operation
from atlas_data.sources.base import SourceSample
from atlas_data.sources.synthetic import SyntheticSource
from tests.openai_server import ServerThread
from tests.runs import run_folder

BUDGET = RunConfig().budget()  # the default run's view


@pytest.fixture(scope="module")
def sample() -> SourceSample:
    s = SyntheticSource(n=1, seed=0, families=["small_text"]).sample(0)
    return complete_needs(s, s.image.size, BUDGET)  # type: ignore[union-attr]


def true_zoom(s: SourceSample) -> Operation:
    return Operation("zoom", s.needs[0].params)


def wrong_zoom(s: SourceSample) -> Operation:
    """The same zoom moved onto a decoy tag: same size and factor, wrong region."""
    params = s.needs[0].params
    b = params["box"]
    w, h = b[2] - b[0], b[3] - b[1]
    decoy = next(o["box"] for o in s.objects if o["label"].endswith("tag"))
    cx, cy = (decoy[0] + decoy[2]) // 2, (decoy[1] + decoy[3]) // 2
    box = [cx - w // 2, cy - h // 2, cx - w // 2 + w, cy - h // 2 + h]
    return Operation("zoom", {"box": box, "factor": params["factor"]})


@pytest.fixture(scope="module")
def ocr() -> OCRJudge:
    return OCRJudge(BUDGET)


def test_ocr_judge_finds_the_text_zoom_helpful_and_a_wrong_region_not(sample, ocr):
    helped = ocr.judge(sample, sample.image, true_zoom(sample), None)
    assert helped is not None and helped.helpful, helped
    ev = helped.evidence
    # from below the reading size at the budget to above it, measured on the letters
    assert ev["glyph_px_at_budget"] < ocr.budget.reading_px <= ev["glyph_px_after"]
    assert abs(ev["glyph_px_source"] - sample.needs[0].detail_px) <= 1
    assert sample.answer in ev["text"] and sample.answer in helped.seen
    wrong = ocr.judge(sample, sample.image, wrong_zoom(sample), None)
    assert wrong is not None and not wrong.helpful
    assert wrong.evidence["why"] == "the zoom misses part of the answer's text"
    # the same region, not magnified enough: still below the reading size
    weak = Operation("zoom", {**true_zoom(sample).params, "factor": 1})
    verdict = ocr.judge(sample, sample.image, weak, None)
    assert verdict is not None and not verdict.helpful
    assert "still below the reading size" in verdict.evidence["why"]


def test_ocr_judge_abstains_off_topic(ocr):
    counting = SyntheticSource(n=2, seed=0, families=["counting"]).sample(0)
    assert (
        ocr.judge(counting, counting.image, Operation("zoom", {"box": [0, 0, 99, 99]}), None)
        is None
    )
    text = SyntheticSource(n=1, seed=0, families=["small_text"]).sample(0)
    box = Operation("box", {"box": [0, 0, 50, 50]})
    assert ocr.judge(text, text.image, box, None) is None


def test_ocr_judge_abstains_where_it_cannot_find_the_answer_but_refuses_where_it_can(sample, ocr):
    """An answer OCR cannot place is no evidence about the zoom: abstain, and let a given
    box decide. The same zoom for an answer OCR does place is judged, and a bad one refused."""
    unreadable = replace(sample, id=sample.id + "-x", answer="ZQXJW")  # written nowhere
    assert ocr.judge(unreadable, sample.image, true_zoom(sample), None) is None
    assert not ocr.judge(sample, sample.image, wrong_zoom(sample), None).helpful


def test_annotation_and_ocr_compose_and_record_who_agreed(sample, ocr):
    judges = [AnnotationJudge(BUDGET), ocr]
    for op, helpful in ((true_zoom(sample), True), (wrong_zoom(sample), False)):
        result = op.apply(sample.image)
        verdict = combine([v for j in judges if (v := j.judge(sample, sample.image, op, result))])
        assert verdict is not None and verdict.helpful is helpful
        assert verdict.judge == "annotation+ocr"
        agreed = ["annotation", "ocr"] if helpful else []
        assert verdict.evidence["agreed"] == agreed
        assert set(verdict.evidence["disagreed"]) == ({"annotation", "ocr"} - set(agreed))
        assert set(verdict.evidence) >= {"annotation", "ocr"}


def test_flip_judge_flips_on_the_zoom_and_is_cached(sample, tmp_path):
    with ServerThread() as server:
        options = {"model": "stand-in-vlm", "base_url": server.base_url}
        options |= {"cache_dir": str(tmp_path), "backoff": 0.05}
        config = RunConfig(teacher="openai", teacher_options=options, judge_model="stand-in-judge")
        judge = AnswerFlipJudge.of_run(config)
        verdict = judge.judge(sample, sample.image, true_zoom(sample), None)
        assert verdict is not None and verdict.helpful, verdict
        assert not verdict.evidence["correct_before"] and verdict.evidence["correct_after"]
        wrong = judge.judge(sample, sample.image, wrong_zoom(sample), None)
        assert wrong is not None and not wrong.helpful
        chats = server.state.chat_records()
        assert len(chats) == 3  # original once, then each result
        assert {r["model"] for r in chats} == {"stand-in-judge"}
        assert all(max(size) <= 1024 for r in chats for _, size in r["images"])
        judge.close()

        server.state.reset()
        again = AnswerFlipJudge.of_run(config)
        assert again.judge(sample, sample.image, true_zoom(sample), None) == verdict
        assert server.state.chat_records() == []
        assert again.usage.cache_hits == 2
        again.close()


def test_is_correct_normalises():
    assert is_correct("The code is KW3A.", "KW3A")
    assert is_correct("three", "3")
    assert not is_correct("KW3", "KW3A") and not is_correct("unknown", "KW3A")


def test_judges_are_registered_by_name():
    cfg = RunConfig(judges=["annotation", "ocr", "flip"], teacher_options={"model": "m"})
    assert [j.name for j in build_judges(cfg)] == ["annotation", "ocr", "flip"]
    with pytest.raises(ValueError, match="--judge-model"):
        build_judges(RunConfig(judges=["flip"]))


def test_exactly_one_opencv_distribution_is_installed():
    names = {d.metadata["Name"].lower() for d in md.distributions()}
    opencv = sorted(n for n in names if n.startswith("opencv"))
    assert len(opencv) == 1, f"several OpenCV distributions fight over cv2: {opencv}"
    assert "rapidocr-onnxruntime" not in names


def test_ocr_models_ship_in_the_wheel_and_load_with_no_network(tmp_path):
    paths = model_paths()
    assert all(p.is_file() and "site-packages" in str(p) for p in paths.values())
    dead = "http://127.0.0.1:9"  # any download attempt fails at once
    env = {**os.environ, "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "NO_PROXY": ""}
    env |= {"http_proxy": dead, "https_proxy": dead, "no_proxy": ""}
    code = (
        "from PIL import Image, ImageDraw\n"
        "from atlas_data.explore.text import shared_engine\n"
        "from atlas_data.ops.params import font\n"
        "img = Image.new('RGB', (360, 90), 'white')\n"
        "ImageDraw.Draw(img).text((20, 20), 'HELLO 42', fill='black', font=font(40))\n"
        "print([ln.text for ln in shared_engine().read(img)])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent.parent,
    )
    assert out.returncode == 0, out.stderr
    assert "HELLO" in out.stdout


def test_a_run_judged_by_annotation_ocr_and_flip_keeps_rows_with_agreement(tmp_path):
    """End to end, all three judges on small-text scenes (OCR only on surviving candidates)."""
    import duckdb

    from atlas_data.run.driver import run

    with ServerThread() as server:
        cfg = RunConfig(
            n=1,
            source_options={"families": ["small_text"]},
            teacher="openai",
            teacher_options={
                "model": "stand-in-vlm",
                "base_url": server.base_url,
                "cache_dir": str(tmp_path / "cache"),
            },
            judge_model="stand-in-judge",
            judges=["annotation", "ocr", "flip"],
            out=str(tmp_path / "runs"),
        )
        manifest = run(cfg)
        judged = [r for r in server.state.chat_records() if r["model"] == "stand-in-judge"]
    assert manifest.counts.kept == 1
    assert manifest.teacher_usage.requests == 1 + len(judged)
    ((ops,),) = duckdb.sql(f"select operations from '{run_folder(cfg)}/sft/*.parquet'").fetchall()
    evidence = json.loads(ops[0]["evidence"])
    assert ops[0]["judge"] == "annotation+ocr+flip"
    assert evidence["agreed"] == ["annotation", "ocr", "flip"]


class PixelProbe:
    """A pixel judge that records what it was shown and agrees with everything."""

    name = "probe"
    needs_pixels = True

    def __init__(self) -> None:
        self.seen: list[tuple[Operation, tuple[int, int]]] = []

    def judge(self, sample, image, op, result):
        from atlas_data.trajectory.judgement import Judgement

        assert result is not None, "a pixel judge must get the operation's result"
        self.seen.append((op, result.size))
        return Judgement(True, 1.0, self.name, {})


def test_pixel_judges_only_see_the_best_candidates_the_cheap_judges_kept():
    from atlas_data.explore import PIXEL_TRIALS, explore
    from atlas_data.explore.proposers.boxes import need_proposals
    from atlas_data.explore.proposers.scan import Scan
    from atlas_data.ops.frame import Frame
    from atlas_data.tokens import DEFAULT_VOCABULARY

    annotation, probe = AnnotationJudge(BUDGET), PixelProbe()
    sample = SyntheticSource(1, seed=5, families=["small_text"]).sample(0)
    image = sample.image.convert("RGB")
    sample = complete_needs(sample, image.size, BUDGET)
    candidates = need_proposals(sample.needs[0], Frame(image.size), sample, 0)
    candidates += Scan(BUDGET).propose(sample, image)
    helpful = [op for op in candidates if annotation.judge(sample, image, op, None).helpful]
    assert 0 < len(helpful) < len(candidates)  # there are distractors to skip

    found = explore(
        sample, image, [annotation, probe], DEFAULT_VOCABULARY, 0, [Scan(BUDGET)], BUDGET
    )
    assert found.steps and found.steps[0].judgement.judge == "annotation+probe"
    # the probe saw only candidates the annotation judge kept, the first of them chosen
    assert [op for op, _ in probe.seen] == [found.steps[0].operation]
    assert all(op in helpful for op, _ in probe.seen) and len(probe.seen) <= PIXEL_TRIALS
    assert found.counts["judge:annotation:accept"] == len(helpful)
    assert found.counts["judge:annotation:reject"] == len(candidates) - len(helpful)


def test_a_failing_judge_endpoint_is_a_rejection_with_its_reason_not_unhelpful(tmp_path):
    import duckdb

    from atlas_data.run.driver import run

    with ServerThread() as server:
        server.state.default_mode = "500"
        cfg = RunConfig(
            n=2,
            source_options={"families": ["small_text"]},  # text too small at the budget
            teacher_options={
                "model": "stand-in-vlm",
                "base_url": server.base_url,
                "cache_dir": str(tmp_path / "cache"),
                "max_retries": 1,
                "backoff": 0.01,
            },
            judges=["annotation", "flip"],
            out=str(tmp_path / "runs"),
        )
        manifest = run(cfg)
    assert manifest.counts.kept == 0
    got = duckdb.sql(
        f"select stage, reason, detail from '{run_folder(cfg)}/rejects/*.parquet'"
    ).fetchall()
    assert [(stage, reason) for stage, reason, _ in got] == [
        ("explore", "teacher_server_error")
    ] * 2
    assert all(server.base_url in detail for _, _, detail in got)


def test_a_cached_help_rule_belongs_to_its_need_not_to_a_reused_id():
    """Needs are rebuilt per canvas; a freed need's id is soon another need's (CPython
    reuses the block at once). The rule cached for the first must never answer for the
    second: before the cache held its needs, this gave verdicts that changed from run to
    run."""
    from PIL import Image

    from atlas_data.ops.spec import MatchContext, Need

    judge, img = AnnotationJudge(BUDGET), Image.new("RGB", (1600, 1200))
    ctx = MatchContext((1600, 1200), BUDGET)
    count = {"purpose": "count"}
    for _ in range(20):
        nine = {"points": [[100.0 + 90 * k, 200.0] for k in range(9)]}
        two = {"points": [[100.0, 200.0], [190.0, 200.0]]}
        many = Need("point_mark", nine, "", 90.0, None, count)
        assert judge.rule(many, ctx, img).ok  # type: ignore[union-attr]
        del many
        few = Need("point_mark", two, "", 90.0, None, count)  # often at the freed address
        assert not judge.rule(few, ctx, img).ok  # type: ignore[union-attr]
