"""The trainee's budget is one :class:`Budget`, built by ``RunConfig.budget()`` and passed to
every consumer (no consumer has a 1024 of its own), and the legibility rule that decides
whether a zoom helps is one rule, the zoom spec's ``match`` and the OCR judge alike."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import atlas_data
from atlas_data import config
from atlas_data.config import ZOOM_GAIN, Budget, RunConfig
from atlas_data.explore import build_judges, build_proposers
from atlas_data.explore.judges.annotation import AnnotationJudge
from atlas_data.explore.judges.flip import AnswerFlipJudge
from atlas_data.explore.judges.ocr import OCRJudge
from atlas_data.explore.proposers.grounding import Grounding
from atlas_data.explore.proposers.salient import Salient
from atlas_data.explore.proposers.scan import Scan
from atlas_data.explore.proposers.text import TextRegions
from atlas_data.explore.text import TextEvidence
from atlas_data.llm import EndpointConfig
from atlas_data.ops import Operation, spec_of
from atlas_data.ops.spec import MatchContext, Need
from atlas_data.ops.zoom import legibility
from atlas_data.sources.base import SourceSample
from atlas_data.teacher import build_teacher
from atlas_data.teacher.openai import OpenAITeacher, TeacherOptions
from atlas_data.teacher.template import TemplateTeacher

PACKAGE = Path(atlas_data.__file__).parent
BUDGET = RunConfig().budget()  # 1024 px, reading 10 px
ENDPOINT = {"model": "stand-in", "base_url": "http://127.0.0.1:9/v1"}  # never asked


def sources() -> list[tuple[str, str]]:
    return [
        (str(p.relative_to(PACKAGE)), p.read_text(encoding="utf-8"))
        for p in sorted(PACKAGE.rglob("*.py"))
    ]


def test_only_the_run_config_knows_the_default_budget_and_builds_one():
    """No module but config.py names the default side or builds a Budget from numbers: every
    consumer receives the run's."""
    names = [f for f, text in sources() if "DEFAULT_BUDGET_SIDE" in text]
    assert names == ["config.py"]
    built = [f for f, text in sources() if re.search(r"\bBudget\(", text)]
    assert built == ["config.py"]
    text = (PACKAGE / "config.py").read_text(encoding="utf-8")
    assert len(re.findall(r"\bBudget\(", text)) == 1  # in RunConfig.budget()
    assert not [f for f, text in sources() if re.search(r"\bimage_side\b", text)]


def test_a_budget_is_a_required_argument_everywhere(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    endpoint = EndpointConfig.from_options(ENDPOINT)
    for make in (
        Budget,
        Scan,
        Salient,
        TextRegions,
        AnnotationJudge,
        OCRJudge,
        lambda: Grounding(endpoint),  # type: ignore[call-arg]
        lambda: AnswerFlipJudge(endpoint),  # type: ignore[call-arg]
        lambda: OpenAITeacher(TeacherOptions.from_options(ENDPOINT)),  # type: ignore[call-arg]
    ):
        with pytest.raises(TypeError):
            make()


def test_the_run_builds_every_judge_proposer_and_the_teacher_at_its_budget(monkeypatch):
    """``--budget-side 768``: each judge, proposer and the teacher holds the run's Budget."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    run = RunConfig(
        budget_side=768,
        reading_px=12.0,
        teacher="openai",
        teacher_options=ENDPOINT,
        judges=["annotation", "ocr", "flip"],
        proposers=["scan", "text", "salient", "grounding"],
        judge_model="stand-in-judge",
    )
    budget = run.budget()
    assert budget == Budget(768, 12.0)
    judges, proposers = build_judges(run), build_proposers(run)
    assert [j.name for j in judges] == ["annotation", "ocr", "flip"]
    assert [p.name for p in proposers] == ["scan", "text", "salient", "grounding"]
    for part in (*judges, *proposers):
        assert getattr(part, "budget") == budget, part.name  # noqa: B009
    assert build_teacher("openai", ENDPOINT, budget).budget == budget
    assert build_teacher("template", {}, budget).budget is None  # it reads no image
    assert TemplateTeacher().budget is None
    # the proposers' zooms fill the 768 px view, not 1024
    canvas = Image.new("RGB", (1600, 1200), "white")
    sample = SourceSample("s", canvas, "What is written?", "x", "small_text", "t")
    ops = Scan(budget).propose(sample, canvas)
    for op in ops:
        b, f = op.params["box"], op.params["factor"]
        assert f == pytest.approx(min(8, max(1, 768 / max(b[2] - b[0], b[3] - b[1]))), abs=1e-3)
    assert any(op.params["factor"] > 1 for op in ops)


# -- one legibility rule ---------------------------------------------------------------------

SIZE = (1024, 768)  # shown as it is: canvas pixels are budget pixels
TEXT_BOX = (100.0, 100.0, 300.0, 120.0)
GLYPH = 9.0  # just under the 10 px reading size


def zoom(factor: float) -> Operation:
    return Operation("zoom", {"box": [0, 0, 600, 400], "factor": factor})


def by_spec(op: Operation, glyph: float = GLYPH) -> bool:
    need = Need("zoom", {}, "the label", glyph, list(TEXT_BOX))
    return spec_of("zoom").match(dict(op.params), need, MatchContext(SIZE, BUDGET)).ok


def by_ocr(
    op: Operation, monkeypatch: pytest.MonkeyPatch, glyph: float = GLYPH
) -> tuple[bool, dict[str, Any]]:
    judge = OCRJudge(BUDGET, engine=None)  # type: ignore[arg-type]
    found = TextEvidence([], TEXT_BOX, "x", glyph)
    monkeypatch.setattr(judge, "evidence", lambda sample, canvas: found)
    canvas = Image.new("RGB", SIZE, "white")
    sample = SourceSample("s", canvas, "What does the label say?", "x", "small_text", "t")
    verdict = judge.screen(sample, canvas, op)
    assert verdict is not None
    return verdict.helpful, verdict.evidence


@pytest.mark.parametrize(
    ("factor", "helps"),
    [
        (10.5 / GLYPH, False),  # 9 -> 10.5 px: over the reading size, but only x1.17
        (1.5, True),  # 9 -> 13.5 px: legible, x1.5
        (1.0, False),  # 9 -> 9 px: still too small
    ],
)
def test_the_zoom_spec_and_the_ocr_judge_rule_alike(factor, helps, monkeypatch):
    seen = legibility(GLYPH, SIZE, zoom(factor).params, BUDGET)
    assert not seen.legible and seen.lifted == helps
    assert by_spec(zoom(factor)) == helps
    ok, evidence = by_ocr(zoom(factor), monkeypatch)
    assert ok == helps, evidence
    if factor == 10.5 / GLYPH:  # refused for the gain alone, by both
        assert seen.after >= BUDGET.reading_px and seen.after < seen.before * ZOOM_GAIN
        assert evidence["glyph_px_after"] >= BUDGET.reading_px
        assert f"{ZOOM_GAIN:g} times" in evidence["why"]


def test_both_paths_read_the_one_gain(monkeypatch):
    """Raise the rule's gain and a zoom both paths accepted is refused by both."""
    assert by_spec(zoom(1.5)) and by_ocr(zoom(1.5), monkeypatch)[0]
    monkeypatch.setattr(config, "ZOOM_GAIN", 2.0)
    assert not by_spec(zoom(1.5))
    assert not by_ocr(zoom(1.5), monkeypatch)[0]


def test_evidence_already_legible_is_never_zoomed_by_either_path(monkeypatch):
    assert BUDGET.legibility(10.0, SIZE).legible
    assert not by_spec(zoom(3), glyph=10.0)
    ok, evidence = by_ocr(zoom(3), monkeypatch, glyph=10.0)
    assert not ok and "already legible" in evidence["why"]
