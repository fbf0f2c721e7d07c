"""Real-data sources: HF datasets (save_to_disk, Parquet, streaming) and local folders."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image
from realdata_helpers import HF_MAP, SIZE, encode, hf_dataset, hostile_files, save_hf, scene

from atlas_data.config import RunConfig
from atlas_data.explore.search import complete_needs
from atlas_data.rejections import Rejection
from atlas_data.run.driver import run
from atlas_data.sources import build_source
from atlas_data.sources.base import SourceRejection, SourceSample
from atlas_data.sources.choices import normalize_choices, resolve_answer
from atlas_data.sources.coords import to_xyxy
from atlas_data.sources.hf import HFSource
from atlas_data.sources.local import LocalSource
from atlas_data.store.run import open_run
from tests.runs import run_folder


def rows(pattern: Path) -> list[tuple]:
    return duckdb.sql(f"select id, reason, detail from '{pattern}' order by id").fetchall()


# ------------------------------------------------------------------ HF


@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "xyxy_norm", "xywh_norm", "cxcywh_norm"])
def test_every_box_format_gives_the_same_pixel_box_and_a_zoom_need(tmp_path, fmt):
    path = save_hf(tmp_path / "ds", 3, bbox_format=fmt)
    src = HFSource.from_options({"dataset": str(path), "map": HF_MAP, "bbox_format": fmt})
    for i in range(3):
        item = src.sample(i)
        _, box, code = scene(i)
        assert isinstance(item, SourceSample), item
        assert item.answer == code and item.annotations["boxes"] == [box]
        (need,) = complete_needs(item, SIZE, RunConfig().budget()).needs
        zoom = need.params["box"]
        assert need.op == "zoom" and need.params["factor"] > 1
        assert zoom[0] <= box[0] and zoom[1] <= box[1] and zoom[2] >= box[2] and zoom[3] >= box[3]


def test_box_conventions_refuse_wrong_formats():
    with pytest.raises(Rejection, match="not normalised"):
        to_xyxy([100, 100, 200, 200], "xyxy_norm", (1600, 1200))
    with pytest.raises(Rejection, match="no area"):
        to_xyxy([100, 100, 50, 50], "xyxy", (1600, 1200))  # xywh read as xyxy
    with pytest.raises(Rejection, match="outside"):
        to_xyxy([5000, 5000, 5100, 5100], "xyxy", (1600, 1200))


def test_hf_save_to_disk_runs_with_column_map_and_stable_ids(tmp_path):
    path = save_hf(tmp_path / "ds", 6)
    opts = {"dataset": str(path), "map": HF_MAP}
    config = RunConfig(
        split="both", n=50, source="hf", source_options=opts, out=str(tmp_path), shard_size=4
    )
    manifest = run(config)
    # n larger than the dataset: the run takes the 6 rows, and says so.
    assert dataclasses.asdict(manifest.source) == {
        "records": 6,
        "taken": 6,
        "n": 50,
        "summary": "6 records, all taken",
    }
    assert manifest.counts.samples == 6 and manifest.counts.kept == 6
    assert manifest.counts.tokens  # every kept row used a token
    ids = [
        r[0] for r in duckdb.sql(f"select id from '{run_folder(config)}/sft/*.parquet'").fetchall()
    ]
    again = HFSource.from_options(opts)
    assert sorted(ids) == sorted(again.sample(i).id for i in range(6))
    # the same content under another dataset name gives the same ids (content-derived)
    save_hf(tmp_path / "copy", 6)
    copy = HFSource.from_options({**opts, "dataset": str(tmp_path / "copy")})
    assert [copy.sample(i).id for i in range(6)] == [again.sample(i).id for i in range(6)]


def test_hf_parquet_files_streaming_and_multiple_choice(tmp_path):
    ds = hf_dataset(4)
    options = [["K999", "K888", code, "K777"] for code in ds["label"]]
    letters = ["C", 2, f"(C) {ds['label'][2]}", ds["label"][3]]  # letter, index, text
    ds = ds.add_column(
        "options", [[f"{chr(65 + k)}. {o}" for k, o in enumerate(x)] for x in options]
    )
    ds = ds.remove_columns("label").add_column("answer", [str(a) for a in letters])
    (tmp_path / "pq").mkdir()
    ds.select(range(2)).to_parquet(str(tmp_path / "pq" / "part-0.parquet"))
    ds.select(range(2, 4)).to_parquet(str(tmp_path / "pq" / "part-1.parquet"))
    opts = {
        "dataset": str(tmp_path / "pq"),
        "map": "image=img,question=query,bbox=box",
        "layout": "mc",
    }
    src = HFSource.from_options(opts)
    items = [src.sample(i) for i in range(len(src))]
    assert len(items) == 4
    for item, code in zip(items, [scene(i)[2] for i in range(4)], strict=True):
        assert isinstance(item, SourceSample), item
        assert item.choices == ["K999", "K888", code, "K777"]  # letter prefixes stripped
        assert item.answer == code and item.task == "mc"
    streamed = list(HFSource.from_options({**opts, "streaming": "true"}))
    assert [s.id for s in streamed] == [s.id for s in items]
    assert not callable(getattr(HFSource.from_options({**opts, "streaming": True}), "sample", None))
    config = RunConfig(split="rl", n=4, source="hf", source_options=opts, out=str(tmp_path / "r"))
    manifest = run(config)
    assert manifest.counts.kept == 4
    prompts = duckdb.sql(
        f"select prompt[1].content from '{run_folder(config)}/rl/*.parquet'"
    ).fetchall()
    assert all("Options: K999; K888;" in p[0] for p in prompts)


def test_multiple_choice_answers_resolve_or_are_refused():
    choices = normalize_choices("A. cat|B. dog|C. bird")
    assert choices == ["cat", "dog", "bird"]
    assert resolve_answer("b", choices) == "dog" and resolve_answer(2, choices) == "bird"
    with pytest.raises(Rejection) as exc:
        resolve_answer("fish", choices)
    assert exc.value.reason == "answer_not_in_choices"


def test_hf_config_errors_say_what_to_do(tmp_path):
    path = save_hf(tmp_path / "ds", 2)
    odd = tmp_path / "odd"
    hf_dataset(2).rename_columns({"query": "q", "label": "a"}).save_to_disk(str(odd))
    with pytest.raises(ValueError, match=r"no column for \['answer', 'question'\].*map="):
        HFSource.from_options({"dataset": str(odd)})  # q/a are not known names: map them
    assert HFSource.from_options({"dataset": str(path)}).columns["question"] == "query"
    with pytest.raises(ValueError, match="not in the data"):
        HFSource.from_options({"dataset": str(path), "map": "image=picture,question=query"})
    with pytest.raises(ValueError, match="does not exist"):
        HFSource.from_options({"dataset": str(tmp_path / "nope")})
    with pytest.raises(ValueError, match="unknown hf source option"):
        HFSource.from_options({"dataset": str(path), "colums": "x"})
    with pytest.raises(ValueError, match="bbox_format"):
        HFSource.from_options({"dataset": str(path), "map": HF_MAP, "bbox_format": "yolo"})


# ------------------------------------------------------------------ local


def _local_root(tmp_path: Path, n: int = 3) -> tuple[Path, list[dict]]:
    root = tmp_path / "root"
    (root / "imgs").mkdir(parents=True)
    records = []
    for i in range(n):
        img, box, code = scene(100 + i)
        (root / "imgs" / f"{i}.png").write_bytes(encode(img))
        records.append(
            {
                "image": f"imgs/{i}.png",
                "question": f"Which code is on tag {i}?",
                "answer": code,
                "bbox": box,
            }
        )
    return root, records


def test_local_jsonl_and_csv_with_path_traversal_refused(tmp_path):
    root, records = _local_root(tmp_path)
    secret = tmp_path / "secret.png"  # exists, readable, but outside the root
    secret.write_bytes(encode(scene(7)[0]))
    os.symlink(secret, root / "imgs" / "link.png")
    bad = [
        ("../secret.png", "path_outside_root"),
        (str(secret), "path_outside_root"),
        ("imgs/link.png", "path_outside_root"),
        ("imgs/../../secret.png", "path_outside_root"),
        ("imgs/missing.png", "missing_image"),
        ("imgs", "missing_image"),
    ]
    for k, (ref, _) in enumerate(bad):
        records.append(
            {"image": ref, "question": f"bad {k}?", "answer": "x", "bbox": [1, 1, 50, 50]}
        )
    with open(root / "q.jsonl", "w") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
        fh.write("{not json\n")
    with open(root / "q.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["image", "question", "answer", "bbox"])
        w.writeheader()
        for r in records:
            w.writerow({**r, "bbox": json.dumps(r["bbox"])})
    for qfile, extra in (("q.jsonl", 1), ("q.csv", 0)):
        src = LocalSource.from_options({"root": str(root), "questions": qfile})
        items = list(src)
        assert len(items) == len(records) + extra
        good = [i for i in items if isinstance(i, SourceSample)]
        assert [g.answer for g in good] == [scene(100 + i)[2] for i in range(3)]
        rejected = [i for i in items if isinstance(i, SourceRejection)]
        assert [r.rejection.reason for r in rejected[: len(bad)]] == [b[1] for b in bad]
        assert all(
            str(secret) not in r.rejection.detail or "outside" in r.rejection.detail
            for r in rejected
        )
        if extra:
            assert rejected[-1].rejection.reason == "bad_record"
    with pytest.raises(ValueError, match="--root"):
        LocalSource.from_options({"questions": "q.jsonl"})
    with pytest.raises(ValueError, match="does not exist"):
        LocalSource.from_options({"root": str(root), "questions": "nope.jsonl"})


def test_hostile_corpus_becomes_rejection_rows_and_good_rows_land(tmp_path):
    root, records = _local_root(tmp_path, n=4)
    (root / "bad").mkdir()
    expected: dict[str, str] = {}
    for k, (name, (data, reason)) in enumerate(hostile_files().items()):
        (root / "bad" / name).write_bytes(data)
        q = f"What does hostile file {k} show?"
        records.append(
            {"image": f"bad/{name}", "question": q, "answer": "x", "bbox": [10, 10, 60, 40]}
        )
        expected[q] = reason
    row_level = {
        "../outside.png": ("Path escape?", "x", [1, 1, 9, 9], "path_outside_root"),
        "bad/none.png": ("Missing file?", "x", [1, 1, 9, 9], "missing_image"),
        "imgs/0.png": ("", "x", [1, 1, 9, 9], "empty_question"),
        "imgs/1.png": ("Empty answer?", "", [1, 1, 9, 9], "empty_answer"),
        "imgs/2.png": ("Bad box?", "x", "left side", "bad_bbox"),
        "imgs/3.png": ("Box off image?", "x", [9000, 9000, 9100, 9100], "bad_bbox"),
    }
    for ref, (q, a, box, reason) in row_level.items():
        records.append({"image": ref, "question": q, "answer": a, "bbox": box})
        expected[q] = reason
    assert len(expected) >= 26
    with open(root / "q.jsonl", "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    config = RunConfig(
        split="sft",
        n=len(records),
        source="local",
        source_options={"root": str(root), "questions": "q.jsonl"},
        out=str(tmp_path / "runs"),
        shard_size=16,
        max_pixels=4_000_000,
    )
    manifest = run(config)  # completes: nothing crashes
    assert manifest.complete and manifest.counts.samples == len(records)
    assert manifest.counts.kept == 4
    got = dict(
        duckdb.sql(
            f"select question, reason from '{run_folder(config)}/rejects/*.parquet'"
        ).fetchall()
    )
    assert got == expected
    details = duckdb.sql(f"select detail from '{run_folder(config)}/rejects/*.parquet'").fetchall()
    assert all(d[0] for d in details)


def test_cmyk_and_16bit_are_converted_by_default_or_refused_on_request(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    cmyk = Image.new("CMYK", (800, 600), (0, 255, 255, 0))  # pure red in CMYK
    deep = Image.fromarray(np.full((600, 800), 40000, dtype=np.uint16))
    gif = hostile_files()["animated.gif"][0]
    (root / "cmyk.jpg").write_bytes(encode(cmyk, "JPEG", quality=95))
    (root / "deep.png").write_bytes(encode(deep))
    (root / "anim.gif").write_bytes(gif)
    recs = [
        {"image": "cmyk.jpg", "question": "CMYK?", "answer": "red", "bbox": [10, 10, 16, 16]},
        {"image": "deep.png", "question": "16-bit?", "answer": "grey", "bbox": [10, 10, 16, 16]},
        {"image": "anim.gif", "question": "Animated?", "answer": "red", "bbox": [10, 10, 16, 16]},
    ]
    (root / "q.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    base = {"root": str(root), "questions": "q.jsonl"}
    default = list(LocalSource.from_options(base))
    assert [type(i).__name__ for i in default] == [
        "SourceSample",
        "SourceSample",
        "SourceRejection",
    ]
    assert default[2].rejection.reason == "animated_image"
    config = RunConfig(n=3, source="local", source_options=base, out=str(tmp_path / "runs"))
    run(config)
    kept = duckdb.sql(
        f"select question, images[1].bytes from '{run_folder(config)}/sft/*.parquet'"
    ).fetchall()
    pixels = {
        q: Image.open(__import__("io").BytesIO(b)).convert("RGB").getpixel((400, 300))
        for q, b in kept
    }
    r, g, b = pixels["CMYK?"]
    assert r > 200 and g < 60 and b < 60  # converted to RGB with the right colour
    assert pixels["16-bit?"][0] == pixels["16-bit?"][1]  # a grey, not a crash
    strict = {**base, "cmyk": "reject", "high_bit_depth": "reject", "animated": "first_frame"}
    items = list(LocalSource.from_options(strict))
    reasons = [i.rejection.reason if isinstance(i, SourceRejection) else "ok" for i in items]
    assert reasons == ["cmyk_image", "high_bit_depth", "ok"]


def test_build_source_registry_and_cli_style_options(tmp_path):
    root, records = _local_root(tmp_path, n=2)
    (root / "q.csv").write_text(
        "img,q,a\n" + "".join(f"{r['image']},{r['question']},{r['answer']}\n" for r in records)
    )
    options = {"root": str(root), "questions": "q.csv", "map": "image=img,question=q,answer=a"}
    items = list(build_source("local", options, None, 0))
    # no boxes: samples load, and explore rejects them with a specific reason
    assert all(isinstance(i, SourceSample) and not i.needs for i in items)
    with pytest.raises(ValueError, match="available: synthetic, local, hf"):
        build_source("nope", {}, None, 0)


def test_hf_hostile_bytes_and_relative_paths(tmp_path):
    """The same hostile corpus as image structs in an HF dataset, plus path-only images."""
    import datasets

    folder = tmp_path / "ds"
    (folder / "images").mkdir(parents=True)
    good, box, code = scene(40)
    (folder / "images" / "good.png").write_bytes(encode(good))
    (tmp_path / "outside.png").write_bytes(encode(good))
    imgs, questions, expected = [], [], {}
    for k, (name, (data, reason)) in enumerate(hostile_files().items()):
        imgs.append({"bytes": data, "path": name})
        questions.append(f"hostile {k}?")
        expected[f"hostile {k}?"] = reason
    for ref, reason in (("images/good.png", None), ("../outside.png", "path_outside_root")):
        imgs.append({"bytes": None, "path": ref})
        questions.append(f"What code is printed on {ref}?")
        if reason:
            expected[f"What code is printed on {ref}?"] = reason
    n = len(imgs)
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "question": datasets.Value("string"),
            "answer": datasets.Value("string"),
            "bbox": datasets.Sequence(datasets.Value("float64")),
        }
    )
    ds = datasets.Dataset.from_dict(
        {
            "image": imgs,
            "question": questions,
            "answer": [code] * n,
            "bbox": [[10, 5, 60, 15]] * (n - 2) + [box, box],
        },
        features=features,
    )
    # written by pyarrow: datasets' own writer would try to embed the path-only images
    pq.write_table(ds.data.table, folder / "data.parquet")
    config = RunConfig(
        n=n,
        source="hf",
        source_options={"dataset": str(folder / "data.parquet")},
        out=str(tmp_path / "runs"),
        max_pixels=4_000_000,
    )
    manifest = run(config)
    assert manifest.counts.kept == 1 and manifest.counts.samples == n
    root = run_folder(config)
    got = dict(duckdb.sql(f"select question, reason from '{root}/rejects/*.parquet'").fetchall())
    assert got == expected


def test_hf_images_list_column_reads_one_to_eight_images_in_order(tmp_path):
    import datasets

    img, box, code = scene(5)
    other, _, _ = scene(6)
    two = [{"bytes": encode(img), "path": "a.png"}, {"bytes": encode(other), "path": "b.png"}]
    ds = datasets.Dataset.from_dict(
        {
            "images": [two[:1], [], two, [two[0]] * 9],
            "question": ["One image?", "No image?", "Two images?", "Nine images?"],
            "answer": [code] * 4,
            "bbox": [box] * 4,
        },
        features=datasets.Features(
            {
                "images": datasets.Sequence(datasets.Image()),
                "question": datasets.Value("string"),
                "answer": datasets.Value("string"),
                "bbox": datasets.Sequence(datasets.Value("int64")),
            }
        ),
    )
    ds.save_to_disk(str(tmp_path / "ds"))
    one, empty, pair, nine = HFSource.from_options({"dataset": str(tmp_path / "ds")})
    assert isinstance(one, SourceSample) and one.answer == code and len(one.images) == 1
    assert isinstance(pair, SourceSample) and pair.images == [encode(img), encode(other)]
    assert pair.id != one.id  # the second image is part of what the sample is
    assert pair.needs and all(n.image == 0 for n in pair.needs)  # a bare box: the first image
    assert isinstance(empty, SourceRejection) and empty.rejection.reason == "missing_image"
    assert isinstance(nine, SourceRejection) and nine.rejection.reason == "too_many_images"


def _many_records(tmp_path: Path, count: int) -> tuple[Path, Path]:
    """``count`` records over ten small images, a question per record."""
    root = tmp_path / "many"
    root.mkdir()
    lines = []
    for i in range(10):
        img, box, code = scene(i, (640, 480))
        (root / f"{i}.png").write_bytes(encode(img))
        for k in range(count // 10):
            lines.append({"image": f"{i}.png", "question": f"Tag code, ask {k}?", "answer": code})
            lines[-1]["bbox"] = box
    questions = root / "q.jsonl"
    questions.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return root, questions


def test_a_local_run_without_n_reads_every_record_and_says_when_n_cut_it(tmp_path):
    from typer.testing import CliRunner

    from atlas_data.cli import app

    root, questions = _many_records(tmp_path, 300)
    base = ["run", "--source", "local", "--root", str(root), "--questions", str(questions)]
    base += ["--shard-size", "128", "--out", str(tmp_path / "runs")]
    base += ["--judge", "annotation", "--proposer", "boxes"]  # counting records, not OCR
    res = CliRunner().invoke(app, base)
    assert res.exit_code == 0, res.output
    manifest = open_run(next((tmp_path / "runs").rglob("manifest.json")).parent).finished()
    c = manifest.counts
    assert c.samples == c.kept + c.rejected == 300 and c.kept > 0
    assert dataclasses.asdict(manifest.source) == {
        "records": 300, "taken": 300, "n": None, "summary": "300 records, all taken"
    }  # fmt: skip
    assert "300 records, all taken" in res.output and "300/300" in res.output

    again = CliRunner().invoke(app, base)  # the same command resumes the same run
    assert again.exit_code == 0 and "resuming" in again.output
    assert len(list((tmp_path / "runs").iterdir())) == 1

    res = CliRunner().invoke(app, [*base, "--n", "200"])
    assert res.exit_code == 0, res.output
    assert "300 records, 200 taken: --n 200" in res.output and "200/200" in res.output
    (cut,) = [
        m
        for p in (tmp_path / "runs").rglob("manifest.json")
        if (m := open_run(p.parent).finished()).config.n == 200
    ]
    assert cut.counts.samples == 200
    assert dataclasses.asdict(cut.source) == {
        "records": 300, "taken": 200, "n": 200, "summary": "300 records, 200 taken: --n 200"
    }  # fmt: skip


def test_an_hf_run_without_n_reads_every_row(tmp_path):
    path = save_hf(tmp_path / "ds", 23)
    opts = {"dataset": str(path), "map": HF_MAP}
    manifest = run(RunConfig(source="hf", source_options=opts, out=str(tmp_path / "runs")))
    assert manifest.counts.samples == 23 and manifest.source.records == 23
    cut = run(RunConfig(source="hf", source_options=opts, n=10, out=str(tmp_path / "runs")))
    assert cut.counts.samples == 10
    assert cut.source.summary == "23 records, 10 taken: --n 10"
