#!/usr/bin/env bash
# A local PostgreSQL server for the parallel-tuning test (tests/test_tune_postgres.py).
#
# Installs Debian's postgresql package when it is missing, starts the cluster on loopback only,
# creates the user and database the test uses, and prints the SQLAlchemy URL on stdout (the only line
# it prints there; progress goes to stderr; the psycopg2 driver is named because SQLAlchemy 2.1 defaults
# to psycopg 3). Use it as
#     export DEEPZOO_TEST_POSTGRES_URL="$(.ci/postgres.sh)"
# Needs root (apt-get, and running pg_ctlcluster as the postgres user). Safe to run again.
# With DEEPZOO_PG_INSTALL=0 (as `make test` runs it) it installs nothing: without the binaries, or
# without root, it says so on stderr and exits 1.
set -euo pipefail

DB_USER="${DEEPZOO_PG_USER:-deepzoo}"
DB_PASSWORD="${DEEPZOO_PG_PASSWORD:-deepzoo}"
DB_NAME="${DEEPZOO_PG_DB:-deepzoo_test}"
PORT="${DEEPZOO_PG_PORT:-5432}"

log() { echo "postgres.sh: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
    log "needs root (it runs pg_ctlcluster and psql as the postgres user); run it with sudo"
    exit 1
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    if [ "${DEEPZOO_PG_INSTALL:-1}" = 0 ]; then
        log "no PostgreSQL binaries (/usr/lib/postgresql/*/bin/postgres, pg_ctlcluster); not installing them"
        exit 1
    fi
    log "installing postgresql (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi

VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
CLUSTER=main
if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {found = 1} END {exit !found}'; then
    log "creating cluster $VERSION/$CLUSTER"
    pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" >&2
fi
# Loopback only, password authentication for TCP connections (Debian's default pg_hba.conf).
CONF="/etc/postgresql/$VERSION/$CLUSTER/postgresql.conf"
sed -i "s/^#\?listen_addresses.*/listen_addresses = 'localhost'/" "$CONF"
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $3}')"

if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c && $4 == "online" {found = 1} END {exit !found}'; then
    log "starting cluster $VERSION/$CLUSTER on port $PORT"
    pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

psql_admin() { su postgres -c "psql -p $PORT -v ON_ERROR_STOP=1 -qtA $*"; }
for _ in $(seq 1 30); do  # the server accepts connections a moment after pg_ctlcluster returns
    psql_admin "-c 'select 1'" >/dev/null 2>&1 && break
    sleep 1
done
if [ "$(psql_admin "-c \"select 1 from pg_roles where rolname = '$DB_USER'\"")" != "1" ]; then
    log "creating user $DB_USER"
    psql_admin "-c \"create user $DB_USER with password '$DB_PASSWORD'\"" >&2
fi
if [ "$(psql_admin "-c \"select 1 from pg_database where datname = '$DB_NAME'\"")" != "1" ]; then
    log "creating database $DB_NAME"
    psql_admin "-c \"create database $DB_NAME owner $DB_USER\"" >&2
fi

echo "postgresql+psycopg2://$DB_USER:$DB_PASSWORD@127.0.0.1:$PORT/$DB_NAME"
