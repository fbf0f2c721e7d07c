"""LLaMA-Factory 0.9.5's own get_dataset and SFT loop on the LLaMA-Factory export."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("llamafactory")

import torch  # noqa: E402
import yaml  # noqa: E402
from doc_blocks import block  # noqa: E402
from llamafactory.data import (  # noqa: E402
    SFTDataCollatorWith4DAttentionMask,
    get_dataset,
    get_template_and_fix_tokenizer,
)
from llamafactory.hparams import get_train_args  # noqa: E402
from llamafactory.model import load_model, load_tokenizer  # noqa: E402
from llamafactory.train.tuner import run_exp  # noqa: E402

from atlas_data.tokens import DEFAULT_VOCABULARY  # noqa: E402
from atlas_data.train.tokenizer import check_single_ids  # noqa: E402

IGNORE = -100


def _args(exported, model, tmp_path) -> dict:
    _, settings = exported("llamafactory")
    args = {k: v for k, v in settings.items() if k != "notes"}
    args.update(
        model_name_or_path=str(model),
        stage="sft",
        do_train=True,
        finetuning_type="full",
        output_dir=str(tmp_path / "out"),
        overwrite_output_dir=True,
        max_steps=2,
        per_device_train_batch_size=1,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        preprocessing_num_workers=1,
        dataloader_num_workers=0,
    )
    return args


def test_get_dataset_labels_the_assistant_turn_with_single_token_ids(
    exported, tiny_plain_model, tmp_path
):
    # the base tokenizer lacks our tokens: the written add_tokens setting adds them
    model_args, data_args, training_args, *_ = get_train_args(
        _args(exported, tiny_plain_model, tmp_path)
    )
    modules = load_tokenizer(model_args)
    tok = modules["tokenizer"]
    ids = check_single_ids(tok)  # one id each, and plain: they survive skip_special_tokens
    template = get_template_and_fix_tokenizer(tok, data_args)
    data = get_dataset(template, model_args, data_args, training_args, stage="sft", **modules)
    train = data["train_dataset"]
    folder, _ = exported("llamafactory")
    assert len(train) == len((folder / "atlas_check.jsonl").read_text().splitlines())
    token_rows = 0
    for row in train:
        labels, input_ids = row["labels"], row["input_ids"]
        trained = [t for t, lab in zip(input_ids, labels, strict=True) if lab != IGNORE]
        text = tok.decode(trained)
        assert "<|image_pad|>" not in text and "user" not in tok.decode(trained[:2])
        assert text.rstrip("\n").endswith("<|im_end|>")
        assert "\\boxed{" in text
        for token, i in ids.items():
            assert trained.count(i) == text.count(token)  # each token one label id
        token_rows += any(i in trained for i in ids.values())
        # the prompt keeps the newline after the image, as the TRL and verl exports do
        prompt = tok.decode([t for t, lab in zip(input_ids, labels, strict=True) if lab == IGNORE])
        assert "<|vision_end|>\n" in prompt
    assert token_rows >= 1
    assert set(ids) == set(DEFAULT_VOCABULARY.tokens)


def test_get_dataset_keeps_every_image_of_multi_image_rows(
    multi_exported, tiny_plain_model, tmp_path
):
    """Rows of 3, 2, 2 and 1 images: the mm_plugin (which checks the ``<image>`` count
    against ``images``) expands each placeholder where it stands, and the workflow's own
    collator and model take every image."""
    model_args, data_args, training_args, finetuning_args, _ = get_train_args(
        _args(multi_exported, tiny_plain_model, tmp_path)
    )
    modules = load_tokenizer(model_args)
    tok = modules["tokenizer"]
    template = get_template_and_fix_tokenizer(tok, data_args)
    data = get_dataset(template, model_args, data_args, training_args, stage="sft", **modules)
    train = data["train_dataset"]
    folder, _ = multi_exported("llamafactory")
    source = [json.loads(line) for line in (folder / "atlas_check.jsonl").read_text().splitlines()]
    assert len(train) == len(source) == 4
    start, end = (
        tok.convert_tokens_to_ids("<|vision_start|>"),
        tok.convert_tokens_to_ids("<|vision_end|>"),
    )
    for row, record in zip(train, source, strict=True):
        n = len(record["images"])
        user = record["messages"][0]["content"]
        assert user.count("<image>") == n == len(row["images"])
        ids = [t for t, lab in zip(row["input_ids"], row["labels"], strict=True) if lab == IGNORE]
        assert ids.count(start) == ids.count(end) == n
        # the text around each image is the export's: split at the images' tokens
        pieces, k = [], 0
        for i, t in enumerate(ids):
            if t == start:
                pieces.append(ids[k:i])
            elif t == end:
                k = i + 1
        pieces.append(ids[k:])
        prompt = "<image>".join(tok.decode(p) for p in pieces)
        assert f"<|im_start|>user\n{user}<|im_end|>" in prompt
    assert sorted(len(r["images"]) for r in source) == [1, 2, 2, 3]
    model = load_model(tok, model_args, finetuning_args, is_trainable=False)
    collator = SFTDataCollatorWith4DAttentionMask(template=template, model=model, **modules)
    batch = collator([dict(row) for row in train])
    assert batch["image_grid_thw"].shape[0] == sum(len(r["images"]) for r in source)
    pad = tok.convert_tokens_to_ids("<|image_pad|>")
    merge = modules["processor"].image_processor.merge_size
    assert (batch["input_ids"] == pad).sum() == batch["image_grid_thw"].prod(-1).sum() // merge**2
    with torch.no_grad():
        out = model(**batch)
    assert torch.isfinite(out.loss)


def test_sft_runs_two_steps(exported, tiny_plain_model, tmp_path):
    run_exp(_args(exported, tiny_plain_model, tmp_path))
    state = (tmp_path / "out" / "trainer_state.json").read_text()
    assert '"global_step": 2' in state


def test_the_documented_yaml_trains(exported, tiny_plain_model, tmp_path):
    """The page's YAML, with paths pointed here and the measured values from settings.json
    put where the page says they come from."""
    folder, settings = exported("llamafactory")
    args = yaml.safe_load(block("llamafactory"))
    measured = {k for k in settings if k not in ("notes", "dataset", "dataset_dir")}
    assert measured <= set(args), "the page shows every setting the export writes"
    args.update({k: settings[k] for k in measured})
    args.update(
        model_name_or_path=str(tiny_plain_model),
        dataset_dir=str(folder),
        dataset=settings["dataset"],
        output_dir=str(tmp_path / "out"),
    )
    run_exp(args)
    assert '"global_step": 2' in (tmp_path / "out" / "trainer_state.json").read_text()
