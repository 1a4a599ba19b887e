"""The shared test vectors in `sdks/testdata`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TESTDATA = Path(__file__).resolve().parents[2] / "testdata"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((TESTDATA / name).read_text())
    return document


def cases(name: str) -> list[Any]:
    import pytest

    return [pytest.param(case, id=case["name"]) for case in load(name)["cases"]]
