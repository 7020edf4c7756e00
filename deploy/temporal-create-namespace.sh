#!/bin/sh
# Creates the Temporal namespace webhookd uses (if it does not exist yet) and
# waits until the frontend serves it, then exits. Runs in
# temporalio/admin-tools (service temporal-namespace in docker-compose.yml),
# after the Temporal server is up and before `webhookd migrate`.
#
# Follows temporalio/samples-server compose/scripts/create-namespace.sh.
# The last step waits for `operator search-attribute list`, the call
# `webhookd migrate` makes first: a new namespace takes up to 15 s to reach
# the frontend's cache (docs.temporal.io/self-hosted-guide/namespaces).
#
# Environment:
#   TEMPORAL_ADDRESS             frontend host:port (default temporal:7233)
#   DEFAULT_NAMESPACE            default "default"
#   DEFAULT_NAMESPACE_RETENTION  retention of closed workflows (default 168h)
set -eu

NAMESPACE="${DEFAULT_NAMESPACE:-default}"
RETENTION="${DEFAULT_NAMESPACE_RETENTION:-168h}"
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
HOST="${ADDRESS%:*}"
PORT="${ADDRESS##*:}"

retry() { # description, command...
	what=$1
	shift
	tries=0
	until "$@"; do
		tries=$((tries + 1))
		if [ "$tries" -ge 60 ]; then
			echo "gave up waiting for: $what" >&2
			exit 1
		fi
		echo "waiting for: $what ($tries)"
		sleep 2
	done
}

retry "Temporal port ${ADDRESS}" nc -z -w 5 "$HOST" "$PORT"

# The official script dials the frontend by its IPv4 address rather than by
# name ("to work around some very weird issue"); do the same when it resolves.
IP="$(getent ahosts "$HOST" 2>/dev/null | awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }')" || IP=
if [ -n "$IP" ]; then
	ADDRESS="${IP}:${PORT}"
	echo "Using ${ADDRESS} for ${HOST}:${PORT}"
fi
retry "Temporal cluster health" temporal operator cluster health --address "$ADDRESS"

if temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1; then
	echo "Namespace '$NAMESPACE' exists"
else
	echo "Creating namespace '$NAMESPACE' (retention $RETENTION)"
	# Fails if another process created it meanwhile; the check below decides.
	temporal operator namespace create --namespace "$NAMESPACE" \
		--retention "$RETENTION" --address "$ADDRESS" ||
		echo "namespace create failed; checking whether it exists anyway" >&2
fi

served() {
	temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null
}
retry "namespace '$NAMESPACE' to be served" served
echo "Namespace '$NAMESPACE' is ready"
