"""The OpenAI-compatible endpoint client (cache, retries, usage, batches, prices), below
teacher and explore."""

from atlas_data.llm.client import (
    Completion,
    Endpoint,
    EndpointConfig,
    Prompt,
    Usage,
)
from atlas_data.llm.stops import BudgetExhausted, RunStopped, TeacherUnavailable

__all__ = [
    "BudgetExhausted",
    "Completion",
    "Endpoint",
    "EndpointConfig",
    "Prompt",
    "RunStopped",
    "TeacherUnavailable",
    "Usage",
]
