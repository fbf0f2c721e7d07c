"""atlas-data: synthesize functional-token visual reasoning data (ATLAS, arXiv 2605.15198)."""

__version__ = "0.1.0"
