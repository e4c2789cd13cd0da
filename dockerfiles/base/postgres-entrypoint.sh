#!/bin/bash
# Entrypoint of the local postgres base image, with the official image's contract (a subset:
# no nss_wrapper for arbitrary uids; run as uid 999 or as root, which drops to uid 999).
#   empty $PGDATA -> initdb with POSTGRES_USER/POSTGRES_PASSWORD, create POSTGRES_DB,
#   run /docker-entrypoint-initdb.d/*.sh|*.sql, then exec postgres listening on 0.0.0.0:5432.
set -Eeuo pipefail

log() { echo "docker-entrypoint: $*" >&2; }

# `docker run image -c foo=bar` means `postgres -c foo=bar`, as in the official image.
if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi

initialize() {
	: "${POSTGRES_USER:=postgres}"
	: "${POSTGRES_DB:=$POSTGRES_USER}"
	: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
		log "error: database is uninitialized and POSTGRES_PASSWORD is not set."
		log "  fix: set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust for throwaway databases)."
		exit 1
	fi
	log "initializing $PGDATA for user '$POSTGRES_USER', database '$POSTGRES_DB'"
	# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words on purpose
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s' "${POSTGRES_PASSWORD:-}") \
		--auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" ${POSTGRES_INITDB_ARGS:-} >&2
	printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"

	# A temporary server on the unix socket only, so nobody connects before init is complete.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >&2
	export PGUSER="$POSTGRES_USER" PGPASSWORD="${POSTGRES_PASSWORD:-}"
	local psql=(psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --dbname postgres)
	if [ "$POSTGRES_DB" != 'postgres' ]; then
		"${psql[@]}" --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >&2
	fi
	local f
	shopt -s nullglob
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh) log "running $f"; . "$f" ;;
			*.sql) log "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" >&2 ;;
			*) log "ignoring $f" ;;
		esac
	done
	pg_ctl -D "$PGDATA" -m fast -w stop >&2
	unset PGPASSWORD
	log "initialization complete; ready for start up"
}

if [ "$1" = 'postgres' ]; then
	if [ "$(id -u)" = '0' ]; then
		mkdir -p "$PGDATA"
		chown -R postgres:postgres "$PGDATA"
		chmod 700 "$PGDATA"
		exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
	fi
	mkdir -p "$PGDATA"
	chmod 700 "$PGDATA" 2>/dev/null || true
	if [ ! -s "$PGDATA/PG_VERSION" ]; then
		initialize
	fi
fi

exec "$@"
