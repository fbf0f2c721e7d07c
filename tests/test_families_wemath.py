"""The WeMath-style families ``parallel_lines`` and ``angle_compare``: each answer read from
the STORED pixels (the camera's JPEG as it is), the directions of the drawn ink fitted from
those pixels, not taken from the generator; and each need checked against them: where it
acts, and that what it shows is visible at the budget after it runs."""

from __future__ import annotations

import math

import numpy as np

from atlas_data.ops.aux_line import ALIGN
from atlas_data.ops.image_io import downscale_to
from atlas_data.ops.spec import Need
from atlas_data.sources.scenes.wemath_sheet import heading, ink_angle, line_diff
from tests.family_pixels import BUDGET, completed, run_chain, samples, stored

SIDE = 1024
VISIBLE = 5.0  # budget px: a gap this wide between a construction and the ink is seen


def at_budget(needs: list[Need], a: np.ndarray) -> tuple[np.ndarray, float]:
    """Every need run for real, each on the previous result, shown at the budget; and the
    scale from source to budget pixels."""
    canvas = run_chain(needs, a)
    scale = SIDE / max(canvas.size)
    return np.asarray(downscale_to(canvas, SIDE)).astype(int), scale


def red_distance(a: np.ndarray, p: tuple[float, float]) -> float:
    """Distance from ``p`` to the nearest red (drawn) pixel of ``a``."""
    ys, xs = np.nonzero((a[..., 0] > 160) & (a[..., 1] < 100) & (a[..., 2] < 100))
    assert len(xs), "nothing red was drawn"
    return float(np.min(np.hypot(xs - p[0], ys - p[1])))


def directed(a: np.ndarray, p: list[int], q: list[int]) -> float:
    """The direction p->q of the ink between them, fitted from the pixels (degrees)."""
    fit = ink_angle(a, p, q)
    guess = heading(p, q)
    return min((fit, fit + 180), key=lambda c: abs((c - guess + 180) % 360 - 180)) % 360


def opening(a: np.ndarray, v: list[int], p: list[int], q: list[int]) -> float:
    """The angle at ``v`` between the inked arms towards ``p`` and ``q`` (degrees)."""
    d = abs(directed(a, v, p) - directed(a, v, q)) % 360
    return min(d, 360 - d)


def test_parallel_lines_answer_follows_the_inked_directions_and_the_line_shows_the_drift():
    variants = set()
    for s in samples("parallel_lines", 14):
        a, ann = stored(s), s.annotations
        ends, names = ann["ends"], ann["segments"]
        dirs = {nm: ink_angle(a, ends[nm[0]], ends[nm[1]]) for nm in names}
        turn = {nm: line_diff(dirs[nm], dirs["AB"]) for nm in names[1:]}
        parallel = [nm for nm, t in turn.items() if t < 0.6]
        if ann["which"]:
            assert parallel == [s.answer], (turn, s.answer)
            asked_turns = [t for nm, t in turn.items() if nm != s.answer]
        else:
            assert s.answer == ("yes" if "CD" in parallel else "no"), (turn, s.answer)
            asked_turns = [turn["CD"]] if s.answer == "no" else []
        assert all(t > 1.2 for t in asked_turns)  # the others really converge
        variant = ann["variant"]
        variants.add(variant)
        needs = completed(s, [a])
        if variant == "easy":  # plain at a glance: the wrong ones turn by 20 degrees or more
            assert ann["easy"] and [n.op for n in needs] == ["zoom"]
            assert min(asked_turns) > 20
            continue
        line = needs[0]
        assert line.op == "aux_line"
        ratio = line.measure["offset_px"] / line.measure["span_px"]  # type: ignore[index]
        if variant == "hard":  # under aux_line's rule: the eye cannot settle the drift
            assert all(t < math.degrees(math.asin(ALIGN)) for t in asked_turns)
            assert ratio < ALIGN
        else:
            assert ratio >= ALIGN and min(asked_turns) > 6
        asked = ann["asked"]
        p, q = ends[asked[0]], ends[asked[1]]
        assert line.params["start"] == p
        drawn = heading(line.params["start"], line.params["end"])
        assert line_diff(drawn, dirs["AB"]) < 0.4  # parallel to AB as inked
        shown, k = at_budget(needs[:1], a)
        gap = red_distance(shown, (q[0] * k, q[1] * k))
        if asked in parallel:
            assert gap <= 2.5, gap  # the line runs along the segment to its far end
        else:
            assert gap >= VISIBLE, gap  # the drift opens into a visible gap
        if ann["which"]:  # then the far end, where line and segment meet, is boxed
            assert needs[1].op == "box"
            x0, y0, x1, y1 = needs[1].params["box"]
            assert x0 < q[0] < x1 and y0 < q[1] < y1 and not (x0 < p[0] < x1 and y0 < p[1] < y1)
    assert variants == {"easy", "hard", "plain"}


def test_angle_compare_answer_follows_the_inked_arms_and_the_constructions_show_it():
    kinds = set()
    for s in samples("angle_compare", 16):
        a, ann = stored(s), s.annotations
        needs = completed(s, [a])
        verts = ann["vertices"]
        kinds.add((ann["kind"], ann["easy"]))
        if ann["kind"] == "classify":
            u, v, w = (verts[c] for c in ann["angle"])
            alpha = opening(a, v, u, w)
            kind = "right" if abs(alpha - 90) < 1 else "acute" if alpha < 90 else "obtuse"
            assert kind == s.answer, (alpha, s.answer)
            if ann["easy"]:
                assert abs(alpha - 90) > 20 and [n.op for n in needs] == ["zoom"]
                continue
            assert abs(alpha - 90) < 6.5  # near a right angle: the eye cannot settle it
            box, label = needs[0], needs[1]
            assert box.op == "box" and label.params["text"] == s.answer
            x0, y0, x1, y1 = box.params["box"]
            assert abs(y1 - 1 - v[1]) <= 1 and (abs(x1 - 1 - v[0]) <= 1 or abs(x0 - v[0]) <= 1)
            inner = x0 if abs(x1 - 1 - v[0]) <= 1 else x1 - 1  # the box's side away from v
            edge = x1 - 1 if inner == x0 else x0  # the square's upright edge at v
            # where the inked arm crosses the square's top, from the fitted direction
            arm = directed(a, v, w)
            top_x = v[0] + (v[1] - y0) / math.tan(math.radians(360 - arm))
            off = top_x - edge
            inside = (off < 0) == (inner < edge)
            if s.answer == "right":
                assert abs(off) < 3
            else:
                assert (
                    inside == (s.answer == "acute")
                    and abs(off) * BUDGET.scale((a.shape[1], a.shape[0])) >= VISIBLE
                )
            shown, k = at_budget(needs[:1], a)
            assert red_distance(shown, (edge * k, y0 * k)) <= 2  # the square is drawn
        else:
            arms = ann["arms"]
            degrees = {nm: opening(a, verts[nm], *arms[nm]) for nm in verts}
            pick = max if ann["largest"] else min
            best = pick(degrees, key=lambda nm: degrees[nm])
            assert best == s.answer, (degrees, s.answer)
            others = sorted(abs(degrees[nm] - degrees[best]) for nm in degrees if nm != best)
            if ann["easy"]:
                assert others[0] > 18 and [n.op for n in needs] == ["zoom"]
                continue
            assert 1.8 < others[0] < 5.5  # two nearly equal angles
            line, arrow = needs[0], needs[1]
            onto, copied = ann["onto"], ann["copied"]
            assert line.op == "aux_line" and line.params["start"] == verts[onto]
            copied_arm = directed(a, verts[copied], arms[copied][1])
            drawn = heading(line.params["start"], line.params["end"])
            assert abs((drawn - copied_arm + 180) % 360 - 180) < 0.5
            # the arrow comes from outside the angle and ends at the answer's vertex
            v = verts[s.answer]
            assert arrow.op == "arrow" and math.dist(arrow.params["end"], v) < 20
            outward = heading(v, arrow.params["start"])
            rising = directed(a, v, arms[s.answer][1])
            level = directed(a, v, arms[s.answer][0])
            assert all(abs((outward - d + 180) % 360 - 180) > 90 for d in (rising, level))
            tip = arms[onto][1]
            shown, k = at_budget(needs[:1], a)
            assert red_distance(shown, (tip[0] * k, tip[1] * k)) >= VISIBLE
    assert {("classify", False), ("compare", False)} <= kinds
    assert any(easy for _, easy in kinds)
