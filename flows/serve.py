"""Serve the ``synth`` deployments: ``python -m flows.serve``.

The one place the deployments are declared. ``synth/sft-split`` and ``synth/rl-split``
differ only in their ``split`` default; every other parameter can be set per run
(``prefect deployment run synth/sft-split --param n=1000``). Needs ``PREFECT_API_URL``
pointing at a Prefect server (``prefect server start``) or Prefect Cloud.
"""

from __future__ import annotations

import argparse
from typing import cast

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from flows.synth import synth

DEPLOYMENTS = {"sft-split": "sft", "rl-split": "rl"}


def deployments() -> list[RunnerDeployment]:
    """One deployment per split of the ``synth`` flow."""
    return [
        cast(
            RunnerDeployment,
            synth.to_deployment(
                name=name,
                parameters={"split": split},
                description=f"Synthesize the {split.upper()} split of functional-token data.",
                tags=["atlas-data", split],
            ),
        )
        for name, split in DEPLOYMENTS.items()
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--limit", type=int, default=None, help="Max flow runs at once (default: no limit)."
    )
    args = parser.parse_args(argv)
    serve(*deployments(), limit=args.limit)


if __name__ == "__main__":
    main()
