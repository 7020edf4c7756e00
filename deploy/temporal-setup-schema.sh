#!/bin/sh
# Creates Temporal's two PostgreSQL databases and brings their schemas up to
# date, then exits. Runs in temporalio/admin-tools (service temporal-schema in
# docker-compose.yml), before the Temporal server starts.
#
# Follows temporalio/samples-server compose/scripts/setup-postgres.sh, the
# documented replacement for the deprecated temporalio/auto-setup image. Every
# step is idempotent, so it runs again on each `docker compose up`:
#   create        CREATE DATABASE, "already exists" is ignored
#   setup-schema  creates the version tables; leaves a newer version alone
#   update-schema applies only the versions the database does not have yet
#
# Environment:
#   POSTGRES_SEEDS, DB_PORT, POSTGRES_USER  where and as whom to connect
#   SQL_PASSWORD                            read by temporal-sql-tool itself
#   DBNAME, VISIBILITY_DBNAME               default temporal, temporal_visibility
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS must name the PostgreSQL host}"
: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${SQL_PASSWORD:?SQL_PASSWORD must be set}"
DB_PORT="${DB_PORT:-5432}"
DBNAME="${DBNAME:-temporal}"
VISIBILITY_DBNAME="${VISIBILITY_DBNAME:-temporal_visibility}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

echo "Waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}..."
tries=0
until nc -z -w 5 "$POSTGRES_SEEDS" "$DB_PORT"; do
	tries=$((tries + 1))
	if [ "$tries" -ge 60 ]; then
		echo "PostgreSQL did not accept connections after 60 tries" >&2
		exit 1
	fi
	sleep 2
done

sqltool() {
	temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" \
		-u "$POSTGRES_USER" "$@"
}

setup() { # database, schema directory under $SCHEMA_DIR
	echo "Temporal database $1: create, setup-schema, update-schema"
	sqltool --db "$1" create
	sqltool --db "$1" setup-schema -v 0.0
	sqltool --db "$1" update-schema -d "$SCHEMA_DIR/$2/versioned"
}

setup "$DBNAME" temporal
setup "$VISIBILITY_DBNAME" visibility
echo "Temporal schema is current"
