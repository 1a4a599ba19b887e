"""The README's quick start, run as written against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .server import LocalServer

README = Path(__file__).resolve().parents[1] / "README.md"


def quick_start_blocks() -> list[str]:
    text = README.read_text()
    section = text.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_quick_start_runs_as_written(demo_server: LocalServer) -> None:
    blocks = quick_start_blocks()
    assert len(blocks) >= 4

    # The README's server listens on port 8000; this one on a free port, so
    # only the address differs, through the variable the client reads.
    env = {**os.environ, "TECHCORP_BASE_URL": demo_server.base_url}
    env.pop("TECHCORP_CLIENT_ID", None)
    env.pop("TECHCORP_CLIENT_SECRET", None)
    result = subprocess.run(
        [sys.executable, "-c", "\n".join(blocks)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "Quick Start Lamp 24.99" in result.stdout
    assert re.search(r"^\d+ home products on \d+ pages$", result.stdout, re.M)
    assert re.search(r"^Quick Start Lamp [01]\.\d+$", result.stdout, re.M)
    assert "404 not_found" in result.stdout
