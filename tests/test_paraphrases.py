"""A paraphrase must not lose an operation the annotations call for: intent orders the
candidates, each operation's help rule at the budget decides (two labelled points: a line;
two regions alike and apart: boxes; an anchor with rivals round its target: an arrow;
many points: numbered marks). Each question is asked in at least five phrasings, most of
which no intent pattern knows."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from atlas_data.config import RunConfig
from atlas_data.dedup.kept import Kept
from atlas_data.run.stages import Sample, Stages
from atlas_data.sources.intent import intent_of
from atlas_data.sources.local import LocalSource
from atlas_data.tokens import DEFAULT_VOCABULARY
from tests.photo_corpus import align_record, compare_record, count_record, relate_record

PARAPHRASES: dict[str, tuple[Any, tuple[str, ...]]] = {
    "aux_line": (
        lambda rng: align_record(rng, False),
        (
            "Are A and B exactly at the same height?",
            "Is point B at the same vertical level as point A?",
            "Do A and B lie on one horizontal line?",
            "Would a spirit level laid from A touch B?",
            "Do the two marked points sit at equal heights?",
            "Is B neither raised nor lowered relative to A?",
        ),
    ),
    "box": (
        lambda rng: compare_record(rng, False),
        (
            "Which white circle is bigger, the left one or the right one?",
            "Does the left disc take up more room than the right one?",
            "Which disc covers more of the ground, left or right?",
            "Of the two white discs, which has more surface?",
            "Which of the pair of circles is the roomier one?",
        ),
    ),
    "arrow": (
        lambda rng: relate_record(rng, False),
        (
            "Which letter is written nearest to the red pentagon?",
            "What letter do you meet first going out from the red pentagon?",
            "What is the letter you would reach first walking out from the red pentagon?",
            "Name the letter that neighbours the red pentagon.",
            "Starting at the red pentagon, what is the letter a short hop away?",
        ),
    ),
    "point_mark": (
        lambda rng: count_record(rng, False),
        (
            "How many {c} {t} are scattered over the picture?",
            "What do the {c} {t} add up to?",
            "What is the {c} {t} headcount?",
            "Enumerate the {c} {t}: what figure do you reach?",
            "How much {c} {t} do you see, as a figure?",
        ),
    ),
}


def _records(op: str, tmp: Path, seeds: int = 1) -> list[tuple[str, dict[str, Any]]]:
    """``seeds`` scenes of the kind ``op`` is needed for, each asked every way."""
    make, phrasings = PARAPHRASES[op]
    out = []
    for seed in range(seeds):
        img, record, _ = make(random.Random(1000 + seed))
        name = f"{op}-{seed}.jpg"
        img.save(tmp / name, quality=92)
        colour = next((c for c in ("blue", "red", "yellow") if c in record["question"]), "")
        thing = {"blue": "dots", "red": "beads", "yellow": "flowers"}.get(colour, "")
        for q in phrasings:
            asked = {**record, "image": name, "question": q.format(c=colour, t=thing)}
            asked.pop("choices", None)
            out.append((q, asked))
    return out


@pytest.mark.parametrize("op", list(PARAPHRASES))
def test_every_paraphrase_keeps_the_operation_the_annotations_call_for(op, tmp_path):
    records = _records(op, tmp_path)
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for _, r in records))
    options = {"root": str(tmp_path), "questions": "q.jsonl"}
    config = RunConfig(source="local", source_options=options, out=str(tmp_path / "runs"))
    stages = Stages(config, "paraphrases", DEFAULT_VOCABULARY, Kept())
    source = LocalSource.from_options(options)
    unknown = 0
    for i, (question, _) in enumerate(records):
        unknown += not intent_of(question).kinds
        s = stages.prepare(source.sample(i), None)
        assert isinstance(s, Sample) and s.rejection is None, (question, s)
        names = [step.operation.name for step in s.steps]
        assert op in names, (question, names, s.trail)
    # most phrasings are ones the intent patterns do not know: the annotations carried them
    assert unknown >= 3, unknown
