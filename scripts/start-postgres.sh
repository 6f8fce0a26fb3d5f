#!/usr/bin/env bash
# Starts Debian's PostgreSQL cluster and makes the test role and database (idempotent).
# Prints the connection URL for AUTOBUILDER_TEST_POSTGRES_URL.
set -euo pipefail
version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
pg_lsclusters -h | grep -q "^$version main .* online" || pg_ctlcluster "$version" main start
for _ in $(seq 1 30); do
  su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qAtc \"select 1 from pg_roles where rolname='autobuilder'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"create role autobuilder login password 'autobuilder'\""
su postgres -c "psql -qAtc \"select 1 from pg_database where datname='autobuilder_test'\"" | grep -q 1 ||
  su postgres -c "createdb -O autobuilder autobuilder_test"
echo "postgres://autobuilder:autobuilder@127.0.0.1:5432/autobuilder_test"
