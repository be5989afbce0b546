"""The pull: mapped sObjects from the org into the mirror, incrementally.

What is pulled (one query per mapped sObject) is derived from the mapping alone, in
:mod:`sfrenew.mapping.objects`, so the plan step can read the same list without
importing this step.
"""

from sfrenew.pull.incremental import PullResult, pull, window

__all__ = ["PullResult", "pull", "window"]
