#!/usr/bin/env bash
# The test suite as two pytest processes side by side (`make test` runs this):
#   tests/unit                          CPU-bound, on one core; started first, while the bot
#                                       is trained and its stories tested (they need no bot)
#   tests/integration + tests/cluster   mostly waiting on Rasa, Chromium, sockets and servers,
#   then the unit tests of the real       which leaves room for the unit tests that load the
#   models                                real encoders (the first lane is the longer one)
# Together they keep this 2-core machine busy instead of taking turns, which keeps `.ci/run`
# under its 30 minutes. With FRONTLINE_TEST_DATABASE_URL set, the second process gets a
# database of its own on the same server (conftest.py resets the schema of the one it is
# given). Extra arguments go to both. The unit tests' output follows the other's.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST=.venv/bin/pytest
LOG=var/test-artifacts/pytest-unit.log
mkdir -p "$(dirname "$LOG")"

second_url="${FRONTLINE_TEST_DATABASE_URL:-}"
if [ -n "$second_url" ]; then
  second_url="$(.venv/bin/python - "$second_url" <<'PY'
import sys
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

url = make_url(sys.argv[1])
name = f"{url.database or 'frontline_test'}_slow"
admin = create_engine(url, isolation_level="AUTOCOMMIT")
with admin.connect() as connection:
    known = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    if known.scalar() is None:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
admin.dispose()
print(url.set(database=name).render_as_string(hide_password=False))
PY
)" || { echo "error: could not create the second test database" >&2; exit 1; }
fi

"$PYTEST" tests/unit -m "not real_model" --durations=15 "$@" >"$LOG" 2>&1 &
unit=$!
# The bot the integration tests talk to: trained when its data changed, validated, its
# stories run (`frontline bot test`); a failure there is the run's failure.
if .venv/bin/frontline bot train && .venv/bin/frontline bot test; then
  FRONTLINE_TEST_DATABASE_URL="$second_url" "$PYTEST" tests/integration tests/cluster --durations=15 "$@"
  slow=$?
  FRONTLINE_TEST_DATABASE_URL="$second_url" "$PYTEST" tests/unit -m real_model --durations=5 "$@"
  models=$?
  [ "$slow" -ne 0 ] || slow=$models
else
  echo "error: the bot did not train or its tests failed; integration tests not run" >&2
  slow=1
fi
wait "$unit"
fast=$?
echo
echo "=== tests/unit (ran beside the tests above; also in $LOG) ==="
cat "$LOG"
if [ "$slow" -ne 0 ] || [ "$fast" -ne 0 ]; then
  echo "pytest failed: integration+cluster+real-model exit $slow, unit exit $fast" >&2
  exit 1
fi
