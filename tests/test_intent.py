"""Intent detection, in one place: what a question asks for, across phrasings."""

from __future__ import annotations

import pytest

from atlas_data.sources.intent import intent_of, is_reading


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("How many blue dots are scattered over the grass?", "count"),
        ("Count the red beads on the cloth.", "count"),
        ("What is the number of yellow flowers in the photo?", "count"),
        ("How many apples? Options: (A) 3 (B) 4 (C) 5 (D) 6", "count"),
        ("Are the two red points A and B exactly at the same height?", "align"),
        ("Is point A level with point B?", "align"),
        ("Which point is higher, A or B?", "align"),
        ("Do A and B lie on the same horizontal line?", "align"),
        ("Is A directly above B?", "align"),
        ("Are A, B and C collinear?", "align"),
        ("Is segment AB longer than segment CD?", "length"),
        ("Which white circle is bigger, the left one or the right one?", "compare"),
        ("Is the left or the right circle larger? (A) left (B) right", "compare"),
        ("Which of the two boxes is smallest?", "compare"),
        ("Which letter is written nearest to the red pentagon?", "relate"),
        ("What is to the left of the lamp?", "relate"),
        ("Which node is the arrow pointing to?", "relate"),
        ("Which label marks the small red dot?", "name"),
        ("What is written on the sign?", None),
        ("What colour is the car?", None),
    ],
)
def test_the_first_kind_is_what_the_question_asks(question, first):
    kinds = intent_of(question).kinds
    assert (kinds[0] if kinds else None) == first, kinds


def test_a_question_may_match_several_kinds_in_priority_order():
    # two points: an alignment; two boxes: a relation (the need builder takes the first
    # kind the annotations can serve)
    assert intent_of("Is A above B?").kinds[:2] == ("align", "relate")
    assert intent_of("How many dots are left of the line?").kinds == ("count", "relate")


def test_labels_axis_and_reading():
    i = intent_of("Is point A level with point B?")
    assert i.labels == ("A", "B") and i.axis == "horizontal" and not i.reads
    assert intent_of("Is A directly above B?").axis == "vertical"
    assert intent_of("Are A, B and C on the same straight line?").axis == "through"
    reads = intent_of("Which letter is written nearest to the red pentagon?")
    assert reads.reads and reads.kinds[0] == "relate"
    assert is_reading("What is the title of the book?")
    assert is_reading("Anything", task="textvqa")
    assert not is_reading("How many dogs are there?")
