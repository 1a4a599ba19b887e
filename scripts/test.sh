#!/usr/bin/env bash
# Install the development tools, then lint, type-check and test the server
# and the Python SDK.
#
# Fails on any lint or type error, on a failing test, on no tests at all
# (pytest exit code 5) and on any skipped test, since a skip hides a path
# that never ran.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
ensure_server dev
ensure_sdk

# The benchmark tests drive wrk, and the server's tests start PostgreSQL,
# Redis and nginx; all of them come from Debian's packages.
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
[[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if ((${#missing[@]})); then
  echo "== installing ${missing[*]}" >&2
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cd "$ROOT/server"

echo "== ruff check" >&2
"$VENV/bin/ruff" check . ../bench
echo "== ruff format --check" >&2
"$VENV/bin/ruff" format --check . ../bench
echo "== mypy" >&2
"$VENV/bin/mypy"
"$VENV/bin/mypy" ../bench
echo "== Python SDK: ruff check, ruff format --check, mypy" >&2
(cd "$ROOT/sdks/python" && "$VENV/bin/ruff" check . &&
  "$VENV/bin/ruff" format --check . && "$VENV/bin/mypy")

report="$(mktemp -d)"
trap 'rm -rf "$report"' EXIT

echo "== pytest: server on SQLite" >&2
"$VENV/bin/pytest" -p no:cacheprovider -q -rs --junitxml="$report/server.xml" "$@"
echo "== pytest: server on PostgreSQL and Redis" >&2
TECHCORP_TEST_BACKENDS=postgresql,redis "$VENV/bin/pytest" -p no:cacheprovider -q -rs \
  --junitxml="$report/server-postgresql-redis.xml" "$@"
echo "== pytest: Python SDK" >&2
(cd "$ROOT/sdks/python" && "$VENV/bin/pytest" -p no:cacheprovider -q -rs \
  --junitxml="$report/sdk-python.xml")
echo "== pytest: benchmark scripts" >&2
(cd "$ROOT/bench" && "$VENV/bin/pytest" -p no:cacheprovider -q -rs \
  --junitxml="$report/bench.xml")

"$VENV/bin/python" - "$report"/*.xml <<'PY'
import sys
import xml.etree.ElementTree as ElementTree

for path in sys.argv[1:]:
    root = ElementTree.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests = sum(int(suite.get("tests", 0)) for suite in suites)
    skipped = sum(int(suite.get("skipped", 0)) for suite in suites)
    if tests == 0:
        sys.exit(f"error: {path}: pytest ran no tests")
    if skipped:
        sys.exit(f"error: {path}: {skipped} of {tests} tests were skipped")
    print(f"{path}: {tests} tests ran, none skipped", file=sys.stderr)
PY
