"""``settings.json``: the trainer keys an export needs, with values measured on it.

One function per trainer, each returning the exact option names that trainer reads (TRL
``SFTConfig``/``GRPOConfig`` fields, LLaMA-Factory YAML keys, verl 0.9 Hydra overrides,
OpenRLHF flags). ``docs/sources-and-exports.md`` shows them in use; the trainer checks
(``make test-trainers``) run each trainer with exactly these values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from atlas_data.tokens import Vocabulary

REWARD_MODULE = "atlas_data.train.rewards"


def _rl_response(limits: dict[str, Any]) -> int:
    """Room for a rollout: twice the longest reference (it may explore more than it)."""
    return max(512, 2 * int(limits["completion_tokens_max"]))


def _trl(limits: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {
        "SFTConfig": {"max_length": limits["sequence_tokens_max"]},
        "GRPOConfig": {
            "max_completion_length": _rl_response(limits),
        },
        "processor": {"max_pixels": limits["image_max_pixels"]},
        "reward_funcs": f"{REWARD_MODULE}.trl_reward",
        "notes": [
            "prompt/completion rows: SFTTrainer puts the loss on the completion only "
            "(completion_only_loss defaults to true for this layout)",
            "max_length covers the longest row; with a smaller one TRL truncates image "
            "tokens and fails ('Mismatch in image token count')",
        ],
    }


def _llamafactory(
    limits: dict[str, Any], vocab: Vocabulary, target: Path, result: dict[str, Any]
) -> dict[str, Any]:
    return {
        "dataset": result["name"],
        "dataset_dir": str(target),
        "template": "qwen2_vl",
        "cutoff_len": limits["sequence_tokens_max"],
        "image_max_pixels": limits["image_max_pixels"],
        "add_tokens": ",".join(vocab.tokens),
        "resize_vocab": True,
        "notes": [
            "add_tokens registers the tokens as plain (not special) tokens: one id each, and "
            "they survive skip_special_tokens=True when the model is decoded for a reward",
            "functional_tokens.yaml ({token: meaning}) is for new_special_tokens_config with "
            "init_special_tokens: desc_init_w_noise (embeddings initialised from the "
            "meanings). LLaMA-Factory then registers the tokens as *special*: before any "
            "decoding for a reward, load the trained tokenizer, call "
            "atlas_data.train.tokenizer.add_functional_tokens(tokenizer) (it turns them back into "
            "plain tokens) and save it",
        ],
    }


def _verl(limits: dict[str, Any], target: Path, **_: Any) -> dict[str, Any]:
    overrides = {
        "data.train_files": str(target / "train.parquet"),
        "data.image_key": "images",
        "data.max_prompt_length": limits["prompt_tokens_max"],
        "data.max_response_length": _rl_response(limits),
        "data.filter_overlong_prompts": True,
        "reward.custom_reward_function.path": f"pkg://{REWARD_MODULE}",
        "reward.custom_reward_function.name": "compute_score",
    }
    return {
        **overrides,
        "overrides": [
            f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in overrides.items()
        ],
        "notes": [
            "verl 0.9 reads reward.custom_reward_function (the top-level "
            "custom_reward_function of older releases is ignored)",
            "a file path works too: reward.custom_reward_function.path=<site-packages>/"
            "atlas_data/train/rewards.py",
        ],
    }


def _openrlhf(limits: dict[str, Any], target: Path, **_: Any) -> dict[str, Any]:
    return {
        "--prompt_data": str(target / "train.jsonl"),
        "--input_key": "prompt",
        "--label_key": "label",
        "--apply_chat_template": True,
        "--remote_rm_url": "<site-packages>/atlas_data/train/rewards.py",
        "--prompt_max_len": limits["prompt_tokens_max"],
        "--generate_max_len": _rl_response(limits),
        "notes": [
            "reward_func(queries, prompts, labels) in atlas_data/train/rewards.py reads the label "
            "column; images are paths relative to this folder (multimodal forks of "
            "OpenRLHF read an `images` column)",
        ],
    }


BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "trl": _trl,
    "llamafactory": _llamafactory,
    "verl": _verl,
    "openrlhf": _openrlhf,
}


def trainer_settings(
    fmt: str, limits: dict[str, Any], vocab: Vocabulary, target: Path, result: dict[str, Any]
) -> dict[str, Any]:
    """``settings.json`` for one export: measured limits and the trainer's own keys."""
    section = BUILDERS[fmt](limits=limits, vocab=vocab, target=target, result=result)
    return {"trainer": fmt, "limits": limits, fmt: section}
