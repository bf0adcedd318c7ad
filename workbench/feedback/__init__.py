"""Feedback queries: which segments a person is asked to compare."""

from workbench.feedback.sampling import Segment, sample_pair

__all__ = ["Segment", "sample_pair"]
