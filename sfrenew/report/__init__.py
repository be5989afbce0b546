"""``sfrenew report``: the renewal analytics of the mirror, as one offline page or JSON.

Shell side: reads the state store's mirror (no Salesforce call), turns each renewal
opportunity sfrenew wrote into a :class:`~sfrenew.core.analytics.RenewalFact`, and
renders the figures the pure core computes (docs/analytics.md).
"""

from sfrenew.report.facts import (
    MirrorFacts,
    OrgCurrencies,
    read_currencies,
    read_facts,
    read_snapshots,
)
from sfrenew.report.figures_json import figures_json
from sfrenew.report.page import render_page

__all__ = ["MirrorFacts", "OrgCurrencies", "figures_json", "read_currencies", "read_facts",
           "read_snapshots", "render_page"]
