"""Presets for the public grounded datasets: one flag instead of a column map and a guess.

A preset turns one row of a dataset, in that dataset's own schema, into the fields every
record source reads (``image``, ``question``, ``answer``, ``choices``, ``bbox``, ``points``,
``task``), and says the dataset's box or point convention and which column holds its image
(so ``--source hf`` reads it undecoded). ``atlas-data presets`` lists them. Each schema was
read from the dataset's own card or loader, at the version named in ``read``.

Benchmarks (``benchmark=True``: TreeBench) load too, for decontamination or evaluation:
their images should never be trained on (``--decontaminate``).
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
    image_column: str
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
    )
}  # fmt: skip


def preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset preset {name!r}; available: {', '.join(PRESETS)}"
        ) from None
