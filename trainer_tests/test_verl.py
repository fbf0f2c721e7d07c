"""verl 0.9.1's own RLHFDataset and reward manager on the verl export."""

from __future__ import annotations

from pathlib import Path

import pytest

verl = pytest.importorskip("verl")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from doc_blocks import block  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from transformers import AutoProcessor  # noqa: E402
from verl import DataProto  # noqa: E402
from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager  # noqa: E402
from verl.trainer.ppo.reward import get_custom_reward_fn  # noqa: E402
from verl.utils.dataset.rl_dataset import RLHFDataset  # noqa: E402

import atlas_data  # noqa: E402


def _dataset(folder: Path, settings: dict, processor, max_prompt_length: int) -> RLHFDataset:
    config = OmegaConf.create(
        {
            "max_prompt_length": max_prompt_length,
            "image_key": settings["data.image_key"],
            "filter_overlong_prompts": settings["data.filter_overlong_prompts"],
            "cache_dir": str(folder / "cache"),
        }
    )
    return RLHFDataset(str(folder / "train.parquet"), processor.tokenizer, config, processor)


def test_rlhf_dataset_keeps_every_row_at_the_written_prompt_length(exported, tiny_model):
    folder, settings = exported("verl")
    processor = AutoProcessor.from_pretrained(tiny_model)
    rows = len(_dataset(folder, settings, processor, 1 << 20).dataframe)
    kept = _dataset(folder, settings, processor, settings["data.max_prompt_length"])
    assert rows >= 12 and len(kept) == rows
    item = kept[0]
    (message,) = item["raw_prompt"]
    assert message["content"][0]["type"] == "image"
    assert message["content"][1]["text"].startswith("\n")  # the same text as every format
    # the bound is honest: a prompt's real token count never exceeds it
    for k in range(len(kept)):
        text = processor.apply_chat_template(kept[k]["raw_prompt"], add_generation_prompt=True)
        images = [c["image"] for c in kept[k]["raw_prompt"][0]["content"] if c["type"] == "image"]
        n = processor(text=[text], images=images, return_tensors="pt")["input_ids"].shape[1]
        assert n <= settings["data.max_prompt_length"]


@pytest.mark.parametrize("how", ["pkg", "file"])
def test_reward_manager_scores_decoded_references_as_the_reward_does(exported, tiny_model, how):
    """verl's naive reward manager decodes with skip_special_tokens=True, then calls our
    compute_score loaded the way verl loads it (a pkg:// module or a file path)."""
    folder, settings = exported("verl")
    processor = AutoProcessor.from_pretrained(tiny_model)
    tok = processor.tokenizer
    path = settings["reward.custom_reward_function.path"]
    if how == "file":
        path = str(Path(atlas_data.__file__).parent / "train" / "rewards.py")
    config = OmegaConf.create(
        {"reward": {"custom_reward_function": {"path": path, "name": "compute_score"}}}
    )
    manager = NaiveRewardManager(config, tok, get_custom_reward_fn(config))
    dataset = _dataset(folder, settings, processor, settings["data.max_prompt_length"])
    scores = []
    for k in range(len(dataset.dataframe)):
        row = dataset.dataframe[k]
        reference = row["extra_info"]["reference"]
        prompt = tok("<|im_start|>user\nQ<|im_end|>\n", return_tensors="pt")["input_ids"][0]
        response = tok(reference + "<|im_end|>", add_special_tokens=False, return_tensors="pt")
        response_ids = response["input_ids"][0]
        data = DataProto.from_dict(
            tensors={
                "prompts": prompt[None],
                "responses": response_ids[None],
                "attention_mask": torch.ones(1, len(prompt) + len(response_ids), dtype=torch.long),
            },
            non_tensors={
                key: np.array([dict(row[key]) if key != "data_source" else row[key]], dtype=object)
                for key in ("data_source", "reward_model", "extra_info")
            },
        )
        out = manager.loop.run_until_complete(manager.run_single(data))
        scores.append(out["reward_score"])
        spans = row["extra_info"]["reference_token_spans"]
        assert out["reward_extra_info"]["n_tokens"] == len(spans)
        assert out["reward_score"] == 1.0  # the reference, tokens and all, scores full marks
    assert len(scores) >= 12


def test_the_documented_overrides_are_verl_0_9_keys(exported):
    """main_ppo needs GPUs; its config does not: every documented key exists in verl
    0.9.1's own trainer config, and the page lists every override the export writes."""
    _, settings = exported("verl")
    lines = [ln.strip(" \\") for ln in block("verl").splitlines()[1:]]
    documented = dict(ln.split("=", 1) for ln in lines if "=" in ln)
    config = OmegaConf.load(
        Path(verl.__file__).parent / "trainer" / "config" / "_generated_ppo_trainer.yaml"
    )
    missing = object()
    for key in documented:
        assert OmegaConf.select(config, key, default=missing) is not missing, key
    written = dict(line.split("=", 1) for line in settings["overrides"])
    assert set(written) <= set(documented)
    for key in ("reward.custom_reward_function.path", "reward.custom_reward_function.name"):
        assert documented[key] == written[key]
    # the old top-level key the docs used to give is not where 0.9 reads the reward from
    assert OmegaConf.select(config, "reward.custom_reward_function.name") == "compute_score"
