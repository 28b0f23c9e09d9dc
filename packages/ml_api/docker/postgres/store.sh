#!/bin/sh
# house-price-store: the prediction store's backups (every priced house, and the sale prices
# posted back, which are nowhere else) and their restore, by pg_dump and pg_restore.
#
#   house-price-store backup DIR [KEEP]   a new file DIR/house_price-<UTC time>.dump, then only
#                                         the newest KEEP (14 by default) of those kept; prints
#                                         its path
#   house-price-store backup -            the dump on standard output (compose: `exec -T db`)
#   house-price-store restore [--force] FILE
#                                         a dump put back (- : from standard input); refused
#                                         while another client is connected, unless --force
#
# A backup is pg_dump's custom format: one consistent snapshot, taken while the API goes on
# writing. It is written to a file (DIR's, under a hidden name; for `-`, one in TMPDIR, /tmp by
# default), read back whole (pg_restore to /dev/null) and only then named, or copied to standard
# output: a failed or cut-off dump is never taken for a backup (`-` then writes nothing and
# exits non-zero), and older backups are pruned only after a new one is there.
#
# A restore drops the store's tables (every table of its schema) and makes them again as the
# dump has them, rows and the migrations' revision included, in one transaction: whole or not
# at all. Stop the API first (compose: `stop api`; Kubernetes: scale its Deployment to 0): what
# was priced after the dump is lost with the tables it replaces, and a restore refuses while any
# other client is connected to the store's database (naming them), unless --force. It waits at
# most LOCK_WAIT (below) for a table's lock, never for ever. An API started afterwards migrates
# a dump of an older release to its code's revision.
#
# The server and the database are libpq's variables (PGHOST, PGPORT, PGUSER, PGDATABASE,
# PGPASSWORD), each defaulting to the image's own (POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD;
# no PGHOST: the container's socket), so that a Kubernetes CronJob or a compose `exec` gives it
# the variables the database was made with.
set -eu
# A signal (Ctrl-C, a hang-up, SIGTERM) ends the script through `exit`, which runs the EXIT trap
# that removes a partial dump: killed by the signal itself, sh ran no trap, and the file stayed
# (`backup -`'s in TMPDIR, the database container's /tmp, for good).
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

export PGUSER="${PGUSER:-${POSTGRES_USER:-postgres}}"
export PGDATABASE="${PGDATABASE:-${POSTGRES_DB:-$PGUSER}}"
if [ -z "${PGPASSWORD:-}" ] && [ -n "${POSTGRES_PASSWORD:-}" ]; then
    export PGPASSWORD="$POSTGRES_PASSWORD"
fi
usage="usage: house-price-store backup DIR [KEEP] | backup - | restore [--force] FILE|-"

# The store dumped into the file $1, then read back whole, every table's rows decompressed (to
# nothing): `pg_restore --list` reads only the table of contents at the file's start, and took
# a file cut short after it.
dump_into() {
    pg_dump --format=custom --no-password --file="$1"
    pg_restore --file=/dev/null "$1"
}

# Refuses a command given more arguments than it takes (a misplaced `--force`, after FILE, was
# read as nothing at all): the usage, status 2.
at_most() {
    if [ "$1" -lt "$2" ]; then
        echo "$usage" >&2
        exit 2
    fi
}

backup() {
    dir="${1:?$usage}"
    if [ "$dir" = - ]; then
        at_most 1 "$#"
        # Not a byte on standard output before the dump is read back whole: a reader of a
        # pipe (compose's `exec -T`, `kubectl exec`) cannot tell a cut dump from a whole one.
        partial="$(mktemp)"
        trap 'rm -f "$partial"' EXIT
        dump_into "$partial"
        cat "$partial"
        return
    fi
    at_most 2 "$#"
    keep="${2:-14}"
    # A leading zero refused too: `00` passed as a number above 0, and `head -n -00` below
    # then listed every backup, the new one included, for removal.
    case "$keep" in
        '' | *[!0-9]* | 0*)
            echo "house-price-store: KEEP must be a whole number above 0, not '$keep'" >&2
            exit 2 ;;
    esac
    # Partial files of runs that were killed (a Job's deadline: SIGKILL, no cleanup), a day
    # old: never a running dump's (the Job's deadline is two hours), and never pruned below.
    find "$dir" -maxdepth 1 -name '.house_price-*' -type f -mmin +1440 -delete
    name="house_price-$(date -u +%Y%m%dT%H%M%SZ).dump"
    # A partial file of this run's own (mktemp), where it was named by the second: two runs
    # started in the same second (a Job made by hand beside the nightly one) wrote one file,
    # and the first to finish moved it away under the other. mktemp makes it 0600: readable by
    # the volume's group too (fsGroup), for a job that copies the backups off the cluster.
    partial="$(mktemp "$dir/.$name.XXXXXX")"
    trap 'rm -f "$partial"' EXIT
    chmod 0640 "$partial"
    dump_into "$partial"
    mv "$partial" "$dir/$name"
    trap - EXIT
    # The names sort as their times: all but the newest KEEP removed.
    ls "$dir" | grep -E '^house_price-[0-9]{8}T[0-9]{6}Z\.dump$' | sort | head -n "-$keep" \
        | while read -r old; do rm -f "$dir/$old"; done
    echo "$dir/$name"
}

# How long a restore waits for a table's lock (PostgreSQL's lock_timeout) before it gives up,
# restoring nothing: behind a client holding one (an API's transaction left open) it waited for
# ever, and every query of the API's queued behind it. A running API's writes take milliseconds.
LOCK_WAIT=5s
what_to_do="Stop the API first (compose: stop api; Kubernetes: kubectl scale"
what_to_do="$what_to_do deployment/house-price-api --replicas=0), or restore --force to replace"
what_to_do="$what_to_do the store under it."

# Every table of the store's schema dropped: the dump's and any a later migration made, which
# pg_restore --clean left (a newer table's foreign key then refused the drop of predictions,
# and the restore of an older release's dump failed; a newer table without one stayed, and the
# API's migration to it failed on starting). Each drop holds its table's ACCESS EXCLUSIVE lock
# to the transaction's end.
drop_tables="SET LOCAL client_min_messages = warning;
SET LOCAL lock_timeout = '$LOCK_WAIT';
DO \$\$
DECLARE name text;
BEGIN
    FOR name IN SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
                WHERE schemaname = current_schema() LOOP
        EXECUTE 'DROP TABLE IF EXISTS ' || name || ' CASCADE';
    END LOOP;
EXCEPTION WHEN lock_not_available THEN
    RAISE EXCEPTION 'house-price-store: the drop of % waited % for a lock another session holds: %',
        name, current_setting('lock_timeout'), 'nothing restored' USING HINT = '$what_to_do';
END
\$\$;"

# The restore refused while another client is connected to the store's database: the client
# backends of pg_stat_activity on it but this one (not the autovacuum or other background
# workers: another backend_type, or no user). A role that may not read another role's sessions
# sees their backend_type and address as null: counted all the same.
# Run after drop_tables, in its transaction, so that the check and the restore are one: once
# every table is held, a client that connects later can neither read nor write one before the
# restore commits, and then finds the dump's; one connected by then is named here, and the drops
# are rolled back. (One that came and went before is as any write after the dump: replaced.)
# The transaction's first read of pg_stat_activity, which it then keeps: after the drops.
refuse_if_connected="DO \$\$
DECLARE counted bigint; named text;
BEGIN
    SELECT count(*), string_agg(format('%s from %s',
               coalesce(nullif(application_name, ''), 'no application_name'),
               coalesce(host(client_addr), CASE WHEN backend_type IS NULL
                   THEN 'an address not shown to this role' ELSE 'the local socket' END)),
               ', ' ORDER BY pid)
        INTO counted, named
        FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND usesysid IS NOT NULL
            AND coalesce(backend_type, 'client backend') = 'client backend';
    IF counted > 0 THEN
        RAISE EXCEPTION 'house-price-store: % other session(s) connected to database %: % (%)',
            counted, quote_ident(current_database()), named, 'nothing restored'
            USING HINT = '$what_to_do';
    END IF;
END
\$\$;"

restore() {
    force=
    if [ "${1:-}" = --force ]; then
        force=yes
        shift
    fi
    file="${1:?$usage}"
    at_most 1 "$#"
    if [ "$file" = - ]; then
        set --
    else
        set -- "$file"
    fi
    # One transaction, which psql commits only when pg_restore has read the dump whole: on a
    # dump cut short or unreadable, a COPY it was in is ended and an error raised, so that
    # psql stops (ON_ERROR_STOP) and the server rolls it all back. psql stops at the first
    # error, often another than the one raised here (a COPY's half row; `\.` where no COPY was
    # under way), so the outcome is also said on standard error, by the script.
    {
        echo 'BEGIN;'
        echo "$drop_tables"
        if [ -z "$force" ]; then
            echo "$refuse_if_connected"
        fi
        if pg_restore --no-owner --no-privileges --file=- "$@"; then
            echo 'COMMIT;'
        else
            # Said once the end of a COPY reached psql: a psql already stopped (refusing the
            # restore, its pipe then broken under pg_restore) leaves the script here too, and
            # the write kills it first (SIGPIPE, or set -e), before it blames the dump.
            printf '\n\\.\n'
            failed="house-price-store: the dump could not be read whole: nothing restored"
            echo "$failed" >&2
            echo "DO \$\$ BEGIN RAISE EXCEPTION '$failed'; END \$\$;"
        fi
    } | psql --no-psqlrc --quiet --no-password --set=ON_ERROR_STOP=1 --output=/dev/null \
        --dbname="$PGDATABASE"
}

command="${1:-}"
[ "$#" -gt 0 ] && shift
case "$command" in
    backup) backup "$@" ;;
    restore) restore "$@" ;;
    *) echo "$usage" >&2; exit 2 ;;
esac
