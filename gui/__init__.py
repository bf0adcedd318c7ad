"""The PyQt6 desktop app: views over :class:`workbench.session.Session`. The only Qt code."""
