"""Why a run stops before its end: each carries the message that says what to do next.

What a stopped run finished stays valid (committed shards, cached answers, batches in
flight); the same command resumes it. ``exit_code`` 2 (as every CLI error): something must be
fixed first; 3: a clean, planned stop (a spending cap reached, an offline batch waiting
for results).
"""

from __future__ import annotations


class RunStopped(RuntimeError):
    exit_code = 2


class TeacherUnavailable(RunStopped):
    """The endpoint is unreachable or lacks the model: the run stops, no sample is taught."""


class BatchFailed(RunStopped):
    """The Batch API refused a batch as a whole (its input file did not validate)."""


class BudgetExhausted(RunStopped):
    """``--max-cost`` is spent: requests in flight finish, the current shards are left for
    a rerun with a higher cap."""

    exit_code = 3


class AwaitingResults(RunStopped):
    """The offline requests file is written; the run finishes once its results are there."""

    exit_code = 3
