"""Row builders, next to the schemas they fill (``store/schemas.py``): one function per
row type, so a row is built in one place and its schema says what each column holds."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from atlas_data.rejections import Rejection
from atlas_data.sources.base import SourceRejection, SourceSample
from atlas_data.tokens import Vocabulary
from atlas_data.trajectory.judgement import ChosenStep
from atlas_data.trajectory.model import Rendered, Trajectory, agentic_messages


def teacher_label(name: str, options: dict[str, Any]) -> str:
    """The SFT row's ``teacher`` column: ``openai:gpt-4o-mini``, or ``template``."""
    model = options.get("model")
    return f"{name}:{model}" if model else name


def image_struct(data: bytes, path: str) -> dict[str, Any]:
    """The Hugging Face ``Image`` convention: bytes in the row, a file name for extensions."""
    return {"bytes": data, "path": path}


def operation_struct(step: ChosenStep, vocab: Vocabulary) -> dict[str, Any]:
    """One operation with its token and the judges' verdict and evidence (queryable)."""
    j = step.judgement
    return {
        "name": step.operation.name,
        "token": vocab.token_for(step.operation.name),
        "params": step.operation.params_json(),
        "judge": j.judge,
        "helpful": j.helpful,
        "score": j.score,
        "evidence": json.dumps(j.evidence, sort_keys=True, default=str),
        "proposer": step.proposer,
        "frame": json.dumps(step.frame.to_json()) if step.frame else "",
    }


def reject_row(
    run_id: str, item: SourceSample | SourceRejection, rejection: Rejection
) -> dict[str, Any]:
    """The rejection row of ``item``: its stage, reason, detail, raw text and trail."""
    return {
        "id": item.id,
        "run_id": run_id,
        "task": item.task,
        "source": item.source,
        "stage": rejection.stage,
        "reason": rejection.reason,
        "detail": rejection.detail[:2000],
        "question": item.question[:2000],
        "raw": rejection.raw[:20000],
        "operations": rejection.trail,
    }


def kept_rows(
    run_id: str,
    sample: SourceSample,
    kinds: tuple[str, ...],
    *,
    trajectory: Trajectory,
    functional: Rendered,
    agentic: Rendered,
    prompt: str,
    preset: str,
    vocab: Vocabulary,
    ops: list[dict[str, Any]],
    source_images: list[dict[str, Any]],
    observations: list[dict[str, Any]],
    teacher: str,
) -> dict[str, dict[str, Any]]:
    """The SFT and/or RL row of one kept trajectory, by kind."""
    spans = [asdict(s) for s in functional.spans]
    common = {
        "id": sample.id,
        "run_id": run_id,
        "task": sample.task,
        "source": sample.source,
        "question": sample.question,
        "answer": sample.answer,
        "choices": sample.choices,
        "preset": preset,
        "vocab_hash": vocab.hash,
        "images": source_images,
        "operations": ops,
        "tokens": [s.token for s in functional.spans],
        "direct": not trajectory.steps,
    }
    rows: dict[str, dict[str, Any]] = {}
    if "sft" in kinds:
        rows["sft"] = {
            **common,
            "observations": observations,
            "messages": [
                {"role": "user", "content": prompt},
                {"role": "assistant", "content": functional.text},
            ],
            "agentic_messages": agentic_messages(agentic, prompt),
            "text": functional.text,
            "agentic_text": agentic.text,
            "token_spans": spans,
            "teacher": teacher,
        }
    if "rl" in kinds:
        rows["rl"] = {
            **common,
            "data_source": f"atlas-data/{sample.source}",
            "ability": sample.task,
            "prompt": [{"role": "user", "content": prompt}],
            "reference": functional.text,
            "reference_token_spans": spans,
        }
    return rows
