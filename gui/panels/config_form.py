"""A form for a config dataclass: one typed widget per field, built from the dataclass itself.

Each field's ``metadata`` (see :mod:`workbench.config`) gives the widget its tooltip (``help``),
its range (``min``/``max``) and its choices, so a panel never lists a family's settings by hand
and a field added to a config appears in the app. :meth:`ConfigForm.config` builds the config
object directly; the dataclass checks it where it is built and its one-line message is what the
person sees. :func:`rebased` carries what a person changed into a form of new defaults (another
scene's), so choosing a scene does not throw their settings away.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from workbench import config as cfg
from workbench.config import ConfigError

INT_LIMIT = 2_000_000_000  # QSpinBox holds a C int


class ConfigForm(QWidget):
    """Widgets for ``config``'s fields (nested configs as groups), except the dotted names in
    ``hidden`` (fields another widget of the panel owns). ``defaults`` (``config`` unless given)
    is what :meth:`edits` compares with: the values the form would show had nobody touched it."""

    def __init__(self, config: Any, hidden: tuple[str, ...] = (), prefix: str = "",
                 defaults: Any = None):
        super().__init__()
        self.base = config
        self.defaults = config if defaults is None else defaults
        self.prefix = prefix
        self.readers: dict[str, Any] = {}  # field name -> () -> value (or a nested form)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        hints = typing.get_type_hints(type(config))
        for field in dataclasses.fields(config):
            name = f"{prefix}{field.name}"
            if name in hidden or not field.init:
                continue
            value, hint = getattr(config, field.name), hints[field.name]
            if dataclasses.is_dataclass(value):
                group = QGroupBox(field.name.replace("_", " "))
                group.setToolTip(field.metadata.get("help", ""))
                nested = ConfigForm(value, hidden, prefix=f"{name}.",
                                    defaults=getattr(self.defaults, field.name))
                QFormLayout(group).addRow(nested)
                layout.addRow(group)
                self.readers[field.name] = nested
                continue
            widget, read = _widget(value, hint, field.metadata)
            widget.setObjectName(name)
            widget.setToolTip(field.metadata.get("help", ""))
            layout.addRow(field.name.replace("_", " "), widget)
            self.readers[field.name] = read

    def widget(self, name: str) -> QWidget:
        """The widget of a dotted field name (tests and panels that prefill one)."""
        found = self.findChild(QWidget, name)
        if found is None:
            raise KeyError(name)
        return found

    def edits(self) -> dict[str, Any]:
        """The shown values that differ from the defaults, by dotted name (relative to this
        form); a field whose text does not read as its type is left out."""
        found: dict[str, Any] = {}
        for name, read in self.readers.items():
            if isinstance(read, ConfigForm):
                found.update({f"{name}.{key}": value for key, value in read.edits().items()})
                continue
            try:
                value = read()
            except ConfigError:
                continue
            if value != getattr(self.defaults, name):
                found[name] = value
        return found

    def config(self, own: dict[str, Any] | None = None) -> Any:
        """The config the widgets show with the panel's ``own`` values (dotted names) put in,
        checked once by its dataclass as a whole (ConfigError names the field)."""
        own = dict(own or {})
        values = {}
        for name, read in self.readers.items():
            if isinstance(read, ConfigForm):
                inner = {key.removeprefix(f"{name}."): own.pop(key)
                         for key in list(own) if key.startswith(f"{name}.")}
                values[name] = read.config(inner)
            else:
                values[name] = read()
        values.update(own)
        try:
            return dataclasses.replace(self.base, **values)
        except ConfigError as exc:
            raise ConfigError(f"{self.prefix}{exc}") from None


def rebased(form: ConfigForm | None, defaults: Any, hidden: tuple[str, ...] = ()) -> ConfigForm:
    """A form of new ``defaults`` (another scene's) showing the person's edits of ``form``
    wherever the new defaults agree with the old: a value the new scene sets itself (Reach's
    preference inputs) wins over an edit made for the old one."""
    kept: dict[str, Any] = {}
    if form is not None and type(form.defaults) is type(defaults):
        kept = {path: value for path, value in form.edits().items()
                if _at(defaults, path) == _at(form.defaults, path)}
    shown = defaults
    for path, value in kept.items():
        try:
            shown = cfg.with_values(shown, {path: value})
        except ConfigError:  # an edit that only held with the old scene (its robot)
            continue
    return ConfigForm(shown, hidden, defaults=defaults)


def _at(config: Any, path: str) -> Any:
    for name in path.split("."):
        config = getattr(config, name)
    return config


def _widget(value: Any, hint: Any, meta: typing.Mapping[str, Any]):
    """A widget showing ``value`` and a function reading the widget back as the field's type."""
    if hint is bool:
        box = QCheckBox()
        box.setChecked(value)
        return box, box.isChecked
    if "choices" in meta and typing.get_origin(hint) is not tuple:  # a tuple's entries: text
        combo = QComboBox()
        for choice in cfg.choices(meta):
            combo.addItem("(none)" if choice == "" else str(choice), choice)
        combo.setCurrentIndex(max(combo.findData(value), 0))
        return combo, combo.currentData
    if hint is int:
        spin = QSpinBox()
        low = meta.get("min", meta["gt"] + 1 if "gt" in meta else -INT_LIMIT)
        high = meta.get("max", meta["lt"] - 1 if "lt" in meta else INT_LIMIT)
        spin.setRange(int(max(low, -INT_LIMIT)), int(min(high, INT_LIMIT)))
        spin.setValue(value)
        return spin, spin.value
    if hint is float:
        spin = QDoubleSpinBox()
        spin.setDecimals(6)  # learning rates, clip ranges
        spin.setRange(float(meta.get("min", meta.get("gt", -1e9))),
                      float(meta.get("max", meta.get("lt", 1e9))))
        spin.setValue(value)
        return spin, spin.value
    number, optional = cfg.optional_type(hint)
    if optional and number in (int, float):  # an optional number: empty is None
        line = QLineEdit("" if value is None else str(value))
        line.setPlaceholderText("none")

        def read_optional() -> Any:
            text = line.text().strip()
            if not text or text.lower() == "none":
                return None
            try:
                return number(text)
            except ValueError:
                raise ConfigError(f"{line.objectName()} must be a {number.__name__} or empty, "
                                  f"got {text!r}") from None

        return line, read_optional
    if typing.get_origin(hint) is tuple:  # names or numbers, comma-separated
        item = typing.get_args(hint)[0]
        line = QLineEdit(", ".join(str(v) for v in value))

        def read_tuple() -> tuple:
            parts = [p.strip() for p in line.text().split(",") if p.strip()]
            try:
                return tuple(item(p) for p in parts)
            except ValueError:
                raise ConfigError(f"{line.objectName()} must be a comma-separated list of "
                                  f"{getattr(item, '__name__', 'values')}, got "
                                  f"{line.text()!r}") from None

        return line, read_tuple
    line = QLineEdit(str(value))
    return line, line.text
