#!/usr/bin/env bash
# A production-like Temporal server on this machine, for benchmarks: the real
# multi-service server binary with PostgreSQL persistence (pgx driver), run as
# its own process, instead of the embedded SQLite dev server of `webhookd dev`.
#
#   scripts/temporal-postgres.sh start    build (cached), create the databases and
#                                         schema if needed, start in the background,
#                                         wait until healthy, print the address
#   scripts/temporal-postgres.sh stop     SIGTERM, wait for exit
#   scripts/temporal-postgres.sh status   exit 0 if running, 3 if not
#   scripts/temporal-postgres.sh reset    stop, drop its databases (start recreates them)
#   scripts/temporal-postgres.sh check [N] [CONCURRENCY] [-wft-pollers P] [-eager]
#                                         run N (default 1) naive one-activity workflows
#                                         with an in-process worker, CONCURRENCY (32) at
#                                         a time; prints workflows/s and latencies
#   scripts/temporal-postgres.sh build    only build the binaries
#
# Then point webhookd at it (README, "Measuring against a production-like Temporal"):
#   TEMPORAL_ADDRESS=127.0.0.1:7233 DATABASE_URL=postgres://... webhookd migrate
#
# Every step is idempotent: `start` on a running server only prints its address.
#
# What it builds, into $TEMPORAL_BENCH_DIR/bin (git-ignored):
#   temporal-server      go.temporal.io/server/cmd/server
#   temporal-sql-tool    go.temporal.io/server/cmd/tools/sql
#   temporal-namespace   ./scripts/temporal-namespace (namespace + workflow check)
# The first two are built through scripts/temporal-tools.mod: webhookd's own
# go.sum lacks modules the server's main package needs (urfave/cli, ...) and
# the main go.mod should not grow them. That modfile pins the server release
# (keep TEMPORAL_VERSION below equal to it). A cold build takes minutes on two
# cores; it is redone only when the modfile or the Go version changes.
#
# Environment (defaults in brackets):
#   TEMPORAL_BENCH_DIR        state: binaries, config, log, pid [<repo>/.bench/temporal]
#   TEMPORAL_BENCH_PORT       frontend gRPC port [7233]; the other ports follow it:
#                               history +1, matching +2, metrics +3, worker +6,
#                               frontend HTTP +10, membership -300 (+0/+1/+2/+6)
#   TEMPORAL_BENCH_NAMESPACE  namespace to create [default]
#   TEMPORAL_BENCH_RETENTION  its retention, when created [168h]
#   TEMPORAL_BENCH_DB         Temporal's database [webhookd_bench_temporal]
#   TEMPORAL_BENCH_VISIBILITY_DB  visibility database [webhookd_bench_temporal_visibility]
#   TEMPORAL_BENCH_PG_HOST, TEMPORAL_BENCH_PG_PORT, TEMPORAL_BENCH_PG_USER,
#   TEMPORAL_BENCH_PG_PASSWORD    PostgreSQL [127.0.0.1, 5432, postgres, none]
#   TEMPORAL_BENCH_SQL_PLUGIN postgres12_pgx (pgx) or postgres12 (lib/pq), for
#                             comparisons; the schema is the same [postgres12_pgx]
#   TEMPORAL_BENCH_LOG_LEVEL  server log level [info]
#   TEMPORAL_BENCH_SHARDS     numHistoryShards of databases it creates [4], as
#                             docker-compose.yml's server has
#   TEMPORAL_BENCH_START_TIMEOUT  seconds to wait for healthy [180]
#   TEMPORAL_BENCH_STOP_TIMEOUT   seconds to wait after SIGTERM before SIGKILL [60]
#
# Not run by CI: the server build alone takes longer than the test suite.
set -euo pipefail

# The server release; must match the require line in scripts/temporal-tools.mod.
TEMPORAL_VERSION=v1.32.1
# Fixed for the life of the databases: on existing ones the server keeps the
# count they were created with and only logs a warning. Change it with `reset`
# (16 made no difference to the noisy-neighbour burst: docs/performance.md).
NUM_HISTORY_SHARDS="${TEMPORAL_BENCH_SHARDS:-4}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${TEMPORAL_BENCH_DIR:-$ROOT/.bench/temporal}"
BIN_DIR="$STATE_DIR/bin"
CONFIG_DIR="$STATE_DIR/config"
LOG_FILE="$STATE_DIR/temporal.log"
PID_FILE="$STATE_DIR/temporal.pid"
MODFILE="$ROOT/scripts/temporal-tools.mod"

PORT="${TEMPORAL_BENCH_PORT:-7233}"
NAMESPACE="${TEMPORAL_BENCH_NAMESPACE:-default}"
RETENTION="${TEMPORAL_BENCH_RETENTION:-168h}"
DB="${TEMPORAL_BENCH_DB:-webhookd_bench_temporal}"
VIS_DB="${TEMPORAL_BENCH_VISIBILITY_DB:-webhookd_bench_temporal_visibility}"
PG_HOST="${TEMPORAL_BENCH_PG_HOST:-127.0.0.1}"
PG_PORT="${TEMPORAL_BENCH_PG_PORT:-5432}"
PG_USER="${TEMPORAL_BENCH_PG_USER:-postgres}"
PG_PASSWORD="${TEMPORAL_BENCH_PG_PASSWORD:-}"
SQL_PLUGIN="${TEMPORAL_BENCH_SQL_PLUGIN:-postgres12_pgx}"
LOG_LEVEL="${TEMPORAL_BENCH_LOG_LEVEL:-info}"
START_TIMEOUT="${TEMPORAL_BENCH_START_TIMEOUT:-180}"
STOP_TIMEOUT="${TEMPORAL_BENCH_STOP_TIMEOUT:-60}"

ADDRESS="127.0.0.1:$PORT"

die() {
	echo "temporal-postgres: $*" >&2
	exit 1
}
say() { echo "temporal-postgres: $*"; }

check_settings() {
	local v name
	# variable:environment name, for messages that say what to change.
	for v in PORT:TEMPORAL_BENCH_PORT PG_PORT:TEMPORAL_BENCH_PG_PORT \
		START_TIMEOUT:TEMPORAL_BENCH_START_TIMEOUT STOP_TIMEOUT:TEMPORAL_BENCH_STOP_TIMEOUT; do
		name="${v%%:*}"
		[[ "${!name}" =~ ^[0-9]+$ ]] || die "${v#*:} must be a number, not '${!name}'"
	done
	((PORT >= 1324 && PORT <= 65525)) || die "TEMPORAL_BENCH_PORT=$PORT: the derived ports (port-300 .. port+10) must be valid; pick 1324..65525"
	[[ "$SQL_PLUGIN" == postgres12_pgx || "$SQL_PLUGIN" == postgres12 ]] ||
		die "TEMPORAL_BENCH_SQL_PLUGIN must be postgres12_pgx or postgres12, not '$SQL_PLUGIN'"
	# Interpolated into SQL and YAML below: keep them plain identifiers.
	for v in DB:TEMPORAL_BENCH_DB VIS_DB:TEMPORAL_BENCH_VISIBILITY_DB NAMESPACE:TEMPORAL_BENCH_NAMESPACE; do
		name="${v%%:*}"
		[[ "${!name}" =~ ^[A-Za-z_][A-Za-z0-9_-]*$ ]] || die "${v#*:}='${!name}' is not a plain name (letters, digits, _ and -)"
	done
}

# --- build -------------------------------------------------------------------

# What the cached binaries were built from; a difference means rebuild.
build_stamp() {
	echo "temporal $TEMPORAL_VERSION, $(go env GOVERSION), modfile $(cat "$MODFILE" "${MODFILE%.mod}.sum" | sha256sum | cut -c1-12)"
}

build() {
	command -v go >/dev/null || die "go is not on PATH; webhookd needs Go $(awk '/^go /{print $2}' "$ROOT/go.mod")"
	grep -q "go.temporal.io/server $TEMPORAL_VERSION" "$MODFILE" ||
		die "$MODFILE does not require go.temporal.io/server $TEMPORAL_VERSION; make TEMPORAL_VERSION in $0 and the modfile agree"
	mkdir -p "$BIN_DIR"
	local stamp
	stamp="$(build_stamp)"
	if [[ -x "$BIN_DIR/temporal-server" && -x "$BIN_DIR/temporal-sql-tool" && "$(cat "$BIN_DIR/.stamp" 2>/dev/null)" == "$stamp" ]]; then
		: # cached
	else
		rm -f "$BIN_DIR/.stamp"
		say "building temporal-server and temporal-sql-tool $TEMPORAL_VERSION (several minutes the first time)"
		local t0=$SECONDS
		# From the repository root, so that -modfile's module is webhookd's directory.
		(cd "$ROOT" &&
			go build -modfile="$MODFILE" -trimpath -o "$BIN_DIR/temporal-server" go.temporal.io/server/cmd/server &&
			go build -modfile="$MODFILE" -trimpath -o "$BIN_DIR/temporal-sql-tool" go.temporal.io/server/cmd/tools/sql) ||
			die "building the Temporal server failed (see above); if go.sum entries are missing, run: go get -modfile=scripts/temporal-tools.mod go.temporal.io/server/cmd/server@$TEMPORAL_VERSION go.temporal.io/server/cmd/tools/sql@$TEMPORAL_VERSION"
		echo "$stamp" >"$BIN_DIR/.stamp"
		say "built in $((SECONDS - t0)) s"
	fi
	# Small and part of webhookd's module: go's own cache makes this quick.
	(cd "$ROOT" && go build -trimpath -o "$BIN_DIR/temporal-namespace" ./scripts/temporal-namespace) ||
		die "building scripts/temporal-namespace failed (see above)"
}

# --- PostgreSQL ----------------------------------------------------------------

psql_admin() { # SQL; prints rows unaligned
	PGPASSWORD="$PG_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 -At -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -c "$1"
}

require_postgres() {
	command -v psql >/dev/null || die "psql is not installed (apt-get install postgresql-client)"
	if ! psql_admin 'SELECT 1' >/dev/null 2>&1; then
		die "cannot connect to PostgreSQL at $PG_HOST:$PG_PORT as $PG_USER. Start it (local cluster: pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start) or set TEMPORAL_BENCH_PG_HOST/PORT/USER/PASSWORD"
	fi
}

sqltool() { # database, arguments...
	local db=$1
	shift
	# SQL_PASSWORD is read by the tool itself; an empty one suits trust auth.
	SQL_PASSWORD="$PG_PASSWORD" "$BIN_DIR/temporal-sql-tool" --plugin postgres12_pgx \
		--endpoint "$PG_HOST" --port "$PG_PORT" --user "$PG_USER" --database "$db" "$@"
}

# Creates both databases if missing and applies the schema versions of this
# release that they lack. The versioned schema files ship in the server module.
setup_schema() {
	local moddir schema
	moddir="$(cd "$ROOT" && go list -modfile="$MODFILE" -m -f '{{.Dir}}' go.temporal.io/server)" || moddir=
	[[ -n "$moddir" && -d "$moddir" ]] ||
		die "go.temporal.io/server $TEMPORAL_VERSION is not in the module cache; run: (cd $ROOT && go mod download -modfile=scripts/temporal-tools.mod go.temporal.io/server)"
	schema="$moddir/schema/postgresql/v12"
	local db dir
	: >"$LOG_FILE.setup" # the tool's output of this start only
	for db in "$DB:temporal" "$VIS_DB:visibility"; do
		dir="${db#*:}"
		db="${db%%:*}"
		if [[ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
			say "creating database $db"
			sqltool "$db" create-database >>"$LOG_FILE.setup" 2>&1 ||
				die "temporal-sql-tool create-database $db failed; see $LOG_FILE.setup"
		fi
		# setup-schema -v 0.0 creates the version tables only (a no-op when
		# they exist); update-schema applies just the missing versions.
		{ sqltool "$db" setup-schema -v 0.0 && sqltool "$db" update-schema -d "$schema/$dir/versioned"; } >>"$LOG_FILE.setup" 2>&1 ||
			die "schema setup of $db failed; see $LOG_FILE.setup (to start over: $0 reset)"
	done
	# Four services each open up to 20 + 10 connections; webhookd's own pools
	# come on top. PostgreSQL's default of 100 can run out under load.
	local max
	max="$(psql_admin 'SHOW max_connections')"
	if ((max < 200)); then
		say "warning: PostgreSQL max_connections is $max; Temporal alone may open up to 120, plus webhookd's pools. For heavy runs raise it (ALTER SYSTEM SET max_connections = 200; then restart PostgreSQL)"
	fi
}

# --- config --------------------------------------------------------------------

# Written on every start, so that a change of the environment takes effect.
# Follows the server module's config/development-postgres12.yaml, with the
# pgx plugin, these databases and ports, and the connection pools of the
# server's Docker image (common/config/config_template_embedded.yaml), which
# is what docker-compose.yml runs.
write_config() {
	mkdir -p "$CONFIG_DIR"
	cat >"$CONFIG_DIR/temporal.yaml" <<EOF
# Generated by scripts/temporal-postgres.sh on every start; edits are lost.
log:
  stdout: true
  level: $LOG_LEVEL

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: $NUM_HISTORY_SHARDS
  datastores:
    postgres-default:
      sql:
        pluginName: "$SQL_PLUGIN" # pgx (postgres12_pgx) is faster than lib/pq (postgres12)
        databaseName: "$DB"
        connectAddr: "$PG_HOST:$PG_PORT"
        connectProtocol: "tcp"
        user: "$PG_USER"
        password: "$PG_PASSWORD"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: "1h"
    postgres-visibility:
      sql:
        pluginName: "$SQL_PLUGIN"
        databaseName: "$VIS_DB"
        connectAddr: "$PG_HOST:$PG_PORT"
        connectProtocol: "tcp"
        user: "$PG_USER"
        password: "$PG_PASSWORD"
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: "1h"

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  metrics:
    # A real deployment exports metrics, and producing them costs CPU.
    prometheus:
      framework: "tally"
      timerType: "histogram"
      listenAddress: "127.0.0.1:$((PORT + 3))"

services:
  frontend:
    rpc:
      grpcPort: $PORT
      membershipPort: $((PORT - 300))
      bindOnLocalHost: true # no authorizer: never listen beyond loopback
      httpPort: $((PORT + 10))
  history:
    rpc:
      grpcPort: $((PORT + 1))
      membershipPort: $((PORT - 299))
      bindOnLocalHost: true
  matching:
    rpc:
      grpcPort: $((PORT + 2))
      membershipPort: $((PORT - 298))
      bindOnLocalHost: true
  worker:
    rpc:
      grpcPort: $((PORT + 6))
      membershipPort: $((PORT - 294))
      bindOnLocalHost: true

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:$PORT"
      httpAddress: "127.0.0.1:$((PORT + 10))"

dcRedirectionPolicy:
  policy: "noop"

dynamicConfigClient:
  filepath: "$CONFIG_DIR/dynamicconfig.yaml"
  pollInterval: "60s"
EOF
	cat >"$CONFIG_DIR/dynamicconfig.yaml" <<'EOF'
# Generated by scripts/temporal-postgres.sh. Keys and defaults:
# go.temporal.io/server common/dynamicconfig/constants.go. Everything not
# listed keeps the server's default: the point is a realistic server.

# Eager workflow start: the first workflow task comes back inline in the start
# call when the starting client also runs a worker for the queue. Already the
# default in 1.32; stated, as in deploy/temporal-dynamicconfig.yaml.
system.enableEagerWorkflowStart:
  - value: true

# Task-queue priority and fairness, as in deploy/temporal-dynamicconfig.yaml.
matching.useNewMatcher:
  - value: true
matching.enableFairness:
  - value: true
EOF
	# The server only logs an unknown key or a mistyped value, and the
	# validator exits 0 on both: refuse its warnings here instead.
	local problems
	problems="$("$BIN_DIR/temporal-server" validate-dynamic-config "$CONFIG_DIR/dynamicconfig.yaml" 2>&1)" ||
		die "validate-dynamic-config failed: $problems"
	if grep -q 'warning:' <<<"$problems"; then
		die "$CONFIG_DIR/dynamicconfig.yaml (written by write_config in $0) is invalid: $problems"
	fi
}

# --- process -----------------------------------------------------------------

# The pid in the pid file, if that process is alive and is our server (not a
# later process that reused the number).
running_pid() {
	local pid
	pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	[[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$BIN_DIR/temporal-server"* ]] || return 1
	echo "$pid"
}

listening() { # port: true if something accepts connections on it
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
	local pid
	if pid="$(running_pid)"; then
		say "already running (pid $pid)"
		echo "$ADDRESS"
		return
	fi
	rm -f "$PID_FILE"
	local p
	for p in "$PORT" $((PORT + 1)) $((PORT + 2)) $((PORT + 3)) $((PORT + 6)) $((PORT + 10)) \
		$((PORT - 300)) $((PORT - 299)) $((PORT - 298)) $((PORT - 294)); do
		listening "$p" && die "port $p is in use (webhookd dev, or another Temporal, on $ADDRESS?); stop it or set TEMPORAL_BENCH_PORT"
	done
	require_postgres
	build
	mkdir -p "$STATE_DIR"
	setup_schema
	write_config

	local t0=$SECONDS
	echo "=== $(date -u +%FT%TZ) start" >>"$LOG_FILE"
	local logstart
	logstart="$(wc -l <"$LOG_FILE")" # to show only this run's lines on failure
	# setsid: its own session, so that the terminal's Ctrl-C or hang-up does
	# not reach it; `stop` ends it.
	setsid "$BIN_DIR/temporal-server" --config-file "$CONFIG_DIR/temporal.yaml" --allow-no-auth start \
		</dev/null >>"$LOG_FILE" 2>&1 &
	pid=$!
	echo "$pid" >"$PID_FILE"
	say "started pid $pid; log $LOG_FILE"

	# First the port, watching the process, so that a crash at start-up (bad
	# config, database) is reported at once rather than after the timeout.
	until listening "$PORT"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$PID_FILE"
			tail -n "+$logstart" "$LOG_FILE" | tail -n 20 >&2
			die "the server exited during start-up; full log: $LOG_FILE"
		fi
		((SECONDS - t0 < START_TIMEOUT)) ||
			die "frontend $ADDRESS not listening after ${START_TIMEOUT}s; see $LOG_FILE (the server is still running: $0 stop)"
		sleep 0.5
	done
	# Then the health check and the namespace, with whatever time is left.
	local left=$((START_TIMEOUT - (SECONDS - t0)))
	((left > 10)) || left=10
	"$BIN_DIR/temporal-namespace" -address "$ADDRESS" -namespace "$NAMESPACE" -retention "$RETENTION" -timeout "${left}s" ||
		die "the server did not become healthy; see $LOG_FILE (the server is still running: $0 stop)"
	say "healthy after $((SECONDS - t0)) s; namespace $NAMESPACE served"
	echo "$ADDRESS"
}

stop() {
	local pid
	if ! pid="$(running_pid)"; then
		rm -f "$PID_FILE"
		say "not running"
		return
	fi
	kill -TERM "$pid"
	local t0=$SECONDS
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS - t0 >= STOP_TIMEOUT)); then
			say "still running ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL to $pid"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.5
	done
	rm -f "$PID_FILE"
	echo "=== $(date -u +%FT%TZ) stopped" >>"$LOG_FILE"
	say "stopped (pid $pid) in $((SECONDS - t0)) s"
}

status() {
	local pid
	if [[ -f "$BIN_DIR/.stamp" ]]; then
		say "binaries: $BIN_DIR ($(cat "$BIN_DIR/.stamp"))"
	else
		say "binaries: not built yet"
	fi
	if command -v psql >/dev/null && psql_admin 'SELECT 1' >/dev/null 2>&1; then
		say "databases: $(psql_admin "SELECT coalesce(string_agg(datname, ', '), 'none yet') FROM pg_database WHERE datname IN ('$DB', '$VIS_DB')") on $PG_HOST:$PG_PORT"
	else
		say "databases: PostgreSQL at $PG_HOST:$PG_PORT is not reachable"
	fi
	if pid="$(running_pid)"; then
		say "running: pid $pid, frontend $ADDRESS, namespace $NAMESPACE, log $LOG_FILE"
		return 0
	fi
	say "not running"
	return 3
}

reset() {
	stop
	require_postgres
	local db
	for db in "$DB" "$VIS_DB"; do
		# WITH (FORCE): a benchmark client left connected must not block this.
		psql_admin "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
		say "dropped database $db"
	done
	# The binaries stay: they are the slow part and hold no state.
	rm -rf "$CONFIG_DIR" "$LOG_FILE" "$LOG_FILE.setup"
}

check() { # [N] [CONCURRENCY] [more temporal-namespace flags]
	local n="${1:-1}" c="${2:-32}"
	[[ "$n" =~ ^[0-9]+$ && "$c" =~ ^[0-9]+$ ]] || die "usage: $0 check [N] [CONCURRENCY] [-wft-pollers P] [-eager]"
	running_pid >/dev/null || die "not running; run: $0 start"
	"$BIN_DIR/temporal-namespace" -address "$ADDRESS" -namespace "$NAMESPACE" -workflows "$n" -concurrency "$c" \
		-timeout "$((60 + n))s" "${@:3}"
}

check_settings
case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
reset) reset ;;
check) check "${@:2}" ;;
build)
	build
	say "binaries in $BIN_DIR"
	;;
*)
	echo "usage: $0 start|stop|status|reset|check [N] [CONCURRENCY] [-wft-pollers P] [-eager]|build" >&2
	exit 2
	;;
esac
