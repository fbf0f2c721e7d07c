"""verl 0.9.1's own RLHFDataset and reward manager on the verl export."""

from __future__ import annotations

from pathlib import Path

import pytest

verl = pytest.importorskip("verl")

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import torch  # noqa: E402
from doc_blocks import block  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from PIL import Image  # noqa: E402
from transformers import AutoProcessor  # noqa: E402
from verl import DataProto  # noqa: E402
from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager  # noqa: E402
from verl.trainer.ppo.reward import get_custom_reward_fn  # noqa: E402
from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn  # noqa: E402
from verl.utils.tokenizer import build_multimodal_processor_inputs  # noqa: E402

import atlas_data  # noqa: E402

# RLHFDataset filters long prompts in a forked worker that runs the image processor. Once
# this process has run torch ops on several threads (these tests do, on images), a forked
# child that enters a parallel region waits on threads it does not have: a three-image
# row's tensors are big enough to enter one, and hung. A single thread forks safely.
torch.set_num_threads(1)


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


def test_rlhf_dataset_gives_every_image_of_multi_image_rows(multi_exported, tiny_model):
    """Rows of 3, 2, 2 and 1 images: RLHFDataset keeps them all at the written prompt
    length, puts each image where its placeholder was, and verl's own vision processing
    (as the rollout runs it) gives the processor every image."""
    folder, settings = multi_exported("verl")
    processor = AutoProcessor.from_pretrained(tiny_model)
    tok = processor.tokenizer
    start, pad = (tok.convert_tokens_to_ids(t) for t in ("<|vision_start|>", "<|image_pad|>"))
    merge = processor.image_processor.merge_size
    dataset = _dataset(folder, settings, processor, settings["data.max_prompt_length"])
    # a row verl cannot process is dropped by its length filter ("skipping"): none is
    assert len(dataset) == pq.read_metadata(folder / "train.parquet").num_rows == 4
    counts = []
    for k in range(len(dataset)):
        row = dataset.dataframe[k]
        placeholders = row["prompt"][0]["content"]
        item = dataset[k]
        (message,) = item["raw_prompt"]
        parts = message["content"]
        n = len(row["images"])
        assert placeholders.count("<image>") == n == sum(p["type"] == "image" for p in parts)
        assert all(isinstance(p["image"], Image.Image) for p in parts if p["type"] == "image")
        text = "".join("<image>" if p["type"] == "image" else p["text"] for p in parts)
        assert text == placeholders  # the same text around each image
        images, videos, audios = RLHFDataset._process_multi_modal_info(
            item["raw_prompt"], dataset.image_patch_size, dataset.config
        )
        assert len(images) == n and not videos
        raw = processor.apply_chat_template(
            item["raw_prompt"], add_generation_prompt=True, tokenize=False
        )
        inputs = build_multimodal_processor_inputs(
            processor,
            text=[raw],
            images=images,
            videos=videos,
            audio=audios,
            mm_processor_kwargs=dataset.mm_processor_kwargs,
        )
        ids = inputs["input_ids"][0].tolist()
        grids = inputs["image_grid_thw"].tolist()
        assert ids.count(start) == len(grids) == n
        assert ids.count(pad) == sum(t * h * w for t, h, w in grids) // merge**2
        assert len(ids) <= settings["data.max_prompt_length"]
        counts.append(n)
    assert sorted(counts) == [1, 2, 2, 3]
    batch = collate_fn([dataset[k] for k in range(len(dataset))])  # the dataloader's batch
    assert [
        sum(p["type"] == "image" for p in prompt[0]["content"]) for prompt in batch["raw_prompt"]
    ] == counts


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
