import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from atlas_data.ops import Operation, specs
from atlas_data.ops.params import MAX_OUTPUT_SIDE


def gradient(w=320, h=240) -> Image.Image:
    x = np.arange(w, dtype=np.uint8)[None, :].repeat(h, 0)
    y = np.arange(h, dtype=np.uint8)[:, None].repeat(w, 1)
    return Image.fromarray(np.stack([x, y, (x ^ y)], axis=-1), "RGB")


def px(img: Image.Image) -> np.ndarray:
    return np.asarray(img).astype(int)


def test_zoom_factor_one_returns_exactly_the_box_pixels():
    img = gradient()
    out = Operation("zoom", {"box": [10, 20, 110, 70], "factor": 1}).apply(img)
    assert out.size == (100, 50)
    assert np.array_equal(px(out), px(img)[20:70, 10:110])


def test_zoom_magnifies_those_pixels():
    img = gradient()
    out = Operation("zoom", {"box": [40, 40, 80, 60], "factor": 4}).apply(img)
    assert out.size == (160, 80)
    back = out.resize((40, 20), Image.Resampling.BOX)
    assert np.abs(px(back) - px(img)[40:60, 40:80]).mean() < 2.0


def test_aux_line_draws_on_the_segment_and_nowhere_else():
    img = Image.new("RGB", (200, 100), "white")
    out = Operation("aux_line", {"start": [10, 50], "end": [190, 50], "width": 3}).apply(img)
    a = px(out)
    assert (a[50, 20:180] == [255, 0, 0]).all()
    assert (a[10] == 255).all() and (a[90] == 255).all()
    assert px(img).min() == 255, "input image must not be mutated"


def test_arrow_head_is_at_the_end_point():
    img = Image.new("RGB", (200, 100), "white")
    out = px(Operation("arrow", {"start": [10, 50], "end": [150, 50], "width": 2}).apply(img))
    red = (out[..., 0] > 200) & (out[..., 1] < 60)
    cols = np.where(red.any(axis=0))[0]
    assert cols.min() <= 12 and 145 <= cols.max() <= 151
    # the head is wider than the shaft
    assert red[:, 145].sum() > red[:, 60].sum()


def test_box_outlines_the_box():
    img = Image.new("RGB", (100, 100), "white")
    out = px(Operation("box", {"box": [20, 30, 60, 80], "width": 2}).apply(img))
    assert (out[30, 20:60] == [255, 0, 0]).all()  # top edge
    assert (out[79, 20:60] == [255, 0, 0]).all()  # bottom edge
    assert (out[50, 40] == 255).all()  # inside untouched


def test_point_mark_marks_each_point():
    img = Image.new("RGB", (300, 300), "white")
    pts = [[50, 50], [150, 200], [250, 100]]
    out = px(Operation("point_mark", {"points": pts, "numbered": False}).apply(img))
    for x, y in pts:
        assert (out[y, x] == [255, 0, 0]).all()
    assert (out[5, 5] == 255).all()


def test_text_label_writes_ink_near_the_position():
    img = Image.new("RGB", (300, 200), "white")
    out = px(Operation("text_label", {"position": [100, 100], "text": "AB=5"}).apply(img))
    ys, xs = np.where((out != 255).any(axis=-1))
    assert xs.min() >= 95 and ys.min() >= 95


@pytest.mark.parametrize(
    "name,params,match",
    [
        ("zoom", {"box": [10, 10, 5, 20]}, "ordered"),
        ("zoom", {"box": [0, 0, 400, 10]}, "inside"),
        ("zoom", {"box": [0, 0, 50, 50], "factor": 100}, "factor"),
        ("zoom", {"box": [0, 0, 50, 50], "factor": float("nan")}, "finite"),
        ("zoom", {"box": [0, 0, 1, 1]}, "smaller"),
        ("aux_line", {"start": [5, 5], "end": [5, 6]}, "degenerate"),
        ("aux_line", {"start": [5, 5], "end": [5000, 6]}, "outside"),
        ("arrow", {"start": [5, 5], "end": [50, 50], "head": 1000}, "head"),
        ("box", {"box": [1, 2, 3]}, "x0"),
        ("point_mark", {"points": []}, "non-empty"),
        ("text_label", {"position": [1, 1], "text": ""}, "characters"),
        ("aux_line", {"start": [1, 1], "end": [50, 50], "color": "notacolour"}, "colour"),
        ("zoom", {"box": [0, 0, 10, 10], "bogus": 1}, "bad parameters"),
    ],
)
def test_invalid_parameters_raise_value_error(name, params, match):
    with pytest.raises(ValueError, match=match):
        Operation(name, params).apply(gradient())


def test_zoom_output_is_bounded():
    img = Image.new("RGB", (2000, 2000))
    with pytest.raises(ValueError, match="exceeds"):
        Operation("zoom", {"box": [0, 0, 1000, 1000], "factor": 8}).apply(img)


coords = st.floats(min_value=-50, max_value=400) | st.sampled_from([math.nan, math.inf])


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(["zoom", "aux_line", "arrow", "box", "point_mark", "text_label"]),
    a=st.lists(coords, min_size=4, max_size=4),
    factor=st.floats(min_value=-2, max_value=20) | st.just(math.nan),
    text=st.text(max_size=80),
)
def test_any_parameters_give_bounded_deterministic_output_or_value_error(name, a, factor, text):
    img = gradient()
    params = {
        "zoom": {"box": a, "factor": factor},
        "aux_line": {"start": a[:2], "end": a[2:]},
        "arrow": {"start": a[:2], "end": a[2:]},
        "box": {"box": a},
        "point_mark": {"points": [a[:2], a[2:]]},
        "text_label": {"position": a[:2], "text": text},
    }[name]
    op = Operation(name, params)
    try:
        out = op.apply(img)
    except ValueError:
        return
    assert max(out.size) <= MAX_OUTPUT_SIDE and min(out.size) >= 1
    assert out.mode == "RGB"
    assert out.tobytes() == op.apply(img).tobytes()
    assert all(math.isfinite(v) for v in a[:2])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(specs())),  # every operation, including ones added later
    params=st.dictionaries(
        st.sampled_from(sorted({p for s in specs().values() for p in s.params} | {"x"})),
        json_values,
    ),
)
def test_malformed_parameters_raise_value_error_and_nothing_else(name, params):
    """Whatever a teacher or a dataset hands over, a bad call is a ValueError, never a crash."""
    try:
        out = Operation(name, params).apply(gradient())
    except ValueError:
        return
    assert max(out.size) <= MAX_OUTPUT_SIDE and out.mode == "RGB"


def test_load_image_keeps_the_input_bytes_only_when_they_are_already_normalised():
    import io

    from atlas_data.ops.image_io import load_image

    def encoded(img: Image.Image, fmt: str, **kw) -> bytes:
        buf = io.BytesIO()
        img.save(buf, format=fmt, **kw)
        return buf.getvalue()

    rgb = gradient()
    jpeg = encoded(rgb, "JPEG", quality=90)
    assert load_image(jpeg).original == jpeg  # stored as is: no PNG many times its size
    assert load_image(encoded(rgb, "PNG")).original is not None
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = encoded(rgb, "JPEG", exif=exif.tobytes())
    assert load_image(rotated).original is None  # pixels change on load: re-encode
    assert load_image(encoded(rgb.convert("RGBA"), "PNG")).original is None
    assert load_image(encoded(rgb.convert("L"), "PNG")).original is None
