"""One rejection vocabulary: every code a stage can raise is in the catalogue, the schema and
the docs are generated from it, and a run that exercises every stage writes only its codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from PIL import Image, ImageDraw

from atlas_data.config import RunConfig
from atlas_data.rejections import CATALOGUE, STAGES, Rejection
from atlas_data.run.driver import run
from tests.openai_server import ServerThread
from tests.realdata_helpers import encode, scene
from tests.runs import run_folder

REPO = Path(__file__).resolve().parent.parent


def test_the_catalogue_is_whole_and_refuses_what_it_does_not_list():
    for code, reason in CATALOGUE.items():
        assert re.fullmatch(r"[a-z_]+", code) and reason.meaning.endswith(".")
        assert reason.stages and set(reason.stages) <= set(STAGES), code
    with pytest.raises(ValueError, match="not in the catalogue"):
        Rejection("no_such_reason", "x")
    with pytest.raises(ValueError, match="a verify reason, not 'load'"):
        Rejection("answer_mismatch", "x", "load")
    schema = json.loads((REPO / "schemas" / "rejects_row.json").read_text())
    assert schema["properties"]["reason"]["enum"] == sorted(CATALOGUE)
    assert schema["properties"]["stage"]["enum"] == list(STAGES)
    table = (REPO / "docs" / "rejections.md").read_text()
    assert all(f"| `{code}` |" in table for code in CATALOGUE)


def test_every_code_written_in_the_source_is_catalogued():
    """Codes are literals at the place that refuses; each must be a catalogued one."""
    patterns = (
        r'Rejection\(\s*"(\w+)"',  # raised or built
        r'refused\(\s*"(\w+)"',  # a teacher's refusal
        r'\(\s*"(\w+)",\s*check_',  # a verifier
        r'return "(\w+)", (?:True|False)',  # an endpoint error, classified
    )
    found: set[str] = set()
    for path in (REPO / "atlas_data").rglob("*.py"):
        text = path.read_text()
        for pattern in patterns:
            found |= set(re.findall(pattern, text))
    assert len(found) >= 30
    assert found <= set(CATALOGUE), found - set(CATALOGUE)


def test_a_run_through_every_stage_writes_only_catalogued_codes(tmp_path, monkeypatch):
    """Load (a broken file, an empty question), explore (nothing to try), teach (a malformed
    answer), verify (the teacher, not told the answer, answers wrongly) and dedup (the same
    sample twice): every row's reason is in the catalogue, at one of its stages."""
    root = tmp_path / "photos"
    root.mkdir()
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    records = [
        {"image": "broken.png", "question": "Which code is on the tag?", "answer": "X"},
        {"image": "a.png", "question": "", "answer": "X"},
    ]
    for i in range(3):
        img, box, code = scene(40 + i)
        (root / f"s{i}.png").write_bytes(encode(img))
        records.append(
            {
                "image": f"s{i}.png",
                "question": "Which code is printed on the small tag?",
                "answer": code,
                "bbox": box,
            }
        )
    whole = Image.new("RGB", (800, 600), (40, 120, 200))
    (root / "a.png").write_bytes(encode(whole))
    # no box and no proposer that looks for itself: explore has nothing to try
    records.append({"image": "a.png", "question": "What colour is it?", "answer": "blue"})
    # a benchmark's own image: kept out before any work (stage filter)
    bench = tmp_path / "benchmark"
    bench.mkdir()
    img, _, code = scene(99)
    (bench / "b.png").write_bytes(encode(img))
    (root / "b.png").write_bytes(encode(img))
    records.append({"image": "b.png", "question": "Which code is on it?", "answer": code})
    # the stand-in, not told the answer, says "unknown": right for this tag, so kept once, and
    # the same sample again is a duplicate
    img, (x0, y0, _, _), _ = scene(77)
    box = [x0, y0, x0 + 50, y0 + 18]
    ImageDraw.Draw(img).rectangle(box, fill="white")
    ImageDraw.Draw(img).text((x0 + 4, y0 + 4), "UNKNOWN", fill="black")
    (root / "twice.png").write_bytes(encode(img))
    question = "Which word is printed on the small tag?"
    twice = {"image": "twice.png", "question": question, "answer": "unknown", "bbox": box}
    records += [twice, twice]
    (root / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with ServerThread() as server:
        server.state.plan.append("malformed")  # the first teaching request
        config = RunConfig(
            source="local",
            source_options={"root": str(root), "questions": "q.jsonl"},
            teacher="openai",
            teacher_options={
                "model": "stand-in-vlm",
                "base_url": server.base_url,
                "cache_dir": None,
                "hint_answer": False,  # the stand-in then answers "unknown": wrong
                "backoff": 0.05,
            },
            proposers=["boxes"],
            direct_share=0.0,
            decontaminate=[str(bench)],
            out=str(tmp_path / "runs"),
        )
        manifest = run(config)
    assert manifest.counts.kept == 1
    rows = duckdb.sql(
        f"select stage, reason from '{run_folder(config)}/rejects/*.parquet'"
    ).fetchall()
    assert len(rows) == len(records) - 1
    for stage, reason in rows:
        assert reason in CATALOGUE and stage in CATALOGUE[reason].stages, (stage, reason)
    assert {stage for stage, _ in rows} == set(STAGES)
    reasons = {reason for _, reason in rows}
    assert {"empty_question", "no_candidates", "teacher_malformed", "contaminated"} <= reasons
    assert "answer_mismatch" in reasons
