"""Small shared widgets."""

from __future__ import annotations

import html

import numpy as np
from PyQt6.QtGui import QImage, QPixmap
from PyQt6.QtWidgets import QComboBox, QLabel, QScrollArea, QVBoxLayout, QWidget


def pixmap_from_rgb(frame: np.ndarray) -> QPixmap:
    frame = np.ascontiguousarray(frame)
    height, width, _ = frame.shape
    image = QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


def heading(text: str) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setWordWrap(True)
    return label


def note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: #666")
    return label


# How each curve's line looks in a key, by its pen's style.
KEY_LINES = {"solid": "━━", "dash": "╍╍", "dot": "┈┈", "marker": "━●━"}


def curve_key(*curves: tuple[str, str, str]) -> QLabel:
    """A plot's key as a line of text under it, from (colour, line style, name) per curve: a
    legend drawn over a panel's short plot hides the curves it names. Entries wrap whole."""
    label = QLabel(key_text(*curves))
    label.setWordWrap(True)
    return label


def key_text(*curves: tuple[str, str, str]) -> str:
    """The key's rich text (to show another set of curves in the same label)."""
    return " &nbsp; ".join(f"<span style='color:{colour}'>{KEY_LINES[style]}</span>&nbsp;"
                           f"{html.escape(name).replace(' ', '&nbsp;')}"
                           for colour, style, name in curves)


def scrolling(panel: QWidget) -> QVBoxLayout:
    """``panel``'s body, in a scroll area: with its settings open a panel is taller than a
    window, and squeezing its plots to a few pixels showed nothing."""
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    body = QWidget()
    layout = QVBoxLayout(body)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(body)
    outer.addWidget(scroll)
    return layout


def offer_robots(combo: QComboBox, robots: tuple[str, ...], chosen: str) -> None:
    """A robot list: the scene's own first (its data "", as a run's robot field takes it),
    then the others by name; ``chosen`` selected where offered, else the scene's own."""
    combo.clear()
    own, *others = robots
    combo.addItem(f"{own} (the scene's own)", "")
    for name in others:
        combo.addItem(name, name)
    combo.setCurrentIndex(max(combo.findData(chosen), 0))
