"""Each drawing's help rule says yes where the drawing helps at the budget, and no where it
does not, with its rule and numbers in the evidence; annotations become the right needs;
broken annotations become rejections."""

from __future__ import annotations

import json

import duckdb
import pytest
from PIL import Image, ImageDraw

from atlas_data.config import RunConfig
from atlas_data.ops import specs
from atlas_data.ops.spec import MatchContext, Need
from atlas_data.rejections import Rejection
from atlas_data.run.driver import run
from atlas_data.sources.coords import point_list
from atlas_data.sources.intent import intent_of
from atlas_data.sources.needs import Annotations, Mark, annotated_needs
from tests.photo_corpus import letter, pentagon
from tests.runs import run_folder

SIZE = (1600, 1200)
CTX = MatchContext(SIZE, RunConfig().budget())  # 1600 px shown at 1024: x0.64
BLANK = Image.new("RGB", SIZE, (200, 190, 160))


def verdict(need: Need, image: Image.Image = BLANK):
    m = specs()[need.op].helps(need, CTX, image)
    assert m is not None and m.evidence["rule"]
    if not m.ok:
        assert m.evidence["why"]
    return m


def needs_of(question: str, **marks) -> list[Need]:
    boxes, points = marks.get("boxes", []), marks.get("points", [])
    a = Annotations(SIZE, boxes, points, marks.get("others"), marks.get("answer", ""))
    return annotated_needs(a, intent_of(question))


# ---------------------------------------------------------------- the rules


def test_marks_help_past_a_glance_or_on_crowded_objects_not_on_two_large_discs():
    two = needs_of("How many discs are there?", points=[Mark(300, 600), Mark(1200, 600)])
    m = verdict(two[0])
    assert not m.ok and m.evidence["count"] == 2 and m.evidence["spacing_px_at_budget"] > 500
    many = [Mark(100 + 90 * k, 300 + 40 * (k % 3)) for k in range(13)]
    assert verdict(needs_of("Count the beads.", points=many)[0]).ok
    crowded = [Mark(800, 600), Mark(812, 600), Mark(806, 611)]  # 3 objects, 12 px apart
    m = verdict(needs_of("How many dots are there?", points=crowded)[0])
    assert m.ok and m.evidence["spacing_px_at_budget"] < 20


def test_crowded_points_are_zoomed_first_when_a_zoom_spreads_them():
    cluster = [Mark(800 + 11 * (k % 4), 600 + 11 * (k // 4)) for k in range(8)]
    (marks,) = needs_of("How many dots are there?", points=cluster)
    chain = specs()["point_mark"].complete(marks, CTX)
    assert [n.op for n in chain] == ["zoom", "point_mark"]
    assert chain[0].params["factor"] > 2  # sized at the budget
    few = specs()["point_mark"].complete(needs_of("How many?", points=cluster[:3])[0], CTX)
    assert [n.op for n in few] == ["zoom"]  # three objects: seen at a glance once enlarged
    pair = [Mark(10, 10), Mark(20, 10), *[Mark(200 + 150 * k, 900) for k in range(6)]]
    spread = specs()["point_mark"].complete(needs_of("Count them.", points=pair)[0], CTX)
    assert [n.op for n in spread] == ["point_mark"]  # over the whole image: no zoom separates


def test_a_line_helps_on_a_small_offset_not_a_plain_one():
    def line(dy: float) -> Need:
        pts = [Mark(300, 600, "A"), Mark(900, 600 + dy, "B")]
        (need,) = needs_of("Are A and B at the same height?", points=pts)
        return need

    small = verdict(line(7))
    assert small.ok and small.evidence["offset_px"] == 7 and small.evidence["span_px"] == 600
    plain = verdict(line(200))
    assert not plain.ok and plain.evidence["ratio"] > 0.3
    assert line(7).params == {"start": [300, 600], "end": [900, 600]}  # level, through A


def test_lines_help_compare_lengths_only_when_they_are_close():
    def segments(d: float) -> list[Need]:
        a, b = Mark(100, 100, "A"), Mark(500, 100, "B")
        pts = [a, b, Mark(100, 400, "C"), Mark(100 + 400 * d, 400, "D")]
        return needs_of("Is AB longer than CD?", points=pts)

    close = segments(1.05)
    assert [n.op for n in close] == ["aux_line", "aux_line"] and verdict(close[0]).ok
    assert not verdict(segments(1.5)[0]).ok


def test_boxes_help_compare_regions_alike_and_apart():
    def boxes(r2: float, gap: float) -> list[Need]:
        left = [300 - 22, 500 - 22, 300 + 22, 500 + 22]
        x = left[2] + gap + r2
        return needs_of(
            "Which circle is bigger?", boxes=[left, [x - r2, 500 - r2, x + r2, 500 + r2]]
        )

    alike = boxes(25, 600)
    assert [n.op for n in alike] == ["box", "box"]
    m = verdict(alike[0])
    assert m.ok and m.evidence["size_ratio"] == pytest.approx(0.88, abs=0.01)
    assert not verdict(boxes(80, 600)[0]).ok  # plainly different sizes
    touching = verdict(boxes(25, 0)[0])
    assert not touching.ok and touching.evidence["gap_in_sizes"] == 0


def test_an_arrow_helps_when_the_target_has_rivals_near_the_anchor():
    anchor, target = [700, 500, 748, 548], [830, 510, 860, 550]
    alone = needs_of("Which letter is nearest to the pentagon?", boxes=[anchor, target], others=[])
    m = verdict(alone[0])
    assert (
        not m.ok and m.evidence["others_near"] == 0 and m.evidence["counted_from"] == "annotations"
    )
    others = [[600, 620, 630, 660], [1500, 100, 1530, 140]]  # one near, one far
    rivals = needs_of(
        "Which letter is nearest to the pentagon?", boxes=[anchor, target], others=others
    )
    m = verdict(rivals[0])
    assert m.ok and m.evidence["others_near"] == 1

    def drawn(extra: list[tuple[float, float]]) -> Image.Image:  # counted from the pixels
        img = BLANK.copy()
        d = ImageDraw.Draw(img)
        pentagon(d, 724, 524, 24)
        letter(d, 845, 530, "K")
        for x, y in extra:
            letter(d, x, y, "M")
        return img

    unlisted = needs_of("Which letter is nearest to the pentagon?", boxes=[anchor, target])
    assert not verdict(unlisted[0], drawn([(1400, 1000)])).ok  # the rival is far away
    near = verdict(unlisted[0], drawn([(640, 660), (1400, 1000)]))
    assert (
        near.ok and near.evidence["counted_from"] == "pixels" and near.evidence["others_near"] == 1
    )


def test_a_small_anchor_is_boxed_before_the_arrow():
    small, target = [700, 500, 712, 512], [830, 510, 860, 550]
    (arrow,) = needs_of("What is next to the dot?", boxes=[small, target])
    chain = specs()["arrow"].complete(arrow, CTX)
    assert [n.op for n in chain] == ["box", "arrow"] and verdict(chain[0]).ok
    big = [600, 400, 760, 560]
    (arrow,) = needs_of("What is next to the square?", boxes=[big, target])
    assert [n.op for n in specs()["arrow"].complete(arrow, CTX)] == ["arrow"]


def test_a_label_helps_name_a_small_target_not_a_large_one():
    small = needs_of("Which label marks the red dot?", boxes=[[800, 600, 812, 612]], answer="K")
    assert small[0].op == "text_label" and small[0].params["text"] == "K"
    assert verdict(small[0]).ok
    large = needs_of("Which label marks the field?", boxes=[[100, 100, 900, 700]], answer="K")
    assert not verdict(large[0]).ok


def test_intent_without_fitting_annotations_falls_back_to_the_answers_region():
    (zoom,) = needs_of("How many dogs are there?", boxes=[[10, 10, 200, 200]])
    assert zoom.op == "zoom" and zoom.evidence == [10, 10, 200, 200]
    assert needs_of("How many dogs are there?") == []


# ---------------------------------------------------------------- annotations


def test_points_in_every_format_land_on_the_same_pixels():
    pixels = point_list([[400, 300], {"x": 800, "y": 900, "label": "B"}], "xy", SIZE)
    norm = point_list([[0.25, 0.25], {"x": 0.5, "y": 0.75, "label": "B"}], "xy_norm", SIZE)
    percent = point_list('[[25, 25], {"x": 50, "y": 75, "label": "B"}]', "xy_percent", SIZE)
    assert pixels == norm == percent
    assert pixels[1] == Mark(800, 900, "B")
    by_label = point_list({"A": [400, 300], "B": [800, 900]}, "xy", SIZE)
    assert [(p.label, p.x) for p in by_label] == [("A", 400), ("B", 800)]
    assert point_list(None, "xy", SIZE) == [] and point_list("", "xy", SIZE) == []


@pytest.mark.parametrize(
    ("points", "fmt", "why"),
    [
        ([[1700, 300]], "xy", "outside"),
        ([[float("nan"), 3]], "xy", "not finite"),
        ([[1, 2, 3, 4]], "xy", "must be"),
        ([["x", 2]], "xy", "numeric"),
        ([[50, 50]], "xy_norm", "within"),
        ("3, 4", "xy", "must be"),
    ],
)
def test_broken_points_are_refused_with_a_reason(points, fmt, why):
    with pytest.raises(Rejection, match=why) as exc:
        point_list(points, fmt, SIZE)
    assert exc.value.reason == "bad_points"


def test_a_count_the_points_contradict_is_refused():
    with pytest.raises(Rejection, match="3 points for the count '4'"):
        needs_of("How many?", points=[Mark(1, 1), Mark(5, 5), Mark(9, 9)], answer="4")


def test_broken_points_become_rejection_rows_and_the_run_goes_on(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    Image.new("RGB", (400, 300), (90, 140, 60)).save(root / "a.jpg")
    off_image = [[10, 10], [500, 9]]  # the second is beyond the 400 px width
    records = [
        {"image": "a.jpg", "question": "How many dots?", "answer": "2", "points": off_image},
        {"image": "a.jpg", "question": "How many ticks?", "answer": "1", "points": "[[NaN, 2]]"},
        {"image": "a.jpg", "question": "What colour is it?", "answer": "green"},
    ]
    (root / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    options = {"root": str(root), "questions": "q.jsonl"}
    config = RunConfig(source="local", source_options=options, out=str(tmp_path / "runs"))
    manifest = run(config)
    assert manifest.counts.samples == 3
    rows = duckdb.sql(
        f"select question, reason, detail from '{run_folder(config)}/rejects/*.parquet'"
    ).fetchall()
    bad = {q: (reason, detail) for q, reason, detail in rows if reason == "bad_points"}
    assert set(bad) == {"How many dots?", "How many ticks?"}
    assert "outside the 400x300 image" in bad["How many dots?"][1]
    assert "not finite" in bad["How many ticks?"][1]
