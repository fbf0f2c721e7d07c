"""Presets for the public grounded datasets: one flag instead of a column map and a guess.

A preset turns one row of a dataset, in that dataset's own schema, into the fields every
record source reads (``image``, ``question``, ``answer``, ``choices``, ``bbox``, ``points``,
``task``), and says the dataset's box or point convention and which column holds its image
(so ``--source hf`` reads it undecoded). ``atlas-data presets`` lists them. Each schema was
read from the dataset's own card or loader, at the version named in ``read``.

A sample may show several images (Mantis-Instruct, M4-Instruct, BLINK, MuirBench): its
``image`` is then their list, Image 1 first, and ``image_column`` may name several columns
(BLINK's ``image_1`` … ``image_4``). The pipeline writes one ``<image>`` per image itself,
so a preset leaves none of the dataset's own tags in a question or an option.

Benchmarks (``benchmark=True``: TreeBench, BLINK, MuirBench) load too, for decontamination
or evaluation: their images should never be trained on (``--decontaminate``).
"""

from __future__ import annotations

import ast
import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from atlas_data.rejections import Rejection

Record = Mapping[str, Any]


@dataclass(frozen=True)
class Preset:
    name: str
    dataset: str  # its hub id
    about: str
    read: str  # where its schema was read, and which version
    image_column: str | tuple[str, ...]  # several: each is cast undecoded and must exist
    adapt: Callable[[Record], dict[str, Any]]
    bbox_format: str = "xyxy"
    point_format: str = "xy"
    benchmark: bool = False


def _field(record: Record, name: str) -> Any:
    if name not in record:
        raise Rejection("bad_record", f"the row has no {name!r} column (columns: {list(record)})")
    return record[name]


def _literal(value: Any) -> Any:
    """A list or dict stored as a string (JSON or a Python literal), parsed."""
    if isinstance(value, str) and value.strip()[:1] in "[({":
        try:
            return ast.literal_eval(value.strip())
        except (ValueError, SyntaxError) as exc:
            raise Rejection("bad_bbox", f"cannot parse {value[:80]!r}: {exc}") from exc
    return value


def _turns(record: Record) -> tuple[str, str]:
    """The first human question and the first answer of a LLaVA ``conversations`` list."""
    turns = _field(record, "conversations")
    human = next((t["value"] for t in turns if t.get("from") == "human"), "")
    gpt = next((t["value"] for t in turns if t.get("from") == "gpt"), "")
    return _strip_image(human), gpt


def _strip_image(text: str) -> str:
    return re.sub(r"\s*<image>\s*", " ", text).strip()


_TAG = "<image>"


def _name_images(text: str, first: int = 1, edges: bool = False) -> str:
    """``text`` with no ``<image>`` tag left (the pipeline writes its own, one per image: a
    tag left in would miscount the images a trainer checks). Tags count the images in
    order from ``first``; one inside a sentence ("the same bird as <image>?") becomes
    ``Image k``, the name the pipeline gives that image, so the sentence keeps its sense.
    The run at either end is layout and is dropped, unless ``edges`` (an option that is
    only a tag names its image); a tag after its own label ("Image 2: <image>") goes with
    the label, which the pipeline writes itself."""
    parts = text.split(_TAG)
    if len(parts) == 1:
        return text.strip()
    worded = [i for i, p in enumerate(parts) if p.strip()]
    start, end = (worded[0], worded[-1]) if worded else (len(parts), -1)
    out = [parts[0]]
    for j, part in enumerate(parts[1:], 1):  # tag j sits between parts j-1 and j
        k = first + j - 1
        labelled = re.search(rf"(?i)\bimage\s*{k}\s*:?\s*$", out[-1])
        if labelled:  # "Image 2: <image>" is what the pipeline writes itself
            out[-1] = out[-1][: labelled.start()]
        dropped = labelled or (not edges and (j <= start or j > end))
        out += ["" if dropped else f"Image {k}", part]
    joined = re.sub(r"[ \t]+", " ", "".join(out))
    return re.sub(r" ?\n ?", "\n", joined).strip()


_ASKS, _ANSWERS = ("user", "human"), ("assistant", "gpt")


def _exchange(turns: Any) -> tuple[str, str, int]:
    """A chat's first question and first answer (turns ``{role, content}`` or LLaVA's
    ``{from, value}``, as Mantis's loader reads both), and the ``<image>`` tags in all of
    it."""
    said = [
        (str(t.get("role", t.get("from")) or ""), str(t.get("content", t.get("value")) or ""))
        for t in turns
    ]
    question = next((text for who, text in said if who in _ASKS), "")
    answer = next((text for who, text in said if who in _ANSWERS), "")
    return question, answer, sum(text.count(_TAG) for _, text in said)


# ---------------------------------------------------------------- Visual CoT

_VISCOT_ASK = re.compile(
    r"\s*Please provide the bounding box coordinate of the region that can help you answer "
    r"the question better\.?\s*$"
)
_VISCOT_FOLDER = {"textcap": "textvqa"}  # the converter files textcap images under textvqa


def visual_cot(record: Record) -> dict[str, Any]:
    """``metadata/*_cot_train.jsonl``: boxes in source pixels, images under ``<dataset>/``."""
    dataset = str(record.get("dataset") or "")
    folder = _VISCOT_FOLDER.get(dataset, dataset)
    image = str(_field(record, "image"))
    return {
        "image": f"{folder}/{image}" if folder else image,
        "question": _field(record, "question"),
        "answer": _field(record, "answer"),
        "bbox": record.get("bboxs"),
        "task": dataset or "visual-cot",
    }


def visual_cot_llava(record: Record) -> dict[str, Any]:
    """The LLaVA-format JSON (``viscot_363k.json``): the box is the second turn, a string of
    0-1 coordinates after padding the image to a square (``xyxy_square_norm``)."""
    turns = _field(record, "conversations")
    if len(turns) < 4:
        raise Rejection("bad_record", f"{len(turns)} turns; Visual CoT rows have 4")
    image = _field(record, "image")
    path = str(image[0] if isinstance(image, list) else image).split("###")[0]
    return {
        "image": path,
        "question": _VISCOT_ASK.sub("", _strip_image(turns[0]["value"])),
        "answer": turns[3]["value"],
        "bbox": _literal(turns[1]["value"]),
        "task": str(record.get("dataset") or "visual-cot"),
    }


# ---------------------------------------------------------------- V* / SEAL, TreeVGR, TreeBench


def seal(record: Record) -> dict[str, Any]:
    """V* (SEAL) training JSON: LLaVA turns; search rows name ``target_instances`` whose
    boxes are xywh in pixels."""
    question, answer = _turns(record)
    boxes = [t["bbox"] for t in record.get("target_instances") or [] if t.get("bbox")]
    return {
        "image": _field(record, "image"),
        "question": question,
        "answer": answer,
        "bbox": boxes or None,
        "task": "vstar-search" if record.get("search") else "vstar",
    }


def treevgr(record: Record) -> dict[str, Any]:
    """TreeVGR-RL-37K parquet: ``images`` (relative paths), ``problem``, ``answer`` and
    ``target_instances`` (xyxy pixels, possibly stored as a string)."""
    images = _field(record, "images")
    instances = _literal(record.get("target_instances")) or []
    boxes = [t["bbox"] if isinstance(t, Mapping) else t for t in instances]
    return {
        "image": images[0] if isinstance(images, list) and len(images) == 1 else images,
        "question": _strip_image(str(_field(record, "problem"))),
        "answer": _field(record, "answer"),
        "bbox": boxes or None,
        "task": "treevgr",
    }


def treebench(record: Record) -> dict[str, Any]:
    """``TreeBench.tsv``: a base64 image, options (a string, or A..K columns), a letter
    answer, and ``target_instances`` (xyxy pixels, a string parsed as a literal)."""
    try:
        image = base64.b64decode(str(_field(record, "image")), validate=False)
    except (binascii.Error, ValueError) as exc:
        raise Rejection("missing_image", f"the image is not base64: {exc}") from exc
    letters = [k for k in "ABCDEFGHIJK" if str(record.get(k) or "").strip()]
    choices: Any = [record[k] for k in letters] or record.get("multi-choice options")
    instances = _literal(record.get("target_instances")) or []
    return {
        "image": image,
        "question": _field(record, "question"),
        "answer": _field(record, "answer"),
        "choices": choices,
        "bbox": [t["bbox"] if isinstance(t, Mapping) else t for t in instances] or None,
        "task": str(record.get("category") or "treebench"),
    }


# ---------------------------------------------------------------- points, search, plain VQA


def pixmo_points(record: Record) -> dict[str, Any]:
    """PixMo-Points: ``points`` in percent of width and height, a ``label`` and ``count``.
    Images are URLs; download them first, named by ``image_sha256`` (``<sha>.jpg``), or
    add an ``image`` column of paths."""
    label = str(_field(record, "label")).strip()
    points = record.get("points") or []
    count = record.get("count")
    image = record.get("image") or f"{_field(record, 'image_sha256')}.jpg"
    return {
        "image": image,
        "question": f"How many {label} are there?",
        "answer": str(count if count is not None else len(points)),
        "points": points,
        "task": "pixmo-points",
    }


def deepeyes(record: Record) -> dict[str, Any]:
    """DeepEyes' verl parquet: chat ``prompt``, ``images`` (``[{bytes, path}]``), the answer
    in ``reward_model.ground_truth``; no boxes (search mode: the proposers look)."""
    extra = record.get("extra_info") or {}
    question = extra.get("question") if isinstance(extra, Mapping) else None
    if not question:
        user = [m["content"] for m in _field(record, "prompt") if m.get("role") == "user"]
        question = _strip_image(str(user[-1] if user else ""))
    return {
        "image": _field(record, "images"),
        "question": question,
        "answer": (_field(record, "reward_model") or {}).get("ground_truth"),
        "task": str(record.get("data_source") or "deepeyes"),
    }


# ---------------------------------------------------------------- several images a sample


def mantis_instruct(record: Record) -> dict[str, Any]:
    """Mantis-Instruct (one config per source): ``images`` (``{bytes, path}``, bytes null
    and the path relative to the config's unzipped ``train_images.zip``: pass data_dir),
    a ``conversation`` of ``{role, content}`` turns whose ``<image>`` tags place the
    images, and ``source``. The first exchange is the sample. Mantis's loader prepends the
    tags a chat lacks, so a chat with fewer tags than images names its tags from the end."""
    images = _field(record, "images")
    question, answer, tags = _exchange(_field(record, "conversation"))
    count = len(images) if isinstance(images, list) else 1
    return {
        "image": images,
        "question": _name_images(question, 1 + max(0, count - tags)),
        "answer": answer,
        "task": str(record.get("source") or "mantis-instruct"),
    }


def m4_instruct(record: Record) -> dict[str, Any]:
    """M4-Instruct (LLaVA-Interleave) ``m4_instruct_annotations.json``: LLaVA rows, an
    ``image`` list of paths relative to the unzipped subsets (pass data_dir) and
    ``conversations`` of ``{from, value}``; ``metadata.dataset`` names the subset."""
    images = _field(record, "image")
    question, answer, tags = _exchange(_field(record, "conversations"))
    count = len(images) if isinstance(images, list) else 1
    meta = record.get("metadata")
    subset = meta.get("dataset") if isinstance(meta, Mapping) else None
    return {
        "image": images,
        "question": _name_images(question, 1 + max(0, count - tags)),
        "answer": answer,
        "task": str(subset or "m4-instruct"),
    }


_BLINK_IMAGES = ("image_1", "image_2", "image_3", "image_4")


def _present(image: Any) -> bool:
    return image is not None and not (
        isinstance(image, Mapping) and image.get("bytes") is None and not image.get("path")
    )


def blink(record: Record) -> dict[str, Any]:
    """BLINK (one config per sub-task; ``val`` holds the answers, ``test`` hides them):
    ``image_1`` … ``image_4``, None past the sample's own, ``question``, ``choices`` and
    ``answer`` as ``"(A)"``, read as its letter. ``prompt`` is the question with the
    choices written in: the pipeline writes its own."""
    _field(record, "image_1")
    answer = _field(record, "answer")
    letter = re.fullmatch(r"\(\s*([A-Za-z])\s*\)", str(answer or "").strip())
    return {
        "image": [record[c] for c in _BLINK_IMAGES if _present(record.get(c))],
        "question": _field(record, "question"),
        "answer": letter.group(1) if letter else answer,
        "choices": _field(record, "choices"),
        "task": str(record.get("sub_task") or "blink"),
    }


def muirbench(record: Record) -> dict[str, Any]:
    """MuirBench (``test``; half its rows are unanswerable twins, ``counterpart_idx``, whose
    right option is "None of the choices provided"): ``image_list`` (2 to 9 images; a row
    of more than 8 is refused), ``question`` and ``options`` with ``<image>`` tags where
    the images go, the question's first, then the options', ``answer`` a letter, ``task``.
    An option that is an image becomes its name, "Image k"."""
    question = str(_field(record, "question"))
    k, options = 1 + question.count(_TAG), []
    for option in _field(record, "options"):
        options.append(_name_images(str(option), k, edges=True))
        k += str(option).count(_TAG)
    return {
        "image": _field(record, "image_list"),
        "question": _name_images(question),
        "answer": _field(record, "answer"),
        "choices": options,
        "task": str(record.get("task") or "muirbench"),
    }


def vqa(question: str, answers: str, task: str) -> Callable[[Record], dict[str, Any]]:
    """A plain VQA set: an image column, a question column, annotator answers (a list:
    the consensus answer is kept, every one given by enough annotators is accepted)."""

    def adapt(record: Record) -> dict[str, Any]:
        return {
            "image": _field(record, "image"),
            "question": _field(record, question),
            "answer": _field(record, answers),
            "task": task,
        }

    adapt.__doc__ = f"{task}: ``image``, ``{question}``, ``{answers}``."
    return adapt


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("visual-cot", "deepcs233/Visual-CoT",
               "Visual CoT metadata (*_cot_train.jsonl): boxes in source pixels",
               "GitHub deepcs233/Visual-CoT @83212ae; Hub metadata/ @68911f8",
               "image", visual_cot),
        Preset("visual-cot-llava", "deepcs233/Visual-CoT",
               "Visual CoT LLaVA JSON (viscot_363k.json): 0-1 boxes on the padded square",
               "tools/convert_data_to_llava_format.py @83212ae",
               "image", visual_cot_llava, bbox_format="xyxy_square_norm"),
        Preset("vstar", "craigwu/seal_vqa_data",
               "V* / SEAL training JSON: target_instances with xywh pixel boxes",
               "GitHub penghao-wu/vstar @4ede664 (train_search.py); Hub @72f0726",
               "image", seal, bbox_format="xywh"),
        Preset("treevgr", "HaochenWang/TreeVGR-RL-37K",
               "TreeVGR RL parquet: target_instances with xyxy pixel boxes",
               "GitHub Haochen-Wang409/TreeVGR @4823ad8", "images", treevgr),
        Preset("treebench", "HaochenWang/TreeBench",
               "TreeBench.tsv (a benchmark: decontaminate, don't train): base64 images, "
               "letter answers, xyxy boxes stored as strings",
               "GitHub Haochen-Wang409/TreeVGR @4823ad8 (inference_treebench.py)",
               "image", treebench, benchmark=True),
        Preset("pixmo-points", "allenai/pixmo-points",
               "PixMo-Points: points in percent, counted by label (download the images)",
               "Hub card @2b5c693; Molmo pixmo_datasets.py @9b98657 (point_scale=100)",
               "image_sha256", pixmo_points, point_format="xy_percent"),
        Preset("deepeyes", "ChenShawn/DeepEyes-Datasets-47k",
               "DeepEyes verl parquet: prompt, images, reward_model.ground_truth (no boxes)",
               "GitHub Visual-Agent/DeepEyes @6c5e796 (vl_agent.py)", "images", deepeyes),
        Preset("textvqa", "facebook/textvqa", "TextVQA: ten annotator answers",
               "Hub card @383e219 (lmms-lab/textvqa has the same columns)",
               "image", vqa("question", "answers", "textvqa")),
        Preset("chartqa", "HuggingFaceM4/ChartQA", "ChartQA: query, label (a list)",
               "Hub card @b605b6e", "image", vqa("query", "label", "chartqa")),
        Preset("docvqa", "lmms-lab/DocVQA", "DocVQA (config DocVQA): answers (a list)",
               "Hub card @59fed3c", "image", vqa("question", "answers", "docvqa")),
        Preset("mantis-instruct", "TIGER-Lab/Mantis-Instruct",
               "Mantis-Instruct (a config per source; unzip its train_images.zip, pass "
               "data_dir): 1+ images, a chat whose first exchange is the sample",
               "Hub card @856b3e6, tree @fe82751; GitHub TIGER-AI-Lab/Mantis @f3a3192 "
               "(mantis/train/data.py)", "images", mantis_instruct),
        Preset("m4-instruct", "lmms-lab/M4-Instruct-Data",
               "M4-Instruct / LLaVA-Interleave JSON (unzip the image zips, pass data_dir): "
               "image paths, LLaVA turns",
               "Hub card @main (371190f); GitHub LLaVA-VL/LLaVA-NeXT @0239a00 "
               "(llava/train/train.py); row keys from third-party loaders", "image",
               m4_instruct),
        Preset("blink", "BLINK-Benchmark/BLINK",
               "BLINK (a benchmark: decontaminate, don't train; a config per sub-task, "
               "answers in val only): 1-4 images, (A) answers",
               "GitHub zeyofu/BLINK_Benchmark @0cca9a3 (eval/test_benchmark.py); lmms-eval "
               "@205d72d (tasks/blink/utils.py); HELM @ffeb3bd (blink_scenario.py)",
               _BLINK_IMAGES, blink, benchmark=True),
        Preset("muirbench", "MUIRBENCH/MUIRBENCH",
               "MuirBench (a benchmark: decontaminate, don't train): 2-9 images, <image> "
               "tags in question and options, letter answers",
               "GitHub muirbench/MuirBench @840b85f (eval/utils); lmms-eval @06f392e "
               "(tasks/muirbench/utils.py); VLMEvalKit @9ede1af (MUIRDataset.split_MUIR)",
               "image_list", muirbench, benchmark=True),
    )
}  # fmt: skip


def preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset preset {name!r}; available: {', '.join(PRESETS)}"
        ) from None
