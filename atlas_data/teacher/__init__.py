"""Teachers: the offline ``template`` teacher and any OpenAI-compatible endpoint."""

from __future__ import annotations

from typing import Any

from atlas_data.config import Budget
from atlas_data.teacher.base import Teacher

TEACHERS = ("template", "openai")


def build_teacher(name: str, options: dict[str, Any], budget: Budget) -> Teacher:
    """The run's teacher; one that reads images is shown them at the run's ``budget``."""
    if name == "template":
        from atlas_data.teacher.template import TemplateTeacher

        return TemplateTeacher()
    if name == "openai":
        from atlas_data.teacher.openai import OpenAITeacher

        return OpenAITeacher.from_options(options, budget)
    raise ValueError(f"unknown teacher {name!r}; available: {', '.join(TEACHERS)}")
