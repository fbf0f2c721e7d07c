"""Explore: find where to look, run the candidates on real pixels, keep what helped.

- :mod:`~atlas_data.explore.search`: the search over proposals, steps and chains;
- :mod:`~atlas_data.explore.judges`: did it help? (one module per judge, registered);
- :mod:`~atlas_data.explore.proposers`: where to look (one module per proposer, registered);
- :mod:`~atlas_data.explore.text`: what text the image holds and how tall it is.
"""

from atlas_data.explore.judges import build_judges, judge_names
from atlas_data.explore.proposers import build_proposers, proposer_names
from atlas_data.explore.search import PIXEL_TRIALS, ExploreResult, combine, explore

__all__ = [
    "PIXEL_TRIALS",
    "ExploreResult",
    "build_judges",
    "build_proposers",
    "combine",
    "explore",
    "judge_names",
    "proposer_names",
]
