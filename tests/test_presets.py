"""Every dataset preset reads rows built here in its dataset's own schema, from a
``save_to_disk`` folder and from Parquet files, through ``--source hf``: the box (or the
points) lands where the pixels say it is, and the rows become trajectories."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import datasets
import duckdb
import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from atlas_data.cli import app
from atlas_data.config import RunConfig
from atlas_data.run.driver import run
from atlas_data.sources.choices import consensus
from atlas_data.sources.hf import HFSource
from atlas_data.sources.presets import PRESETS
from tests.realdata_helpers import SIZE, encode, scene
from tests.runs import run_folder

QUESTION = "What code is printed on the white tag?"
PROMPT = "Please provide the bounding box coordinate of the region that can help you answer the question better."  # noqa: E501


def square_norm(box: list[int]) -> str:
    """Visual CoT's LLaVA box: padded to a square (W > H: y shifted by (W-H)//2), over W."""
    w, h = SIZE
    pad = (w - h) // 2
    x0, y0, x1, y1 = box
    values = (x0 / w, (y0 + pad) / w, x1 / w, (y1 + pad) / w)
    return "[" + ", ".join(f"{v:0.3f}" for v in values) + "]"  # its '%0.3f' per value


def dots(i: int) -> tuple[Image.Image, list[dict[str, float]]]:
    """Blue dots on grass, their centres in percent of width and height (PixMo-Points)."""
    img = Image.new("RGB", SIZE, (90, 140, 60))
    d = ImageDraw.Draw(img)
    points = []
    for k in range(6 + i):
        x, y = 150 + 190 * k, 300 + 80 * (k % 3)
        d.ellipse((x - 7, y - 7, x + 7, y + 7), fill=(40, 70, 210))
        points.append({"x": 100 * x / SIZE[0], "y": 100 * y / SIZE[1]})
    return img, points


def rows_of(name: str, folder: Path) -> tuple[dict[str, list[Any]], datasets.Features | None]:
    """Two rows of dataset ``name`` in its own schema (images written into ``folder``)."""
    cols: dict[str, list[Any]] = {}

    def add(**row: Any) -> None:
        for k, v in row.items():
            cols.setdefault(k, []).append(v)

    for i in range(2):
        img, box, code = scene(60 + i)
        data = encode(img, "JPEG", quality=92)
        if name == "visual-cot":
            (folder / "textvqa").mkdir(parents=True, exist_ok=True)
            (folder / "textvqa" / f"t{i}.jpg").write_bytes(data)
            add(question=QUESTION, answer=code, image=f"t{i}.jpg", width=SIZE[0],
                height=SIZE[1], bboxs=[[float(v) for v in box]], dataset="textvqa",
                split="train")  # fmt: skip
        elif name == "visual-cot-llava":
            (folder / "cot" / "textvqa").mkdir(parents=True, exist_ok=True)
            (folder / "cot" / "textvqa" / f"t{i}.jpg").write_bytes(data)
            path = f"cot/textvqa/t{i}.jpg"
            turns = [
                {"from": "human", "value": f"<image>\n{QUESTION} {PROMPT}"},
                {"from": "gpt", "value": square_norm(box)},
                {"from": "human", "value": "<image>"},
                {"from": "gpt", "value": code},
            ]
            add(dataset="textvqa", split="train", question_id=i,
                image=[path, f"{path}###[{box[0]}, {box[1]}, {box[2]}, {box[3]}]"],
                conversations=turns)  # fmt: skip
        elif name == "vstar":
            (folder / f"v{i}.jpg").write_bytes(data)
            xywh = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
            turns = [{"from": "human", "value": f"<image>\n{QUESTION}"},
                     {"from": "gpt", "value": code}]  # fmt: skip
            add(image=f"v{i}.jpg", conversations=turns, search=True,
                target_instances=[{"name": "white tag", "bbox": xywh}])  # fmt: skip
        elif name == "treevgr":
            (folder / "images").mkdir(exist_ok=True)
            (folder / "images" / f"{i}.jpg").write_bytes(data)
            add(images=[f"images/{i}.jpg"], problem=f"<image>\n{QUESTION}", answer=code,
                target_instances=[{"bbox": box, "name": "white tag"}])  # fmt: skip
        elif name == "treebench":
            wrong = [f"K{k:03d}" for k in (1, 2, 3)]
            add(index=i, image=base64.b64encode(data).decode(), question=QUESTION,
                A=wrong[0], B=code, C=wrong[1], D=wrong[2], answer="B",
                category="Perception/OCR", target_instances=str([box]))  # fmt: skip
        elif name == "pixmo-points":
            picture, points = dots(i)
            sha = f"{i:064x}"
            picture.save(folder / f"{sha}.jpg", quality=92)
            add(image_url=f"https://example.invalid/{i}.jpg", image_sha256=sha, points=points,
                count=len(points), label="blue dots", collection_method="counting")  # fmt: skip
        elif name == "deepeyes":
            prompt = [{"role": "system", "content": "You may zoom."},
                      {"role": "user", "content": f"<image>\n{QUESTION}"}]  # fmt: skip
            add(data_source="vstar", prompt=prompt,
                images=[{"bytes": data, "path": f"{i}.jpg"}], ability="perception",
                env_name="visual_toolbox_v2",
                reward_model={"ground_truth": code, "style": "model"},
                extra_info={"question": QUESTION, "answer": code})  # fmt: skip
        elif name == "textvqa":
            answers = [code] * 7 + [code.lower()] + ["unanswerable", "K0"]
            add(image_id=str(i), question_id=i, question=QUESTION,
                image={"bytes": data, "path": f"{i}.jpg"}, answers=answers)  # fmt: skip
        elif name == "chartqa":
            add(image={"bytes": data, "path": f"{i}.jpg"}, query=QUESTION, label=[code],
                human_or_machine=0)  # fmt: skip
        elif name == "docvqa":
            add(questionId=str(i), question=QUESTION, question_types=["other"],
                image={"bytes": data, "path": f"{i}.jpg"}, docId=i, answers=[code])  # fmt: skip
    features = None
    for column in ("image", "images"):
        if cols.get(column) and isinstance(cols[column][0], dict):
            features = datasets.Dataset.from_dict(cols).features
            features[column] = datasets.Image()
        elif (
            cols.get(column)
            and isinstance(cols[column][0], list)
            and isinstance(cols[column][0][0], dict)
        ):
            features = datasets.Dataset.from_dict(cols).features
            features[column] = datasets.Sequence(datasets.Image())
    return cols, features


def build(name: str, root: Path, form: str) -> str:
    """The rows as a save_to_disk folder or a Parquet file (images beside it)."""
    root.mkdir(parents=True, exist_ok=True)
    cols, features = rows_of(name, root)
    ds = datasets.Dataset.from_dict(cols, features=features)
    if form == "disk":
        ds.save_to_disk(str(root / "ds"))
        for extra in root.iterdir():  # images next to the data: inside the saved folder
            if extra.name != "ds":
                extra.rename(root / "ds" / extra.name)
        return str(root / "ds")
    ds.to_parquet(str(root / "train.parquet"))
    return str(root / "train.parquet")


BOXED = ("visual-cot", "visual-cot-llava", "vstar", "treevgr", "treebench")


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("form", ["disk", "parquet"])
def test_each_preset_reads_its_own_schema(name, form, tmp_path):
    path = build(name, tmp_path / name, form)
    source = HFSource.from_options({"dataset": path, "preset": name})
    items = list(source)
    assert len(items) == 2 and all(not hasattr(i, "rejection") for i in items), items
    for k, sample in enumerate(items):
        img = Image.open(io.BytesIO(sample.image)).convert("RGB")
        if name == "pixmo-points":
            (need,) = sample.needs
            assert sample.answer == str(len(need.params["points"])) == str(6 + k)
            for x, y in need.params["points"]:  # every point sits on a blue dot
                r, g, b = img.getpixel((round(x), round(y)))
                assert b > 150 and r < 100, (x, y)
            continue
        _, box, code = scene(60 + k)
        assert sample.answer == code and QUESTION in sample.question
        if name in BOXED:  # the box is the white tag, to the pixel
            got = sample.annotations["boxes"][-1]
            assert max(abs(a - b) for a, b in zip(got, box, strict=True)) <= 1, (got, box)
            tag = np.asarray(img.crop(tuple(got)).convert("L"))
            assert (tag > 200).mean() > 0.6
        else:
            assert "boxes" not in sample.annotations  # search mode: the proposers look
    if name == "textvqa":
        assert items[0].accepted == [] and consensus(["a", "b", "a"])[0] == "a"


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_preset_lands_trajectories(name, tmp_path):
    path = build(name, tmp_path / name, "disk")
    config = RunConfig(
        source="hf", source_options={"dataset": path, "preset": name}, out=str(tmp_path / "r")
    )
    manifest = run(config)
    assert manifest.counts.kept >= 1, manifest.counts.rejected_by_reason
    ops = duckdb.sql(
        f"select o.name, o.params from (select unnest(operations) o "
        f"from '{run_folder(config)}/sft/*.parquet')"
    ).fetchall()
    if name == "pixmo-points":
        assert {n for n, _ in ops} == {"point_mark"}
    elif name in BOXED:  # the zoom holds the annotated tag
        _, box, _ = scene(60)
        zooms = [json.loads(p)["box"] for n, p in ops if n == "zoom"]
        assert any(z[0] <= box[0] and z[1] <= box[1] and z[2] >= box[2] and z[3] >= box[3]
                   for z in zooms), zooms  # fmt: skip


def test_presets_are_listed_and_a_preset_refuses_a_column_map(tmp_path):
    res = CliRunner().invoke(app, ["presets"])
    assert res.exit_code == 0 and "pixmo-points" in res.stdout and "treebench" in res.stdout
    path = build("textvqa", tmp_path / "t", "parquet")
    with pytest.raises(ValueError, match="maps the columns itself"):
        HFSource.from_options({"dataset": path, "preset": "textvqa", "map": "image=image"})
    with pytest.raises(ValueError, match="unknown dataset preset 'textvq'.*textvqa"):
        HFSource.from_options({"dataset": path, "preset": "textvq"})
    with pytest.raises(ValueError, match="reads the image from 'images'"):
        HFSource.from_options({"dataset": path, "preset": "deepeyes"})
