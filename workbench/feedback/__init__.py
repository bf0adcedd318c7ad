"""Feedback queries: which segments a person is asked to compare."""

from workbench.data.segments import Segment
from workbench.feedback.sampling import sample_pair

__all__ = ["Segment", "sample_pair"]
