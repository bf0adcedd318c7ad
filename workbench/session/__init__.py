"""Qt-free application state and background jobs; the GUI is a view over this."""

from workbench.session import events
from workbench.session.jobs import Job, JobEvent
from workbench.session.session import Session

__all__ = ["Job", "JobEvent", "Session", "events"]
