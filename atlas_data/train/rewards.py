"""The RL reward: answer correctness, format, and functional-token use.

Dependency-free: only the standard library and :mod:`atlas_data.answers` /
:mod:`atlas_data.trajectory.formats` / :mod:`atlas_data.tokens` (themselves standard-library
only), so a trainer process can load
it by path without images, Arrow or NumPy. Three trainers' signatures, one score:

* verl 0.9 (``compute_score``), loaded by file path or as a package::

    reward.custom_reward_function.path=pkg://atlas_data.train.rewards
    reward.custom_reward_function.name=compute_score

  (or the file path, ``.../atlas_data/train/rewards.py``).

  verl executes a file path without registering the module in ``sys.modules``, so this
  module must not use string annotations (``from __future__ import annotations``) on
  dataclasses: that is why it has none.
* TRL's ``GRPOTrainer(reward_funcs=[trl_reward])``: the export's ``answer`` and
  ``extra_info`` columns arrive as keyword arguments.
* OpenRLHF's ``--remote_rm_url .../atlas_data/train/rewards.py`` (``reward_func``), with the
  export's ``label`` column (``--label_key label``).

Chat-template control tokens (``<|im_end|>``, ``<|eot_id|>``… see
:data:`atlas_data.trajectory.formats.CHAT_CONTROL_TOKENS`, plus
``extra_info["control_tokens"]``) are removed before scoring: a completion decoded with or
without ``skip_special_tokens`` scores the same.

The run's preset and vocabulary travel in ``extra_info`` (``preset``, ``vocab`` as JSON,
``reference_token_count``: the verl export writes them); without them the defaults apply.

Score (all weights in :class:`RewardWeights`, clamped to ``[0, 1]``)::

    answer * correct + format * well_formed + tokens * token_use - penalties

* ``correct``: the final answer (parsed leniently, so a format slip costs only the format
  part) is right by :func:`atlas_data.answers.matches`, the rule the SFT verifier applies
  too ("3.0" for "3"; for multiple choice the option letter; ``extra_info["accepted"]``).
* ``well_formed``: the preset parses the text, tokens sit only in the reasoning and, for
  ``atlas``, each on its own line.
* ``token_use``: the share of the vocabulary's tokens that have a purpose — some prose
  follows before the next token or the answer (what the operation showed). It is 0 when no
  token is used although the reference used some, when any unknown token-like string
  appears, or when the count exceeds the budget. So *correct with tokens* (1.0) beats
  *correct without* (0.9), which beats any wrong answer (≤ 0.2): the answer dominates and
  tokens are a tie-breaker, never a substitute.
* penalties: each unknown token, each token beyond the budget
  (``max(2 * reference, reference + spam_slack)``) and each purposeless token costs a
  fixed amount, capped at ``max_penalty``.
"""

import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from atlas_data.answers import matches
from atlas_data.tokens import Vocabulary, default_vocabulary
from atlas_data.trajectory.formats import (
    BOXED,
    CHAT_CONTROL_TOKENS,
    DEFAULT_PRESET,
    PRESET_TAGS,
    TOKEN_LIKE,
    FormatError,
    get_preset,
)


@dataclass(frozen=True)
class RewardWeights:
    """Every number of the reward, in one place."""

    answer: float = 0.8
    format: float = 0.1
    tokens: float = 0.1
    unknown_token_penalty: float = 0.25  # per unknown token-like string
    spam_penalty: float = 0.1  # per token beyond the budget
    purposeless_penalty: float = 0.05  # per token with nothing observed after it
    max_penalty: float = 0.5
    spam_slack: int = 2
    default_budget: int = 4  # budget when the reference token count is unknown
    min_observation_chars: int = 8  # prose after a token that counts as "what was seen"


WEIGHTS = RewardWeights()

_ANSWER_TAG = re.compile(r"<answer>(.*?)(?:</answer>|\Z)", re.DOTALL)


def answers_match(got: str, truth: str, choices: Any = None, accepted: Any = ()) -> bool:
    """The one answer rule (:func:`atlas_data.answers.matches`); ``choices`` and
    ``accepted`` may be lists or NumPy arrays, as a trainer's dataframe hands them over."""
    return matches(
        got,
        truth,
        None if choices is None else [str(c) for c in choices],
        () if accepted is None else [str(a) for a in accepted],
    )


@lru_cache(maxsize=32)
def _vocab_from_json(blob: str) -> Vocabulary:
    return Vocabulary.from_json(json.loads(blob))


def vocabulary_of(extra_info: dict[str, Any] | None) -> Vocabulary:
    """The run's vocabulary from ``extra_info["vocab"]`` (JSON or dict), else the default."""
    vocab = (extra_info or {}).get("vocab")
    if not vocab:
        return default_vocabulary()
    blob = vocab if isinstance(vocab, str) else json.dumps(vocab, sort_keys=True)
    return _vocab_from_json(blob)


def strip_control_tokens(text: str, vocab: Vocabulary, extra: Any = None) -> str:
    """``text`` without the chat template's control tokens (never a functional token)."""
    more = set() if extra is None else {str(t) for t in extra}  # a list or a NumPy array
    control = (CHAT_CONTROL_TOKENS | more) - set(vocab.tokens)
    for token in control:
        if token in text:
            text = text.replace(token, "")
    return text


def extract_answer(text: str, preset: str) -> tuple[str | None, bool]:
    """``(answer, parsed_by_preset)``: strict parse first, then the last answer-looking part."""
    try:
        return get_preset(preset).parse(text).answer, True
    except FormatError:
        pass
    boxes = BOXED.findall(text)
    if boxes:
        return boxes[-1].strip(), False
    tags = _ANSWER_TAG.findall(text)
    if tags:
        return tags[-1].strip(), False
    return None, False


def _reasoning_end(text: str, preset: str) -> int:
    """Where the reasoning stops and the final answer starts."""
    if preset == "think-answer":
        i = text.find("</think>")
        return i if i >= 0 else len(text)
    m = list(BOXED.finditer(text))
    if not m:
        return len(text)
    return text.rfind("\n", 0, m[-1].start()) + 1  # the final-answer sentence starts its line


def compute_score(
    data_source: str | None,
    solution_str: str,
    ground_truth: str,
    extra_info: dict[str, Any] | None = None,
    weights: RewardWeights = WEIGHTS,
    **_: Any,
) -> dict[str, Any]:
    """verl's custom reward: a dict whose ``score`` is the reward, the rest logged."""
    info = extra_info or {}
    preset = str(info.get("preset") or DEFAULT_PRESET)
    vocab = vocabulary_of(info)
    text = strip_control_tokens(solution_str or "", vocab, info.get("control_tokens"))

    answer, parsed = extract_answer(text, preset)
    choices, accepted = info.get("choices"), info.get("accepted")
    correct = answer is not None and answers_match(answer, str(ground_truth), choices, accepted)

    found = list(vocab.token_pattern.finditer(text))
    stripped = vocab.token_pattern.sub(" ", text)
    unknown = [m.group(0) for m in TOKEN_LIKE.finditer(stripped)]
    unknown = [u for u in unknown if u not in PRESET_TAGS]
    end = _reasoning_end(text, preset)

    own_line = all(
        text[: m.start()].rsplit("\n", 1)[-1].strip() == ""
        and text[m.end() :].split("\n", 1)[0].strip() == ""
        for m in found
    )
    in_answer = any(m.start() >= end for m in found)
    well_formed = parsed and not in_answer and (own_line or preset != "atlas")

    ref = info.get("reference_token_count")
    ref_count = int(ref) if ref is not None else None
    if ref_count is None:
        budget = weights.default_budget
    else:
        budget = max(2 * ref_count, ref_count + weights.spam_slack)
    n = len(found)
    purposeful = 0
    for k, m in enumerate(found):
        stop = found[k + 1].start() if k + 1 < n else end
        seen = re.sub(r"\s+", " ", text[m.end() : max(m.end(), stop)]).strip()
        if len(seen) >= weights.min_observation_chars:
            purposeful += 1
    purposeless = n - purposeful
    excess = max(0, n - budget)
    if unknown or excess:
        token_use = 0.0
    elif n == 0:
        token_use = 1.0 if ref_count == 0 else 0.0
    else:
        token_use = purposeful / n

    penalty = min(
        weights.max_penalty,
        weights.unknown_token_penalty * len(unknown)
        + weights.spam_penalty * excess
        + weights.purposeless_penalty * purposeless,
    )
    raw = (
        weights.answer * correct
        + weights.format * well_formed
        + weights.tokens * token_use
        - penalty
    )
    return {
        "score": round(min(1.0, max(0.0, raw)), 6),
        "acc": float(correct),
        "format": float(well_formed),
        "token_use": round(token_use, 6),
        "n_tokens": float(n),
        "unknown_tokens": float(len(unknown)),
        "excess_tokens": float(excess),
        "purposeless_tokens": float(purposeless),
        "penalty": round(penalty, 6),
    }


def score(
    solution_str: str,
    ground_truth: str,
    extra_info: dict[str, Any] | None = None,
    weights: RewardWeights = WEIGHTS,
) -> float:
    """The scalar reward alone (for trainers that want a float, e.g. TRL's GRPO)."""
    return float(compute_score(None, solution_str, ground_truth, extra_info, weights)["score"])


def weights_json(weights: RewardWeights = WEIGHTS) -> dict[str, Any]:
    return asdict(weights)


def _content(completion: Any) -> str:
    """A TRL completion: plain text, or ``[{"role": "assistant", "content": ...}]``."""
    if isinstance(completion, str):
        return completion
    parts: list[str] = []
    for message in completion:
        content = message.get("content", "")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(p.get("text") or "" for p in content if p.get("type") == "text")
    return "".join(parts)


def trl_reward(
    completions: list[Any],
    answer: list[str],
    extra_info: list[dict[str, Any] | None] | None = None,
    **_: Any,
) -> list[float]:
    """TRL ``GRPOTrainer`` reward function: one score per completion."""
    infos = extra_info or [None] * len(completions)
    return [
        score(_content(c), str(a), info)
        for c, a, info in zip(completions, answer, infos, strict=True)
    ]


def parse_label(label: Any) -> tuple[str, dict[str, Any] | None]:
    """The export's ``label``: JSON ``{"answer", "extra_info"}``; a bare string is the answer."""
    if isinstance(label, str) and label.startswith("{"):
        try:
            data = json.loads(label)
        except ValueError:
            return label, None
        if isinstance(data, dict) and "answer" in data:
            return str(data["answer"]), data.get("extra_info")
    return str(label), None


def _response(query: str, prompt: str) -> str:
    """The completion inside OpenRLHF's ``query`` (prompt + response, maybe left-padded)."""
    if prompt and prompt in query:
        return query[query.rindex(prompt) + len(prompt) :]
    marker = "<|im_start|>assistant\n"  # Qwen-style templates, when the prompt was not given
    return query.rsplit(marker, 1)[-1] if marker in query else query


def reward_func(queries: list[str], prompts: list[str], labels: list[Any], **_: Any) -> Any:
    """OpenRLHF's custom reward (``--remote_rm_url`` this file, ``--label_key label``).

    Returns ``{"rewards", "scores", "extra_logs"}`` as tensors when torch is importable
    (OpenRLHF always has it), else as lists.
    """
    results = []
    for query, prompt, label in zip(queries, prompts, labels, strict=True):
        answer, info = parse_label(label)
        results.append(compute_score(None, _response(query, prompt), answer, info))
    columns = {key: [float(r[key]) for r in results] for key in ("score", "acc", "token_use")}
    try:
        import torch

        tensors: dict[str, Any] = {k: torch.tensor(v) for k, v in columns.items()}
    except ImportError:
        tensors = dict(columns)
    return {
        "rewards": tensors["score"],
        "scores": tensors["score"],
        "extra_logs": {"acc": tensors["acc"], "token_use": tensors["token_use"]},
    }
