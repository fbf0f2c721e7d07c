"""Optional pieces: what each extra brings, and the one-line error when it is missing.

A plain ``pip install atlas-data`` runs the default job (the synthetic source, the template
teacher, the annotation and OCR judges). What only some users need is an extra; asking for
it without the extra stops with :class:`MissingExtra`, one line that names what to
install, and the command line prints it without a traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# extra -> (what it is for, the modules it brings)
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "dask": ("running shards on a Dask cluster (task_runner=dask)", ("prefect_dask",)),
    "tokenizer": ("adding the functional tokens to a tokenizer", ("tokenizers", "transformers")),
    "train": ("LA-GRPO on TRL's GRPOTrainer", ("trl", "torch", "transformers")),
}


class MissingExtra(RuntimeError):
    """An optional piece is not installed; the message is the one line to show."""


def require(module: str, extra: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtra` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = EXTRAS[extra][0]
        raise MissingExtra(
            f"{what} needs {module} ({exc.name or module} is not installed): "
            f"pip install 'atlas-data[{extra}]'"
        ) from None
