"""LA-GRPO (ATLAS, arXiv 2605.15198): GRPO with the functional tokens' loss counted twice.

    L = L_GRPO + alpha * mean over functional-token positions of the per-token GRPO loss

A small extension of TRL's ``GRPOTrainer``: the base loss is TRL's own, untouched; the
extra term reuses the per-token log-probabilities TRL computed for it (no second forward
pass) and the same clipped surrogate (and KL term when ``beta`` is set). Functional-token
positions are where the rollout's completion ids are one of the vocabulary's token ids:
rollouts are token ids, so no character spans are needed here.

Supported: ``importance_sampling_level="token"`` with the clipped-surrogate loss types
(``grpo``, ``bnpo``, ``dr_grpo``, ``dapo``); others are refused at construction.
"""

from __future__ import annotations

from typing import Any

import torch
from trl import GRPOTrainer

from atlas_data.tokens import Vocabulary, default_vocabulary
from atlas_data.train.tokenizer import check_single_ids

SUPPORTED_LOSSES = ("grpo", "bnpo", "dr_grpo", "dapo")


class LAGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` plus ``alpha`` times the mean per-token loss on functional tokens."""

    _last_logps: Any = None  # the log-probabilities of TRL's latest forward pass

    def __init__(
        self, *args: Any, alpha: float = 1.0, vocab: Vocabulary | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.loss_type not in SUPPORTED_LOSSES or self.importance_sampling_level != "token":
            raise ValueError(
                f"LA-GRPO supports loss_type in {SUPPORTED_LOSSES} with token-level importance "
                f"sampling, not {self.loss_type!r}/{self.importance_sampling_level!r}"
            )
        tokenizer = getattr(self.processing_class, "tokenizer", self.processing_class)
        ids = check_single_ids(tokenizer, vocab or default_vocabulary())
        self.alpha = alpha
        self.functional_ids = torch.tensor(sorted(ids.values()))

    def functional_mask(self, inputs: dict[str, Any]) -> torch.Tensor:
        """(B, T) bool: completion positions holding a functional token."""
        ids = inputs["completion_ids"]
        return (
            torch.isin(ids, self.functional_ids.to(ids.device)) & inputs["completion_mask"].bool()
        )

    def _get_per_token_logps_and_entropies(self, *args: Any, **kwargs: Any) -> Any:
        """TRL's forward pass, its log-probabilities kept for the functional-token term."""
        out = super()._get_per_token_logps_and_entropies(*args, **kwargs)
        self._last_logps = out[0]
        return out

    def _compute_loss(self, model: Any, inputs: dict[str, Any]) -> torch.Tensor:
        loss = super()._compute_loss(model, inputs)
        logps = self._last_logps  # from the forward pass TRL's loss just made
        self._last_logps = None
        mode = "train" if self.model.training else "eval"
        mask = self.functional_mask(inputs)
        count = mask.sum()
        self._metrics[mode]["la_grpo/functional_tokens"].append(float(count))
        if not count:
            self._metrics[mode]["la_grpo/loss"].append(0.0)
            return loss
        old = inputs.get("old_per_token_logps")
        old = logps.detach() if old is None else old
        advantages = inputs["advantages"]
        if advantages.dim() == 1:
            advantages = advantages.unsqueeze(1)
        ratio = torch.exp(logps - old)
        clipped = torch.clamp(ratio, 1 - self.epsilon_low, 1 + self.epsilon_high)
        per_token = -torch.min(ratio * advantages, clipped * advantages)
        if self.beta != 0.0:
            ref = inputs["ref_per_token_logps"]
            per_token = per_token + self.beta * (torch.exp(ref - logps) - (ref - logps) - 1)
        functional = (per_token * mask).sum() / count
        self._metrics[mode]["la_grpo/loss"].append(float(functional.detach()))
        accumulation = self.current_gradient_accumulation_steps if mode == "train" else 1
        return loss + self.alpha * functional / accumulation
