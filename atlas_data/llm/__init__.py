"""The OpenAI-compatible endpoint client (cache, retries, usage, batches, prices), below
teacher and explore."""

from atlas_data.llm.client import Endpoint, EndpointConfig, Prompt, Usage
from atlas_data.llm.stops import BudgetExhausted, RunStopped, TeacherUnavailable
from atlas_data.llm.wire import Completion, Deferred

__all__ = [
    "BudgetExhausted",
    "Completion",
    "Deferred",
    "Endpoint",
    "EndpointConfig",
    "Prompt",
    "RunStopped",
    "TeacherUnavailable",
    "Usage",
]
