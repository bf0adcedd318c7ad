"""docs/BENCHMARKS.md reads as a reference: one current table per topic, each with the command
that measures it and the date it was measured, and no headings named after rounds of work (the
history of a number lives in docs/benchmarks-history.md)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def sections() -> dict[str, str]:
    text = (DOCS / "BENCHMARKS.md").read_text()
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_benchmark_topic_has_one_table_its_command_and_its_date():
    found = sections()
    assert len(found) >= 15
    for title, body in found.items():
        assert len(re.findall(r"^\| ---", body, flags=re.MULTILINE)) == 1, title
        commands = re.findall(r"`python (benchmarks/[a-z0-9_]+\.py)", body)
        assert commands, f"{title}: no command"
        for script in commands:
            assert (DOCS.parent / script).is_file(), f"{title}: {script} does not exist"
        assert re.search(r"\b20\d\d-\d\d-\d\d\b", body), f"{title}: no date"


def test_no_heading_is_named_after_a_round_of_work():
    text = (DOCS / "BENCHMARKS.md").read_text()
    headings = re.findall(r"^#+ .+$", text, flags=re.MULTILINE)
    assert not [h for h in headings if re.search(r"\b(session|round|iteration) \d", h, re.I)]
    assert (DOCS / "benchmarks-history.md").is_file()
