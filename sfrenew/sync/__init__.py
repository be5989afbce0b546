"""The pull: mapped sObjects from the org into the mirror, incrementally."""

from sfrenew.sync.objects import PulledObject, pulled_objects, written_objects
from sfrenew.sync.pull import PullResult, pull, window

__all__ = ["PullResult", "PulledObject", "pull", "pulled_objects", "window", "written_objects"]
