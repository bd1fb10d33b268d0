#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster (initdb + pg_ctl on a unix socket and a
# loopback port) and HIB_TEST_PG_URL pointing at it; the cluster is stopped and removed after.
# Without PostgreSQL binaries the command still runs and the PostgreSQL tests skip (CI has them).
set -uo pipefail
cd "$(dirname "$0")/.."
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "${PGBIN}" ] || [ -n "${HIB_TEST_PG_URL:-}" ]; then
  exec "$@"
fi
DIR=$(mktemp -d /tmp/hib-pg.XXXXXX)
PORT=${HIB_TEST_PG_PORT:-$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')}
AS=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root.
  id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$DIR"
  AS=(runuser -u postgres --)
fi
cleanup() {
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
"${AS[@]}" "$PGBIN/initdb" -D "$DIR/data" -U hib --auth=trust -E UTF8 >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
  -o "-k $DIR -p $PORT -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
"${AS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U hib hib_test
export HIB_TEST_PG_URL="postgresql+psycopg://hib@127.0.0.1:$PORT/hib_test"
echo "with-postgres: throwaway cluster on 127.0.0.1:$PORT"
"$@"
