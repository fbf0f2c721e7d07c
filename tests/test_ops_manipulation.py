"""rotate and contrast: the two manipulations beside zoom that the design page names under
``<|Manip|>``. Each is one spec file in ``atlas_data/ops``; these tests are all they add."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from atlas_data.cli import app
from atlas_data.config import RunConfig
from atlas_data.explore.judges.annotation import AnnotationJudge
from atlas_data.ops import Operation, spec_of
from atlas_data.ops.spec import Need
from atlas_data.sources.base import SourceSample
from atlas_data.tokens import DEFAULT_VOCABULARY
from atlas_data.trajectory.judgement import Judgement
from atlas_data.trajectory.model import Step, Trajectory
from atlas_data.trajectory.verify import Candidate, verify


def marked(w: int = 120, h: int = 80) -> Image.Image:
    """A grey image with one red pixel near the top-left corner."""
    img = Image.new("RGB", (w, h), (128, 128, 128))
    img.putpixel((10, 5), (255, 0, 0))
    return img


def red_at(img: Image.Image) -> tuple[int, int]:
    arr = np.asarray(img)
    ys, xs = np.nonzero((arr[..., 0] == 255) & (arr[..., 1] == 0))
    assert len(xs) == 1
    return int(xs[0]), int(ys[0])


def test_tokens_lists_rotate_and_contrast_under_manip():
    out = CliRunner().invoke(app, ["tokens", "--format", "json"])
    assert out.exit_code == 0, out.output
    ops = {o["name"]: o for o in json.loads(out.output)["operations"]}
    assert ops["rotate"]["token"] == ops["contrast"]["token"] == ops["zoom"]["token"]
    assert ops["rotate"]["token"] == "<|Manip|>"
    assert ops["rotate"]["params"]["required"] == ["angle"]
    assert ops["rotate"]["params"]["properties"]["angle"] == {
        "type": "number",
        "minimum": -180,
        "maximum": 180,
    }
    assert ops["contrast"]["params"]["required"] == []


def test_rotate_quarter_turns_move_pixels_where_geometry_says():
    img = marked()
    ccw = Operation("rotate", {"angle": 90}).apply(img)
    assert ccw.size == (80, 120)
    assert red_at(ccw) == (5, 120 - 1 - 10)  # (x, y) -> (y, W - 1 - x)
    cw = Operation("rotate", {"angle": -90}).apply(img)
    assert red_at(cw) == (80 - 1 - 5, 10)
    half = Operation("rotate", {"angle": 180}).apply(img)
    assert half.size == img.size and red_at(half) == (120 - 1 - 10, 80 - 1 - 5)


def test_rotate_by_an_odd_angle_grows_the_canvas_and_keeps_every_pixel():
    img = Image.new("RGB", (200, 100), (0, 0, 0))
    out = Operation("rotate", {"angle": 30}).apply(img)
    assert out.size[0] > 200 and out.size[1] > 100  # the corners are kept, not cropped
    arr = np.asarray(out)
    assert (arr.sum(axis=2) < 60).sum() >= 0.95 * 200 * 100  # all the black survives
    assert tuple(arr[0, 0]) == (255, 255, 255)  # new corners are filled white


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"angle": 200}, "angle"),
        ({"angle": "90"}, "number"),
        ({"angle": True}, "number"),
        ({"angle": float("nan")}, "finite"),
        ({}, "bad parameters"),
        ({"angle": 10, "expand": False}, "bad parameters"),
    ],
)
def test_rotate_refuses_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        Operation("rotate", params).apply(marked())


def test_contrast_stretches_the_region_only():
    rng = np.random.default_rng(0)
    flat = rng.integers(110, 146, size=(60, 90, 3), dtype=np.uint8)  # washed-out
    img = Image.fromarray(flat, "RGB")
    whole = np.asarray(Operation("contrast", {"factor": 3}).apply(img)).astype(float)
    assert whole.std() > 2.5 * flat.std()
    region = np.asarray(Operation("contrast", {"factor": 3, "box": [0, 0, 45, 60]}).apply(img))
    assert np.array_equal(region[:, 45:], flat[:, 45:])  # outside the box: untouched
    assert region[:, :45].astype(float).std() > 2.5 * flat[:, :45].std()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"factor": 0.5}, "factor"),
        ({"factor": 9}, "factor"),
        ({"factor": 2, "box": [50, 0, 10, 20]}, "ordered box"),
        ({"factor": 2, "box": [0, 0, 500, 20]}, "inside"),
        ({"factor": 2, "region": [0, 0, 5, 5]}, "bad parameters"),
    ],
)
def test_contrast_refuses_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        Operation("contrast", params).apply(marked())


def sample(need: Need) -> SourceSample:
    return SourceSample(
        "s", marked(), "What does the sideways label say?", "x", "t", "t", needs=[need]
    )


def test_annotation_judge_accepts_the_needed_turn_and_refuses_the_wrong_ones():
    s = sample(Need("rotate", {"angle": 90}, "the label reads upright"))
    judge = AnnotationJudge(RunConfig().budget())
    assert judge.judge(s, marked(), Operation("rotate", {"angle": 92}), None).helpful
    for wrong in (-90, 180, 45):
        verdict = judge.judge(s, marked(), Operation("rotate", {"angle": wrong}), None)
        assert verdict is not None and not verdict.helpful, wrong
    # the spec's own distractors are all wrong turns
    from atlas_data.ops.spec import ProposeContext

    ctx = ProposeContext(marked().size, [], __import__("random").Random(0))
    assert all(
        not judge.judge(s, marked(), Operation("rotate", p), None).helpful
        for p in spec_of("rotate").variants({"angle": 90}, ctx)
    )


def test_annotation_judge_wants_the_needed_region_for_contrast():
    s = sample(Need("contrast", {"factor": 2.5, "box": [0, 0, 40, 40]}, "the print shows"))
    judge = AnnotationJudge(RunConfig().budget())
    right = Operation("contrast", {"factor": 2.5, "box": [0, 0, 42, 40]})
    assert judge.judge(s, marked(), right, None).helpful
    whole = Operation("contrast", {"factor": 2.5})
    assert not judge.judge(s, marked(), whole, None).helpful  # not where it is needed
    weak = Operation("contrast", {"factor": 1.25, "box": [0, 0, 40, 40]})
    assert not judge.judge(s, marked(), weak, None).helpful


@pytest.mark.parametrize(
    ("op", "described"),
    [
        (Operation("rotate", {"angle": -90}), "rotate the image 90 degrees clockwise"),
        (Operation("contrast", {"factor": 2, "box": [0, 0, 9, 9]}), "contrast of a region x2"),
    ],
)
def test_both_render_as_manip_in_the_functional_form_and_as_calls_in_the_agentic(op, described):
    assert described in spec_of(op.name).describe(dict(op.params))
    ok = Judgement(True, 1.0, "annotation", {"reveals": "the label reads KX4"})
    traj = Trajectory(
        question="What does the label say?",
        preamble="The label is hard to read as it is.",
        steps=[Step("I will fix that first.", op, "Now the label reads KX4.", ok)],
        conclusion="So it says KX4.",
        answer="KX4",
    )
    functional = traj.functional(DEFAULT_VOCABULARY, "atlas")
    assert "<|Manip|>" in functional.text.splitlines()
    assert [s.operation for s in functional.spans] == [op.name]
    agentic = traj.agentic("atlas").text
    assert f'"name": "{op.name}"' in agentic and "<|Manip|>" not in agentic
    candidate = Candidate(traj, functional.text, agentic, "KX4", DEFAULT_VOCABULARY, "atlas")
    assert verify(candidate) is None
