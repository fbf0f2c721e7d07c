"""TRL 1.16's own SFTTrainer and GRPOTrainer (LA-GRPO) on the TRL export, on CPU."""

from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch")
trl = pytest.importorskip("trl")

from datasets import load_dataset  # noqa: E402
from doc_blocks import block, with_paths  # noqa: E402
from transformers import AutoModelForImageTextToText, AutoProcessor  # noqa: E402

from atlas_data.tokens import DEFAULT_VOCABULARY  # noqa: E402
from atlas_data.train import LAGRPOTrainer, functional_token_mask  # noqa: E402
from atlas_data.train.rewards import trl_reward  # noqa: E402
from atlas_data.train.tokenizer import check_single_ids  # noqa: E402

COMMON = {"report_to": [], "use_cpu": True, "save_strategy": "no", "logging_steps": 1}


def _load(model_dir):
    processor = AutoProcessor.from_pretrained(model_dir, padding_side="left")
    return processor, AutoModelForImageTextToText.from_pretrained(model_dir)


def test_sft_trains_on_the_completion_only_with_one_label_per_token(exported, tiny_model, tmp_path):
    folder, settings = exported("trl")
    processor, model = _load(tiny_model)
    ids = check_single_ids(processor.tokenizer)
    ds = load_dataset("parquet", data_files=str(folder / "train.parquet"), split="train")
    config = trl.SFTConfig(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=2,
        **settings["SFTConfig"],
        **COMMON,
    )
    trainer = trl.SFTTrainer(model=model, args=config, train_dataset=ds, processing_class=processor)
    batch = next(iter(trainer.get_train_dataloader()))
    tok = processor.tokenizer
    rows = {r["completion"][0]["content"][0]["text"]: r for r in ds}  # the loader shuffles
    for input_ids, labels in zip(batch["input_ids"], batch["labels"], strict=True):
        trained = input_ids[labels != -100].tolist()
        decoded = tok.decode(trained)
        # exactly the assistant turn (and its end token) carries loss: no system, user or image
        assert decoded.endswith("<|im_end|>\n")
        completion = decoded.removesuffix("<|im_end|>\n")
        row = rows[completion]
        assert tok.convert_tokens_to_ids("<|image_pad|>") not in trained
        for token, i in ids.items():
            assert trained.count(i) == completion.count(token)  # each token one label id
        # the export's character spans land on exactly those ids
        mask = functional_token_mask(tok, completion, row["token_spans"])
        completion_ids = tok(completion, add_special_tokens=False)["input_ids"]
        marked = [completion_ids[i] for i, m in enumerate(mask) if m]
        assert marked == [ids[s["token"]] for s in row["token_spans"]]
    result = trainer.train()
    assert result.global_step == 2 and torch.isfinite(torch.tensor(result.training_loss))


VISION = re.compile(r"<\|vision_start\|>(?:<\|image_pad\|>)+<\|vision_end\|>")


def test_sft_collator_batches_every_image_of_multi_image_rows(multi_exported, tiny_model, tmp_path):
    """Rows of 3, 2, 2 and 1 images in one batch of SFTTrainer's own collator: each row's
    images are all there, each where the row's prompt places it, and the model takes them."""
    folder, settings = multi_exported("trl")
    processor, model = _load(tiny_model)
    ds = load_dataset("parquet", data_files=str(folder / "train.parquet"), split="train")
    assert max(len(r["images"]) for r in ds) == 3
    config = trl.SFTConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=len(ds),
        **settings["SFTConfig"],
        **COMMON,
    )
    trainer = trl.SFTTrainer(model=model, args=config, train_dataset=ds, processing_class=processor)
    batch = next(iter(trainer.get_train_dataloader()))
    tok = processor.tokenizer
    start, pad = (tok.convert_tokens_to_ids(t) for t in ("<|vision_start|>", "<|image_pad|>"))
    merge = processor.image_processor.merge_size
    grids = batch["image_grid_thw"].tolist()  # one row per image, the batch's rows in order
    rows = {r["completion"][0]["content"][0]["text"]: r for r in ds}  # the loader shuffles
    seen, used = [], 0
    for input_ids, labels, mask in zip(
        batch["input_ids"], batch["labels"], batch["attention_mask"], strict=True
    ):
        row = rows[tok.decode(input_ids[labels != -100].tolist()).removesuffix("<|im_end|>\n")]
        parts = row["prompt"][0]["content"]
        n = len(row["images"])
        ids = input_ids[mask == 1].tolist()
        assert ids.count(start) == n == sum(p["type"] == "image" for p in parts)
        own = grids[used : used + n]
        used += n
        assert ids.count(pad) == sum(t * h * w for t, h, w in own) // merge**2
        # the prompt as the model sees it, each image's tokens written back as a placeholder
        prompt = VISION.sub("<image>", tok.decode(input_ids[(labels == -100) & (mask == 1)]))
        user = "".join("<image>" if p["type"] == "image" else p["text"] for p in parts)
        assert f"<|im_start|>user\n{user}<|im_end|>" in prompt
        seen.append(n)
    assert used == len(grids) and sorted(seen) == sorted(len(r["images"]) for r in ds)
    with torch.no_grad():  # Qwen2-VL checks image features against image tokens
        out = trainer.model(**batch)
    assert torch.isfinite(out.loss)


def _la_trainer(exported, tiny_model, tmp_path, alpha, **extra):
    folder, settings = exported("trl")
    processor, model = _load(tiny_model)
    ds = load_dataset("parquet", data_files=str(folder / "train.parquet"), split="train")
    config = trl.GRPOConfig(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=24,
        seed=0,
        **extra,
        **COMMON,
    )
    return LAGRPOTrainer(
        model=model,
        args=config,
        train_dataset=ds.select(range(4)),
        processing_class=processor,
        reward_funcs=[trl_reward],
        alpha=alpha,
    )


def test_la_grpo_two_steps_with_functional_tokens_in_the_rollouts(exported, tiny_model, tmp_path):
    # An untrained model almost never samples a functional token; a small generation bias
    # (sampling only: the loss uses the model's own log-probs) puts some in the rollouts.
    bias = [[[i], 3.0] for i in range(len(_load(tiny_model)[0].tokenizer))[-5:]]
    trainer = _la_trainer(
        exported, tiny_model, tmp_path, alpha=1.0, generation_kwargs={"sequence_bias": bias}
    )
    result = trainer.train()
    assert result.global_step == 2
    logged = [h for h in trainer.state.log_history if "la_grpo/functional_tokens" in h]
    assert len(logged) == 2 and sum(h["la_grpo/functional_tokens"] for h in logged) > 0


def test_la_grpo_adds_alpha_times_the_mean_functional_token_loss(exported, tiny_model, tmp_path):
    """The objective itself, on fixed inputs: L_LA - L_GRPO = alpha * mean_F(per-token loss)."""
    trainer = _la_trainer(exported, tiny_model, tmp_path, alpha=0.5)
    tok = trainer.processing_class.tokenizer
    manip, line = tok.convert_tokens_to_ids("<|Manip|>"), tok.convert_tokens_to_ids("<|Line|>")
    prompt = tok(["The tag", "The gauge"], return_tensors="pt", padding=True)
    completion_ids = torch.tensor([[11, manip, 12, 13], [14, 15, line, 16]])
    inputs = {
        "prompt_ids": prompt["input_ids"],
        "prompt_mask": prompt["attention_mask"],
        "completion_ids": completion_ids,
        "completion_mask": torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]),
        "advantages": torch.tensor([1.0, -0.5]),
        "num_items_in_batch": torch.tensor(7.0),
    }
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 2  # set by the training loop; fixed here
    la = trainer._compute_loss(trainer.model, inputs)
    base = trl.GRPOTrainer._compute_loss(trainer, trainer.model, inputs)
    # on-policy (ratio 1): the per-token loss is -advantage, so the functional-token mean is
    # (-1.0 + 0.5) / 2 = -0.25; alpha = 0.5 adds -0.125, over 2 accumulation steps -0.0625
    expected = 0.5 * -0.25 / 2
    assert float(la - base) == pytest.approx(expected, abs=1e-5)
    assert trainer.functional_mask(inputs).sum() == 2
    assert set(trainer.functional_ids.tolist()) == {
        tok.convert_tokens_to_ids(t) for t in DEFAULT_VOCABULARY.tokens
    }


@pytest.mark.parametrize("recipe", ["trl-sft", "trl-la-grpo"])
def test_the_documented_recipe_runs(exported, tiny_plain_model, tmp_path, recipe):
    """The page's code as written, on the base model without our tokens (the recipe adds
    them) and the test's export."""
    folder, _ = exported("trl")
    code = with_paths(block(recipe), tiny_plain_model, folder, tmp_path / "out")
    namespace: dict = {}
    exec(compile(code, recipe, "exec"), namespace)
    tok = namespace["processor"].tokenizer
    assert check_single_ids(tok) and namespace[
        "model"
    ].get_input_embeddings().num_embeddings == len(tok)
    if recipe == "trl-la-grpo":
        assert namespace["trainer"].state.global_step == 2
