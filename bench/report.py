"""Benchmark records: the machine they ran on and their sections of the docs page.

Each script owns one section of `docs/benchmarks.md`, delimited by HTML comment
markers, and rewrites only that section, so hand-written text around it stays.
"""

from __future__ import annotations

import os
import platform
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
DOCS_PAGE = REPOSITORY / "docs" / "benchmarks.md"
PAGE_TITLE = "# Benchmarks\n"


def cpu_model() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def usable_cpus() -> int:
    """Count the CPUs this process may run on, which is what `nproc` prints."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine_rows(extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """Describe the machine and the software versions behind a measurement."""
    return [
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPUs (nproc)", str(usable_cpus())),
        ("CPU model", cpu_model()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("granian", metadata.version("granian")),
        ("orjson", metadata.version("orjson")),
        *extra,
    ]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Render a GitHub-flavoured Markdown table with numeric columns right-aligned."""
    alignments = []
    for column in range(len(header)):
        cells = [row[column] for row in rows]
        numeric = bool(cells) and all(_looks_numeric(cell) for cell in cells)
        alignments.append("---:" if numeric else "---")

    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(alignments) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines) + "\n"


def _looks_numeric(cell: str) -> bool:
    stripped = cell.replace(",", "").replace(".", "").rstrip("x%").strip()
    return stripped.isdigit()


def wrap(text: str, initial_indent: str = "", subsequent_indent: str = "") -> str:
    """Wrap one Markdown paragraph or list item at 76 columns."""
    # Hyphens stay, because a break inside `demo-data` would change the command.
    return textwrap.fill(
        text,
        width=76,
        initial_indent=initial_indent,
        subsequent_indent=subsequent_indent,
        break_on_hyphens=False,
    )


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- begin {name} -->", f"<!-- end {name} -->"


def replace_section(page_text: str, name: str, section: str) -> str:
    """Put `section` between the markers of `name`, appending them if absent."""
    begin, end = _markers(name)
    body = f"{begin}\n{section.strip()}\n{end}"
    start = page_text.find(begin)
    stop = page_text.find(end, start + len(begin))
    if start == -1 or stop == -1:
        return page_text.rstrip("\n") + "\n\n" + body + "\n"
    return page_text[:start] + body + page_text[stop + len(end) :]


def write_section(name: str, section: str, page: Path = DOCS_PAGE) -> None:
    """Rewrite the `name` section of the docs page, creating the page if needed."""
    text = page.read_text() if page.exists() else PAGE_TITLE
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(replace_section(text, name, section))
