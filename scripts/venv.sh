# Sourced by the other scripts: find Python 3.11+ and keep .venv installed.
#
# Sets ROOT (the repository root) and VENV (its .venv). `ensure_server`
# installs the server package in editable mode, with the extras given, and
# skips pip when nothing changed since the last install.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${TECHCORP_VENV:-$ROOT/.venv}"

find_python() {
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "error: Python 3.11 or newer is needed; install it and retry." >&2
  return 1
}

ensure_server() {
  local extras="${1:-}"
  local stamp="$VENV/.techcorp-server${extras:+-$extras}"

  if [[ ! -x "$VENV/bin/python" ]]; then
    echo "Creating $VENV" >&2
    "$(find_python)" -m venv "$VENV"
  fi

  # Reinstall when the package's dependencies may have changed.
  if [[ ! -f "$stamp" || "$ROOT/server/pyproject.toml" -nt "$stamp" ]]; then
    echo "Installing the server${extras:+ with [$extras]} into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      --editable "$ROOT/server${extras:+[$extras]}"
    touch "$stamp"
  fi
}

# Installs the Python SDK in editable mode next to the server, for its tests.
ensure_sdk() {
  local stamp="$VENV/.techcorp-sdk"
  if [[ ! -f "$stamp" || "$ROOT/sdks/python/pyproject.toml" -nt "$stamp" ]]; then
    echo "Installing the Python SDK into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      --editable "$ROOT/sdks/python"
    touch "$stamp"
  fi
}
