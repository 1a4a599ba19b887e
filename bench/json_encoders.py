"""Time orjson against the standard json module on one 20-product list page.

Run as `.venv/bin/python bench/json_encoders.py`. It prints a table and
rewrites the JSON encoder section of docs/benchmarks.md (skip that with
`--no-docs`). Each figure is the fastest of `--repeat` timeit runs, because
slower runs measure interference from other processes, not the encoder.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import timeit
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

import report
from sample_page import sample_page

SECTION = "json-encoders"

Encoder = Callable[[Any], bytes]


def encode_like_starlette(page: Any) -> bytes:
    # The arguments starlette.responses.JSONResponse.render passes in 1.10.
    return json.dumps(
        page, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def encode_with_json_defaults(page: Any) -> bytes:
    return json.dumps(page).encode("utf-8")


STARLETTE = "json.dumps as Starlette's JSONResponse calls it"

ENCODERS: dict[str, Encoder] = {
    "orjson.dumps": orjson.dumps,
    STARLETTE: encode_like_starlette,
    "json.dumps with default arguments": encode_with_json_defaults,
}


def time_encoders(page: Any, number: int, repeat: int) -> dict[str, float]:
    """Return each encoder's fastest time for one encoding of `page`, in µs.

    The encoders take turns within each repeat, so a burst of load from other
    processes slows one repeat of all of them rather than one encoder.
    """
    best_seconds = dict.fromkeys(ENCODERS, math.inf)
    for _ in range(repeat):
        for name, encoder in ENCODERS.items():
            seconds = timeit.timeit(partial(encoder, page), number=number)
            best_seconds[name] = min(best_seconds[name], seconds)
    return {name: seconds / number * 1e6 for name, seconds in best_seconds.items()}


def check_round_trip(page: Any) -> None:
    """Fail unless every encoder writes a document that reads back as `page`."""
    for name, encoder in ENCODERS.items():
        if json.loads(encoder(page)) != page:
            raise SystemExit(f"{name} changed the page when encoding it.")


def measure(number: int, repeat: int) -> list[list[str]]:
    page = sample_page()
    check_round_trip(page)
    timings = time_encoders(page, number, repeat)
    baseline = timings[STARLETTE]

    rows = []
    for name, microseconds in timings.items():
        rows.append(
            [
                name,
                f"{len(ENCODERS[name](page)):,}",
                f"{microseconds:.1f}",
                f"{1_000_000 / microseconds:,.0f}",
                f"{baseline / microseconds:.2f}x",
            ]
        )
    return rows


HEADER = ["encoder", "bytes", "µs per page", "pages/s", "speed relative to Starlette's"]


def render_section(rows: list[list[str]], args: argparse.Namespace) -> str:
    machine = report.markdown_table(["machine", ""], report.machine_rows())
    note = (
        "The page is the 20-product envelope from `bench/sample_page.py`, "
        f"encoded to bytes. Each time is the fastest of {args.repeat} timeit runs "
        f"of {args.number:,} encodings in one process, with no server or network "
        "in the path, and the encoders take turns within each run. The server "
        "encodes its JSON responses with orjson, the first row."
    )
    return f"""## JSON encoding of a list page

Command: `{command_line(args)}`

{report.markdown_table(HEADER, rows)}
{report.wrap(note)}

{machine}"""


def command_line(args: argparse.Namespace) -> str:
    return shlex.join(
        [
            ".venv/bin/python",
            "bench/json_encoders.py",
            f"--number={args.number}",
            f"--repeat={args.repeat}",
        ]
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--number", type=int, default=5_000, help="encodings per timeit run"
    )
    parser.add_argument(
        "--repeat", type=int, default=10, help="timeit runs per encoder"
    )
    parser.add_argument(
        "--no-docs",
        action="store_true",
        help="print the table without rewriting docs/benchmarks.md",
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    rows = measure(args.number, args.repeat)
    print(report.markdown_table(HEADER, rows))

    if not args.no_docs:
        report.write_section(SECTION, render_section(rows, args))
        print(f"Wrote the {SECTION} section of {report.DOCS_PAGE}")


if __name__ == "__main__":
    main(sys.argv[1:])
