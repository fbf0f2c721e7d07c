"""A corpus of 30 broken or hostile inputs: no crash, one row each, a specific reason each.

The corpus goes through a real ``--source local`` run: image files in a folder and a JSONL
questions file with hostile lines. Broken inputs must each become exactly one rejection
row with the reason named below; unusual-but-valid images (palette with transparency,
EXIF-rotated, CMYK, 16-bit) must be normalised and land as kept rows with the rest of the
batch.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
from PIL import Image

from atlas_data.config import RunConfig
from atlas_data.run.driver import run
from tests.realdata_helpers import _png_with_size, encode, hostile_files, scene
from tests.runs import run_folder

QUESTION = "Which code is printed on the small tag?"


def exif_rotated_jpeg(upright: Image.Image) -> bytes:
    """A JPEG stored on its side with EXIF orientation 6: viewers show ``upright``."""
    exif = Image.Exif()
    exif[0x0112] = 6  # display = stored rotated 90 degrees clockwise
    buf = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(
        buf, format="JPEG", quality=95, exif=exif.tobytes()
    )
    return buf.getvalue()


def good_images() -> dict[str, tuple[bytes, list[int], str]]:
    """Valid files, some in unusual encodings: name -> (bytes, box of the code, code)."""
    out = {}
    for i in range(3):
        img, box, code = scene(300 + i)
        out[f"plain{i}.png"] = (encode(img), box, code)
    img, box, code = scene(310)
    palette = img.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    palette.info["transparency"] = 0
    out["palette_alpha.png"] = (encode(palette), box, code)
    img, box, code = scene(311)
    out["exif_rotated.jpg"] = (exif_rotated_jpeg(img), box, code)
    img, box, code = scene(312)
    out["cmyk.jpg"] = (encode(img.convert("CMYK"), "JPEG", quality=95), box, code)
    img, box, code = scene(313)
    gray16 = Image.fromarray(np.asarray(img.convert("L")).astype(np.uint16) * 257)
    out["gray16.png"] = (encode(gray16), box, code)
    return out


def test_thirty_hostile_inputs_one_rejection_each_and_the_batch_lands(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "img").mkdir(parents=True)
    lines: list[bytes] = []
    expected: Counter[str] = Counter()

    def add(record: dict, reason: str | None) -> None:
        lines.append(json.dumps(record).encode())
        if reason:
            expected[reason] += 1

    files = dict(hostile_files())  # 20 truncated, mislabelled, bomb, animated... files
    files["one_by_100000.png"] = (encode(Image.new("L", (1, 100_000), 255)), "extreme_aspect")
    files["zero_by_zero.png"] = (_png_with_size(0, 0), "not_an_image")
    for k, (name, (data, reason)) in enumerate(files.items()):
        (root / "img" / name).write_bytes(data)
        add({"image": f"img/{name}", "question": f"{QUESTION} ({k})", "answer": "K1"}, reason)

    good = good_images()
    for name, (data, box, code) in good.items():
        (root / "img" / name).write_bytes(data)
        add({"image": f"img/{name}", "question": QUESTION, "answer": code, "bbox": box}, None)

    plain = "img/plain0.png"
    add({"image": plain, "question": "", "answer": "K1"}, "empty_question")
    add({"image": plain, "question": "x" * 100_000, "answer": "K1"}, "question_too_long")
    add({"image": plain, "question": f"{QUESTION} (ws)", "answer": " \t\n "}, "empty_answer")
    add(
        {"image": plain, "question": f"{QUESTION} (mc)", "answer": "K", "choices": 4}, "bad_choices"
    )
    for ref, reason in (
        ("../outside.png", "path_outside_root"),
        ("/etc/passwd", "path_outside_root"),
        ("img/absent.png", "missing_image"),
    ):
        add({"image": ref, "question": f"{QUESTION} ({ref})", "answer": "K"}, reason)
    lines.append(b'{"image": "img/plain1.png", "question": "caf\xe9 \xff\xfe", "answer": "K"}')
    expected["bad_record"] += 1  # not UTF-8
    lines.append(b'{"image": "img/plain1.png", "question": ')
    expected["bad_record"] += 1  # cut-off JSON
    (root / "questions.jsonl").write_bytes(b"\n".join(lines) + b"\n")

    broken = sum(expected.values())
    assert broken >= 30 and len(good) == 7
    config = RunConfig(
        split="sft",
        n=broken + len(good),
        source="local",
        source_options={"root": str(root), "questions": "questions.jsonl"},
        out=str(tmp_path / "runs"),
        shard_size=16,
        max_pixels=4_000_000,  # the bombs in the corpus claim far more than this
    )
    manifest = run(config)

    folder = run_folder(config)
    assert manifest.complete
    assert manifest.counts.samples == broken + len(good)
    assert manifest.counts.kept == len(good), manifest.counts.rejected_by_reason
    rejects = duckdb.sql(f"select reason, detail from '{folder}/rejects/*.parquet'").fetchall()
    assert Counter(reason for reason, _ in rejects) == expected
    assert all(detail.strip() for _, detail in rejects), "every rejection says why"

    kept = duckdb.sql(
        f"select answer, images[1].bytes from '{folder}/sft/*.parquet' order by answer"
    ).fetchall()
    assert sorted(a for a, _ in kept) == sorted(code for _, _, code in good.values())
    for _, png in kept:  # every stored image is normalised: upright 8-bit RGB
        stored = Image.open(io.BytesIO(png))
        assert stored.mode == "RGB" and stored.size == (1600, 1200)
    # Files that already are upright 8-bit RGB are stored byte for byte, not re-encoded;
    # the others (rotated, palette, CMYK, 16-bit) are stored as their normalised pixels.
    by_answer = dict(kept)
    for name, (data, _, code) in good.items():
        as_is = name.startswith("plain")
        assert (by_answer[code] == data) is as_is, name
