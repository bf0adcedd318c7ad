"""Reward code: write ``reward(f)`` over the scene's features, check it on the recorded
episodes (its report, and a plot of each term along a demo and a failed take; along random
actions where the scene has no takes yet), train on it.

Each check stores the code as a new version of a ``reward_code`` model; the code runs in the
sandbox only (``workbench.rewards.code.sandbox``). An error names its line; the editor jumps
there.
"""

from __future__ import annotations

import re

import pyqtgraph as pg
from pygments.lexers import PythonLexer
from pygments.token import Comment, Keyword, Name, Number, String, Token
from PyQt6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextCursor
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from gui.panels.common import heading, note
from gui.panels.config_form import ConfigForm
from gui.settings import Settings
from workbench.rl.run_config import RunConfig
from workbench.session import Session
from workbench.session.events import JobUpdate, SceneChanged

LINE = re.compile(r"^line (\d+)")
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


class PythonHighlighter(QSyntaxHighlighter):
    """Colours by Pygments' Python tokens (a line at a time, as Qt highlights)."""

    STYLES = ((Comment, "#6a737d", False, True), (String, "#032f62", False, False),
              (Keyword, "#d73a49", True, False), (Name.Builtin, "#005cc5", False, False),
              (Name.Function, "#6f42c1", True, False), (Number, "#005cc5", False, False))

    def __init__(self, document) -> None:
        super().__init__(document)
        self.lexer = PythonLexer(stripnl=False, ensurenl=False)
        self.formats: list[tuple[object, QTextCharFormat]] = []
        for token, colour, bold, italic in self.STYLES:
            form = QTextCharFormat()
            form.setForeground(QColor(colour))
            form.setFontWeight(QFont.Weight.Bold if bold else QFont.Weight.Normal)
            form.setFontItalic(italic)
            self.formats.append((token, form))

    def highlightBlock(self, text: str | None) -> None:  # noqa: N802 (Qt's name)
        # Qt highlights a line at a time: a line inside a triple-quoted string (a docstring)
        # is lexed with the quotes that opened it, carried over as the block's state.
        opened = '"""' if self.previousBlockState() == 1 else ""
        line = opened + (text or "")
        start = -len(opened)
        for token, value in self.lexer.get_tokens(line):
            form = next((f for kind, f in self.formats if token in kind), None)
            end = start + len(value)
            if form is not None and token is not Token.Text and end > 0:
                self.setFormat(max(start, 0), end - max(start, 0), form)
            start = end
        self.setCurrentBlockState(1 if line.count('"""') % 2 else 0)


class CodePanel(QWidget):
    def __init__(self, session: Session, settings: Settings):
        super().__init__()
        self.session = session
        self.settings = settings  # remembers the language model's endpoint between runs
        self.checked: dict | None = None  # the newest check's report, for the code it checked
        self.checked_source = ""
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Reward code: a function over the scene's features"))
        layout.addWidget(note("numpy and math only; it runs in a sandbox (no files, network "
                              "or processes). Double-click a feature to insert it."))
        self.features = QListWidget()
        self.features.setMaximumHeight(90)
        self.features.itemDoubleClicked.connect(
            lambda item: self.editor.insertPlainText(f'f["{item.text().split()[0]}"]'))
        layout.addWidget(self.features)
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFont("monospace", 10))
        self.editor.setTabStopDistance(32)
        self.highlighter = PythonHighlighter(self.editor.document())
        layout.addWidget(self.editor, 3)
        row = QHBoxLayout()
        self.check = QPushButton("Check on recorded episodes")
        self.check.setToolTip("stores this code as a new version and measures it against "
                              "the scene's ground truth")
        self.train = QPushButton("Train on it")
        self.train.setEnabled(False)
        row.addWidget(self.check)
        row.addWidget(self.train)
        layout.addLayout(row)
        self.ask_toggle = QPushButton("Ask a language model…")
        self.ask_toggle.setCheckable(True)
        self.author_box = QScrollArea()
        self.author_box.setWidgetResizable(True)
        self.author_box.setMaximumHeight(220)
        self.author = ConfigForm(session.rewards.author_config(
            base_url=str(settings.value("author/base_url", "") or ""),
            model=str(settings.value("author/model", "") or "")))
        self.author.widget("api_key").setEchoMode(QLineEdit.EchoMode.Password)  # not shown
        self.author_box.setWidget(self.author)
        self.author_box.setVisible(False)
        self.ask_toggle.toggled.connect(self.author_box.setVisible)
        self.ask = QPushButton("Write candidates (sent only to the endpoint above)")
        self.ask.setVisible(False)
        self.ask_toggle.toggled.connect(self.ask.setVisible)
        self.ask.clicked.connect(self._ask)
        self.stop_asking = QPushButton("Stop the search (keeps the candidates judged so far)")
        self.stop_asking.setVisible(False)
        self.stop_asking.clicked.connect(lambda: session.jobs.stop("author"))
        for widget in (self.ask_toggle, self.author_box, self.ask, self.stop_asking):
            layout.addWidget(widget)
        self.report = QLabel("")
        self.report.setWordWrap(True)
        layout.addWidget(self.report)
        self.plots = QVBoxLayout()
        layout.addLayout(self.plots, 2)
        self.check.clicked.connect(self._check)
        self.train.clicked.connect(self._train)
        self.editor.textChanged.connect(self._sync)
        session.events.subscribe(SceneChanged, lambda e: self.load_scene())
        session.events.subscribe(JobUpdate, self._on_job)
        self.load_scene()

    def load_scene(self) -> None:
        self.features.clear()
        notes = self.session.live.feature_notes()
        for name, size in self.session.live.features().items():
            self.features.addItem(f"{name}  ({size})")
            if name in notes:  # frames, units and order, where the name does not say
                self.features.item(self.features.count() - 1).setToolTip(notes[name])
        self.editor.setPlainText(self.session.live.reward_code_template())
        self.checked = None
        self.report.setText("")

    def _check(self) -> None:
        try:
            self.session.jobs.check_code(self.editor.toPlainText())
        except Exception as exc:  # a check already running: say so
            self.session.events.problem(str(exc))
            return
        self.checked_source = self.editor.toPlainText()
        self.report.setText("checking…")

    def _ask(self) -> None:
        try:
            author = self.author.config()
            self.session.jobs.write_reward(author)
        except Exception as exc:  # a bad setting (named), or a search already running
            self.session.events.problem(str(exc))
            return
        self.settings.set("author/base_url", author.base_url)
        self.settings.set("author/model", author.model)
        self.report.setText(f"asking {author.model} at {author.base_url}…")

    def show_candidates(self, result: dict) -> None:
        """The best candidate in the editor (checked and stored), the others listed."""
        candidates = result.get("candidates", [])
        lines = []
        for c in candidates:
            trained = c["training"].get("success_rate")
            judged = ("refused: " + c["error"] if c["error"] else f"merit {c['merit']:.2f}"
                      + (f", PPO success {trained:.0%}, reference return "
                         f"{c['training'].get('reference_return', 0.0):.0f}"
                         if trained is not None else ""))
            lines.append(f"round {c['round'] + 1}: {judged}")
        self.report.setText("\n".join(lines) or "no candidates")
        best = next((c for c in candidates if not c["error"]), None)
        if best is not None:
            self.editor.setPlainText(best["source"])
            self.checked = {"path": best["model"], "model_id": None}
            self.checked_source = best["source"]

    def _train(self) -> None:
        if self.checked is None:
            return
        try:
            self.session.jobs.train(RunConfig.on_model(self.checked["path"],
                                                       scene=self.session.scene))
        except Exception as exc:  # a training job running: say so
            self.session.events.problem(str(exc))
            return
        self.report.setText(self.report.text() + "\ntraining: progress in the Train panel")

    def _sync(self) -> None:
        self.train.setEnabled(self.checked is not None
                              and self.checked_source == self.editor.toPlainText())

    def _on_job(self, event: JobUpdate) -> None:
        if event.name == "author":
            self._on_search(event.event.kind, event.event.data)
        if event.name != "code":
            self._sync()
            return
        if event.event.kind == "error":
            message = str(event.event.data.get("message", ""))  # "line 3: KeyError: 'nope'"
            self.report.setText(f"<span style='color:#b00'>{message}</span>")
            self.show_line(message)
        elif event.event.kind == "done":
            self.checked = dict(event.event.data)
            self.show_report(self.checked)
        self._sync()

    def _on_search(self, kind: str, data: dict) -> None:
        """The language model's search: how far it is, then its candidates."""
        self.stop_asking.setVisible(kind in ("started", "progress"))
        if kind == "progress" and "total" in data:
            self.report.setText(f"{data.get('stage', 'searching')}: {data['done'] + 1} of "
                                f"{data['total']}")
        elif kind in ("done", "stopped"):
            self.show_candidates(data)
        elif kind == "error":
            self.report.setText(str(data.get("message", "")))

    def show_line(self, message: str) -> None:
        """Put the cursor on the line an error names."""
        found = LINE.match(message)
        if found is None:
            return
        block = self.editor.document().findBlockByLineNumber(int(found.group(1)) - 1)
        cursor = QTextCursor(block)
        cursor.select(QTextCursor.SelectionType.LineUnderCursor)
        self.editor.setTextCursor(cursor)
        self.editor.setFocus()

    def show_report(self, report: dict) -> None:
        parts = [f"stored as version {report.get('model_id')}"]
        if "random actions" in report.get("term_curves", {}):
            parts.append("checked on random actions: the scene has no takes yet, so nothing "
                         "is measured before training")
        if "spearman_progress" in report:
            parts.append(f"Spearman with true progress along demos "
                         f"{report['spearman_progress']:.2f}")
        if "success_vs_failure" in report:
            parts.append(f"ranks successes above failures {report['success_vs_failure']:.0%}")
        self.report.setText("; ".join(parts))
        while self.plots.count():
            widget = self.plots.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        curves = report.get("term_curves", {})
        key = " · ".join(f"<span style='color:{colour}'>{kind}</span>"
                         for kind, colour in zip(curves, COLOURS, strict=False))
        for term in ["reward", *report.get("terms", [])]:
            plot = pg.PlotWidget(title=f"{term}  ({key})" if key else term)
            for (kind, values), colour in zip(curves.items(), COLOURS, strict=False):
                if term in values:
                    plot.plot(values[term], pen=pg.mkPen(colour, width=2), name=kind)
            self.plots.addWidget(plot)
