"""One panel per stage of the loop; each calls the real session (and so core) functions."""

from gui.panels.code import CodePanel
from gui.panels.export import ExportPanel
from gui.panels.goal import GoalPanel
from gui.panels.rank import RankPanel
from gui.panels.record import RecordPanel
from gui.panels.reward import RewardPanel
from gui.panels.train import TrainPanel

__all__ = ["CodePanel", "ExportPanel", "GoalPanel", "RankPanel", "RecordPanel", "RewardPanel",
           "TrainPanel"]
