"""The OpenAI-compatible endpoint client (cache, retries, usage), below teacher and explore."""

from atlas_data.llm.client import (
    Completion,
    Endpoint,
    EndpointConfig,
    Prompt,
    TeacherUnavailable,
    Usage,
)

__all__ = ["Completion", "Endpoint", "EndpointConfig", "Prompt", "TeacherUnavailable", "Usage"]
