"""The one rejection type: whichever layer refuses a sample raises :class:`Rejection`.

A broken image (``load``), a record that cannot become a sample (``load``), a model
request that failed for good (``explore`` or ``teach``), a trajectory a verifier refused
(``verify``): each becomes one rejection row with ``stage``, ``reason`` (a stable short
code) and ``detail`` (what a person reads), and the run goes on.
"""

from __future__ import annotations

from typing import Any


class Rejection(Exception):
    """A sample refused at ``stage`` for ``reason``; ``detail`` says why in words."""

    def __init__(
        self,
        reason: str,
        detail: str,
        stage: str = "",
        trail: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{stage or '?'}/{reason}: {detail}")
        self.stage, self.reason, self.detail = stage, reason, detail
        self.trail = trail or []  # what was tried, with every verdict (operation structs)

    def at(self, stage: str) -> Rejection:
        """The same rejection, attributed to ``stage`` unless the raiser already named one."""
        return self if self.stage else Rejection(self.reason, self.detail, stage, self.trail)
