from pathlib import Path

from report import PAGE_TITLE, markdown_table, replace_section, write_section

PAGE = """# Benchmarks

Hand-written introduction.

<!-- begin speed -->
old table
<!-- end speed -->

Hand-written closing notes.
"""


def test_replace_section_keeps_surrounding_text() -> None:
    updated = replace_section(PAGE, "speed", "new table\n")

    assert "new table" in updated
    assert "old table" not in updated
    assert updated.startswith("# Benchmarks\n\nHand-written introduction.\n")
    assert updated.endswith("<!-- end speed -->\n\nHand-written closing notes.\n")


def test_replace_section_appends_missing_markers() -> None:
    updated = replace_section(PAGE, "latency", "latency table")

    assert "old table" in updated
    assert updated.endswith(
        "<!-- begin latency -->\nlatency table\n<!-- end latency -->\n"
    )


def test_replace_section_is_idempotent() -> None:
    once = replace_section(PAGE, "speed", "new table")
    twice = replace_section(once, "speed", "new table")

    assert twice == once


def test_write_section_creates_page(tmp_path: Path) -> None:
    page = tmp_path / "docs" / "benchmarks.md"

    write_section("speed", "a table", page=page)

    text = page.read_text()
    assert text.startswith(PAGE_TITLE)
    assert "<!-- begin speed -->\na table\n<!-- end speed -->" in text


def test_markdown_table_aligns_numbers_right() -> None:
    table = markdown_table(
        ["scenario", "req/s", "ratio"],
        [["bare", "46,069", "1.00x"], ["list", "12,000", "0.26x"]],
    )

    lines = table.splitlines()
    assert lines[0] == "| scenario | req/s | ratio |"
    assert lines[1] == "|---|---:|---:|"
    assert lines[2] == "| bare | 46,069 | 1.00x |"
