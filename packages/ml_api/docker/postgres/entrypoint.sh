#!/bin/sh
# The official postgres image's first start, in short: when PGDATA holds no database yet, make
# one with POSTGRES_USER as its superuser (password POSTGRES_PASSWORD; scram-sha-256 over the
# network, trust only on the container's own socket) and the database POSTGRES_DB; then run the
# command (the image's CMD: postgres). On a later start the variables are not read again: the
# password is the one stored in the database (change it with ALTER ROLE).
set -eu

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    user="${POSTGRES_USER:-postgres}"
    database="${POSTGRES_DB:-$user}"
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "postgres-entrypoint: $PGDATA holds no database and POSTGRES_PASSWORD is empty:" \
            "set it to make one" >&2
        exit 1
    fi
    # A folder of its own under a mounted volume (Kubernetes: PGDATA below the mount, whose
    # root may hold lost+found), only for the postgres user.
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA"
    # The password on a pipe: never in a file, an argument or the log.
    printf '%s\n' "$POSTGRES_PASSWORD" | initdb --pgdata="$PGDATA" --username="$user" \
        --pwfile=/dev/stdin --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    # Clients on any address (the container's network), each with the password.
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [ "$database" != postgres ]; then
        # Single-user mode: no server listening yet, so no client sees a half-made database.
        quoted="$(printf '%s' "$database" | sed 's/"/""/g')"
        echo "CREATE DATABASE \"$quoted\"" | postgres --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "postgres-entrypoint: made the database \"$database\" of user \"$user\" in $PGDATA" >&2
fi
# At every start, as the official image does: PostgreSQL refuses a data folder that others can
# read or write, and a volume's mount may have given it to a group (Kubernetes' fsGroup).
# 00700, not 0700: GNU chmod keeps a folder's set-group-id bit unless a numeric mode clears it.
if [ "${1:-}" = postgres ] && [ -d "$PGDATA" ]; then
    chmod 00700 "$PGDATA"
fi

exec "$@"
