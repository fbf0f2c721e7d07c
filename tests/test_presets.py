"""Every dataset preset reads rows built here in its dataset's own schema, from a
``save_to_disk`` folder and from Parquet files, through ``--source hf``: the box (or the
points) lands where the pixels say it is, a sample's several images arrive all and in
order, and the rows become trajectories."""

from __future__ import annotations

import base64
import contextlib
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
from atlas_data.sources.choices import consensus, normalize_choices, resolve_answer
from atlas_data.sources.hf import HFSource
from atlas_data.sources.presets import PRESETS, _name_images
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


# Presets whose samples show several images: how many each of the two rows shows.
MULTI = {"mantis-instruct": (2, 3), "m4-instruct": (2, 3), "blink": (2, 4), "muirbench": (2, 3)}
TASKS = {"mantis-instruct": "nlvr2", "m4-instruct": "spot-the-diff",
         "blink": "Visual_Correspondence", "muirbench": "Counting"}  # fmt: skip
PANELS = [(200, 60, 60), (60, 170, 60), (60, 60, 210), (210, 190, 40)]


def gallery(i: int, n: int) -> tuple[list[Image.Image], str]:
    """``n`` images, all different: plain panels, and in one place (which depends on ``i``)
    the scene with the tag whose code answers the question."""
    images = [Image.new("RGB", (320, 240), PANELS[k]) for k in range(n)]
    img, _, code = scene(60 + i)
    images[(i + 1) % n] = img
    return images, code


def same_picture(data: bytes, want: Image.Image) -> bool:
    got = np.asarray(Image.open(io.BytesIO(data)).convert("RGB").resize((64, 48)), float)
    return bool(np.abs(got - np.asarray(want.resize((64, 48)), float)).mean() < 6)


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
        elif name in MULTI:
            n = MULTI[name][i]
            pictures, code = gallery(i, n)
            files = [encode(p, "JPEG", quality=92) for p in pictures]
            wrong = [f"K{k:03d}" for k in (1, 2, 3)]
            options = wrong[:i] + [code] + wrong[i:]  # the right one is (A), then (B)
            tags = " ".join(["<image>"] * n)
            if name == "mantis-instruct":  # bytes null, paths inside train_images.zip
                (folder / "nlvr2").mkdir(exist_ok=True)
                for k, f in enumerate(files):
                    (folder / "nlvr2" / f"{i}-{k}.jpg").write_bytes(f)
                labelled = "\n".join(f"Image {k + 1}: <image>" for k in range(n))
                turns = [{"role": "user", "content": f"{tags}\n{QUESTION}" if i == 0
                          else f"{labelled}\n{QUESTION}"},
                         {"role": "assistant", "content": code},
                         {"role": "user", "content": "What colour is the tag?"},
                         {"role": "assistant", "content": "white"}]  # fmt: skip
                paths = [{"bytes": None, "path": f"nlvr2/{i}-{k}.jpg"} for k in range(n)]
                add(id=f"nlvr2-{i}", conversation=turns, source="nlvr2", images=paths)
            elif name == "m4-instruct":  # a JSON of paths into the unzipped subsets
                (folder / "spot-the-diff").mkdir(exist_ok=True)
                for k, f in enumerate(files):
                    (folder / "spot-the-diff" / f"{i}_{k}.jpg").write_bytes(f)
                turns = [{"from": "human", "value": f"{tags}\n{QUESTION}"},
                         {"from": "gpt", "value": code}]  # fmt: skip
                add(sample_id=f"m4-{i}", conversations=turns,
                    image=[f"spot-the-diff/{i}_{k}.jpg" for k in range(n)],
                    metadata={"dataset": "spot-the-diff", "split": "train"})  # fmt: skip
            elif name == "blink":  # image_1..image_4, None past the sample's own
                cells = [{"bytes": f, "path": f"{i}_{k}.jpg"} for k, f in enumerate(files)]
                cells += [None] * (4 - n)
                letters = "".join(f"({chr(65 + k)}) {o} " for k, o in enumerate(options))
                add(idx=f"val_Visual_Correspondence_{i + 1}", question=QUESTION,
                    sub_task="Visual_Correspondence", choices=options, answer=f"({'AB'[i]})",
                    prompt=f"{QUESTION}\nSelect from the following choices.\n{letters}",
                    explanation="", image_1=cells[0], image_2=cells[1], image_3=cells[2],
                    image_4=cells[3])  # fmt: skip
            else:  # muirbench: tags where the images go, here after the question
                add(idx=str(i), task="Counting", image_relation="Temporal",
                    image_type="Photography", question=f"{QUESTION} {tags}",
                    options=[*options, "None of the choices provided"], answer="AB"[i],
                    image_list=[{"bytes": f, "path": f"{i}_{k}.jpg"} for k, f in enumerate(files)],
                    counterpart_idx=str(i + 100))  # fmt: skip
    features = None
    for column, values in cols.items():  # image structs ({bytes, path}) become Image features
        first = next((v for v in values if v is not None), None)
        if isinstance(first, dict) and "bytes" in first:
            features = features or datasets.Dataset.from_dict(cols).features
            features[column] = datasets.Image()
        elif (
            isinstance(first, list) and first and isinstance(first[0], dict) and "bytes" in first[0]
        ):
            features = features or datasets.Dataset.from_dict(cols).features
            features[column] = datasets.Sequence(datasets.Image())
    return cols, features


def build(name: str, root: Path, form: str) -> str:
    """The rows as a save_to_disk folder or a Parquet file (images beside it)."""
    root.mkdir(parents=True, exist_ok=True)
    cols, features = rows_of(name, root)
    with contextlib.chdir(root):  # image structs holding only a relative path (Mantis's)
        ds = datasets.Dataset.from_dict(cols, features=features)
        if form == "disk":  # embeds their bytes; Parquet keeps the paths
            ds.save_to_disk(str(root / "ds"))
        else:
            ds.to_parquet(str(root / "train.parquet"))
    if form == "disk":
        for extra in root.iterdir():  # images next to the data: inside the saved folder
            if extra.name != "ds":
                extra.rename(root / "ds" / extra.name)
        return str(root / "ds")
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
        assert "<image>" not in sample.question  # the pipeline writes its own, one per image
        if name in MULTI:  # every image, in the dataset's order
            want, _ = gallery(k, MULTI[name][k])
            assert len(sample.images) == len(want)
            assert all(same_picture(g, w) for g, w in zip(sample.images, want, strict=True))
            assert sample.task == TASKS[name]
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
    if name in MULTI:  # each kept row shows its sample's images, one placeholder each
        shown = duckdb.sql(
            f"select answer, len(images), messages[1].content "
            f"from '{run_folder(config)}/sft/*.parquet'"
        ).fetchall()
        counts = {scene(60 + k)[2]: n for k, n in enumerate(MULTI[name])}
        for answer, images, prompt in shown:
            assert images == prompt.count("<image>") == counts[answer], (answer, prompt)
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
    with pytest.raises(ValueError, match=r"reads images from \['images'\]"):
        HFSource.from_options({"dataset": path, "preset": "deepeyes"})
    with pytest.raises(ValueError, match=r"reads images from \['image_1', .*'image_4'\]"):
        HFSource.from_options({"dataset": path, "preset": "blink"})  # BLINK's four columns


# ---------------------------------------------------------------- several images, one row


def picture(k: int) -> dict[str, Any]:
    return {"bytes": bytes([k]) * 4, "path": f"{k}.jpg"}


@pytest.mark.parametrize(
    ("text", "first", "edges", "want"),
    [
        ("<image> <image>\nAre they the same?", 1, False, "Are they the same?"),
        ("Which of <image> and <image> is older? <image>", 1, False,
         "Which of Image 1 and Image 2 is older?"),
        ("Image 1: <image>\nImage 2: <image>\nWhat differs?", 1, False, "What differs?"),
        ("Does <image> match?", 3, False, "Does Image 3 match?"),
        ("<image>", 4, True, "Image 4"),
        ("<image>", 4, False, ""),
    ],
)  # fmt: skip
def test_image_tags_leave_the_text_named_or_dropped(text, first, edges, want):
    assert _name_images(text, first, edges) == want


def test_mantis_row_reads_the_first_exchange_of_its_images():
    row = {"id": "x", "source": "spot-the-diff", "images": [picture(k) for k in range(3)],
           "conversation": [{"role": "user", "content": "<image><image><image>\nWhat changed?"},
                            {"role": "assistant", "content": "The car left."},
                            {"role": "user", "content": "And the sky?"},
                            {"role": "assistant", "content": "Nothing."}]}  # fmt: skip
    got = PRESETS["mantis-instruct"].adapt(row)
    assert [i["path"] for i in got["image"]] == ["0.jpg", "1.jpg", "2.jpg"]
    assert (got["question"], got["answer"]) == ("What changed?", "The car left.")
    assert got["task"] == "spot-the-diff"
    # Mantis's loader prepends the tags a chat lacks: its one tag is the last image.
    row["conversation"][0]["content"] = "Is <image> a copy of the others?"
    assert PRESETS["mantis-instruct"].adapt(row)["question"] == "Is Image 3 a copy of the others?"


def test_m4_row_names_tags_inside_the_question_and_takes_its_subset_as_task():
    asked = "Compare <image> and <image> with <image>. Which is brighter?"
    row = {"sample_id": "s", "image": ["a/1.jpg", "a/2.jpg", "a/3.jpg"],
           "metadata": {"dataset": "nlvr2", "split": "train"},
           "conversations": [{"from": "human", "value": asked},
                             {"from": "gpt", "value": "left"}]}  # fmt: skip
    got = PRESETS["m4-instruct"].adapt(row)
    assert got["image"] == ["a/1.jpg", "a/2.jpg", "a/3.jpg"]
    assert got["question"] == "Compare Image 1 and Image 2 with Image 3. Which is brighter?"
    assert (got["answer"], got["task"]) == ("left", "nlvr2")
    assert PRESETS["m4-instruct"].adapt({**row, "metadata": None})["task"] == "m4-instruct"


def test_blink_row_drops_unused_images_and_reads_its_answer_as_a_letter():
    choices = ["the first point", "the second point", "the third point"]
    row = {"idx": "val_Jigsaw_1", "sub_task": "Jigsaw", "question": "Which fits?",
           "choices": choices, "answer": "(C)", "image_1": picture(1), "image_2": picture(2),
           "image_3": None, "image_4": {"bytes": None, "path": None}}  # fmt: skip
    got = PRESETS["blink"].adapt(row)
    assert [i["path"] for i in got["image"]] == ["1.jpg", "2.jpg"]
    assert got["answer"] == "C" and got["task"] == "Jigsaw"
    assert resolve_answer(got["answer"], normalize_choices(got["choices"])) == "the third point"
    swapped = PRESETS["blink"].adapt({**row, "image_1": picture(2), "image_2": picture(1)})
    assert [i["path"] for i in swapped["image"]] == ["2.jpg", "1.jpg"]


def test_muirbench_options_that_are_images_are_named_after_the_questions_images():
    row = {"idx": "7", "task": "Visual Retrieval", "image_relation": "Multiview",
           "question": "Which image shows the building in <image>?",
           "options": ["<image>", "<image>", "<image>", "None of the choices provided"],
           "answer": "C", "image_list": [picture(k) for k in range(4)],
           "counterpart_idx": "8"}  # fmt: skip
    got = PRESETS["muirbench"].adapt(row)
    assert got["question"] == "Which image shows the building in Image 1?"
    assert got["choices"] == ["Image 2", "Image 3", "Image 4", "None of the choices provided"]
    assert resolve_answer(got["answer"], normalize_choices(got["choices"])) == "Image 4"
    assert len(got["image"]) == 4 and got["task"] == "Visual Retrieval"
