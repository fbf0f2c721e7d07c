"""Output format presets: how a trajectory's reasoning and final answer are laid out.

``atlas`` is the paper's style: plain prose, each token on its own line, the final answer
in ``\\boxed{}``. ``think-answer`` is the R1 style: ``<think>…</think><answer>…</answer>``.
Renderers, verifiers, rewards and exporters all go through :func:`get_preset`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

# The one answer rule lives in atlas_data.answers; the old name stays for older callers.
from atlas_data.answers import normalize as normalize_answer  # noqa: F401
from atlas_data.config import PRESET_NAMES


class FormatError(ValueError):
    """Text that does not follow the preset; the message names what is wrong."""


@dataclass(frozen=True)
class Parsed:
    reasoning: str
    answer: str


class Preset(Protocol):
    name: str

    def wrap(self, reasoning: str, answer: str) -> str: ...

    def parse(self, text: str) -> Parsed: ...

    def instruction(self) -> str:
        """One sentence telling a model (teacher or trainee) how to lay out its answer."""
        ...


BOXED = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
# The tags the think-answer preset writes: not functional tokens, never "unknown" ones.
PRESET_TAGS = frozenset({"<think>", "</think>", "<answer>", "</answer>"})
# Chat-template control tokens of common model families (Qwen/Qwen-VL, Llama 3, Phi,
# Gemma, Mistral/Llama 2). A trainer that decodes with skip_special_tokens=False (OpenRLHF,
# verl with that option) hands them to the reward; they are the template's, never the
# model's reasoning, so the reward ignores them instead of counting unknown tokens.
CHAT_CONTROL_TOKENS = frozenset(
    {
        *(
            f"<|{name}|>"
            for name in (
                "im_start",
                "im_end",
                "endoftext",
                "vision_start",
                "vision_end",
                "vision_pad",
                "image_pad",
                "video_pad",
                "begin_of_text",
                "end_of_text",
                "start_header_id",
                "end_header_id",
                "eot_id",
                "eom_id",
                "finetune_right_pad_id",
                "end",
                "user",
                "assistant",
                "system",
            )
        ),
        "<s>",
        "</s>",
        "<pad>",
        "<unk>",
        "<bos>",
        "<eos>",
        "<start_of_turn>",
        "<end_of_turn>",
    }
)


class AtlasPreset:
    name = "atlas"

    def wrap(self, reasoning: str, answer: str) -> str:
        return f"{reasoning.rstrip()}\nThe answer is \\boxed{{{answer}}}."

    def parse(self, text: str) -> Parsed:
        if "<think>" in text or "<answer>" in text:
            raise FormatError("atlas format must not contain <think>/<answer> tags")
        boxes = list(BOXED.finditer(text))
        if not boxes:
            raise FormatError("no \\boxed{...} final answer")
        if len(boxes) > 1:
            raise FormatError(f"{len(boxes)} \\boxed{{}} answers; expected exactly one")
        last = boxes[0]
        if text[last.end() :].strip(" .\n") != "":
            raise FormatError("text continues after the \\boxed{} final answer")
        reasoning = text[: last.start()].strip()
        if not reasoning:
            raise FormatError("no reasoning before the final answer")
        return Parsed(reasoning=reasoning, answer=last.group(1).strip())

    def instruction(self) -> str:
        return "Reason in plain prose, then give the final answer as \\boxed{ANSWER}."


_THINK = re.compile(r"\A\s*<think>(.*?)</think>\s*<answer>(.*?)</answer>\s*\Z", re.DOTALL)


class ThinkAnswerPreset:
    name = "think-answer"

    def wrap(self, reasoning: str, answer: str) -> str:
        return f"<think>\n{reasoning.strip()}\n</think>\n<answer>{answer}</answer>"

    def parse(self, text: str) -> Parsed:
        m = _THINK.match(text)
        if not m:
            missing = [t for t in ("<think>", "</think>", "<answer>", "</answer>") if t not in text]
            why = f"missing {', '.join(missing)}" if missing else "tags out of order or extra text"
            raise FormatError(f"not <think>…</think><answer>…</answer>: {why}")
        reasoning, answer = m.group(1).strip(), m.group(2).strip()
        if any(t in reasoning for t in ("<think>", "</think>", "<answer>")):
            raise FormatError("nested or repeated tags inside <think>")
        if not reasoning:
            raise FormatError("empty <think> block")
        if "\\boxed" in text:
            raise FormatError("think-answer format must not use \\boxed{}")
        return Parsed(reasoning=reasoning, answer=answer)

    def instruction(self) -> str:
        return (
            "Reason inside <think>...</think>, then give only the answer in <answer>...</answer>."
        )


PRESETS: dict[str, Preset] = {p.name: p for p in (AtlasPreset(), ThinkAnswerPreset())}
DEFAULT_PRESET = "atlas"
# --preset is validated by the config against its names: they must be exactly these.
if tuple(PRESETS) != PRESET_NAMES:  # pragma: no cover - a preset added on one side only
    raise RuntimeError(f"config.PRESET_NAMES {PRESET_NAMES} != the presets {tuple(PRESETS)}")


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown format preset {name!r}; choose one of {list(PRESETS)}") from None


# Anything that looks like a special token (<|Foo|>, <foo>, </foo>): verifiers and rewards
# compare what they find against the vocabulary in use.
TOKEN_LIKE = re.compile(r"<\|[^|<>\s]{1,40}\|>|</?[A-Za-z_][\w-]{0,40}>")
