#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for gqs's tests: unix socket only (no TCP), trust auth,
# no flushes to disk (fsync=off, full_page_writes=off: a crash of the *machine* may corrupt it,
# which is fine for a cluster that lives for one test run). synchronous_commit stays on, so
# killing or crashing server processes loses no acknowledged commit.
#
#   pg-cluster.sh start DIR   initdb + start a cluster in DIR (created if missing, must be empty
#                             or an earlier pg-cluster.sh DIR), create the database, print the
#                             libpq conninfo on stdout (nothing else goes to stdout)
#   pg-cluster.sh stop DIR    stop it (pg_ctl -m fast) and remove DIR; a missing DIR is not an error
#   pg-cluster.sh status DIR  exit 0 and print the conninfo if it runs, exit 3 if not
#   pg-cluster.sh crash DIR   stop it as a crash would (pg_ctl -m immediate), keeping DIR: the
#                             next start recovers it (tests of a server restart)
#   pg-cluster.sh available   exit 0 if the server binaries are installed, else 1 (and why)
#   pg-cluster.sh pooler DIR  start PgBouncer (Debian's pgbouncer) in transaction mode in front
#                             of the running cluster in DIR, print its conninfo (the same
#                             database and user through the pooler's socket in DIR); stop
#                             stops it too
#
# As root the server runs as the `postgres` user (initdb refuses root): DIR is chowned to it,
# so DIR may come from `mktemp -d` (0700 root) but its parents must be traversable by postgres
# (/tmp is; /root is not). As any other user the server runs as that user. Either way the
# superuser is named `postgres` and auth is trust, so the conninfo is the same.
#
# Environment: PG_BINDIR (server binaries; default: newest /usr/lib/postgresql/*/bin, else
# initdb on PATH), GQS_PG_PORT (default 5432: only names the socket file, no TCP port is
# opened, so it cannot clash with another cluster whose socket is elsewhere),
# GQS_PG_DBNAME (default gqs), GQS_PG_MAX_CONNECTIONS (default 200), GQS_PG_DURABLE=1 (fsync
# and full_page_writes on too, as a production server: for benchmarks).
set -euo pipefail

die() { echo "pg-cluster: error: $*" >&2; exit 1; }
note() { echo "pg-cluster: $*" >&2; }

[ "${1:-}" = available ] && set -- available /nonexistent/gqs-pg
[ $# -eq 2 ] || die "usage: $0 start|stop|status|crash|pooler DIR, or: $0 available"
cmd=$1
dir=$(realpath -m -- "$2")
port=${GQS_PG_PORT:-5432}
dbname=${GQS_PG_DBNAME:-gqs}
max_connections=${GQS_PG_MAX_CONNECTIONS:-200}
durable=off
[ "${GQS_PG_DURABLE:-0}" = 1 ] && durable=on
data="$dir/data"
log="$dir/postgres.log"
marker="$dir/.gqs-pg-cluster"

case "$dir" in
/ | /tmp | /var/tmp | "${HOME:-/}" | /home | /root) die "refusing to use $dir itself" ;;
esac
# The path goes unquoted into postgresql.conf (where ',' separates socket dirs) and into the
# conninfo: allow only plain characters rather than escape.
[[ "$dir" =~ ^[A-Za-z0-9._/+-]+$ ]] || die "DIR must match [A-Za-z0-9._/+-]+: $dir"
[[ "$port" =~ ^[0-9]+$ && "$dbname" =~ ^[a-z_][a-z0-9_]*$ ]] || die "bad GQS_PG_PORT/GQS_PG_DBNAME"
# A unix socket path is at most 107 bytes (sun_path); postgres would refuse to start.
sock="$dir/.s.PGSQL.$port"
[ ${#sock} -le 107 ] || die "socket path too long (${#sock} > 107 bytes): $sock"

conninfo="host=$dir port=$port dbname=$dbname user=postgres"
pooler_port=$((port + 1000))
pooler_pid="$dir/pgbouncer.pid"

find_bindir() { # sets bindir, or fails saying why
    if [ -n "${PG_BINDIR:-}" ]; then
        bindir=$PG_BINDIR
    elif compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
        # the newest version with a server (postgresql-client-N has a bin/ without initdb)
        bindir=$(dirname "$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
    elif command -v initdb >/dev/null; then
        bindir=$(dirname "$(command -v initdb)")
    else
        die "no PostgreSQL server found (Debian: apt-get install postgresql; or set PG_BINDIR)"
    fi
    local b
    for b in initdb pg_ctl psql; do
        [ -x "$bindir/$b" ] || die "$bindir/$b missing (set PG_BINDIR)"
    done
}

# Runs a server command as the cluster's owner, from inside DIR (as root, runuser keeps the
# cwd, and postgres cannot enter e.g. /root: initdb/pg_ctl would warn or fail).
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

running() { # 0 if the cluster in DIR answers pg_ctl status
    [ -f "$data/PG_VERSION" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

psql_admin() { # as the *calling* user: proves that it can use the socket
    "$bindir/psql" "host=$dir port=$port dbname=postgres user=postgres" \
        -X -q -At -v ON_ERROR_STOP=1 "$@"
}

start() {
    find_bindir
    if [ -f "$marker" ]; then
        if running; then
            note "already running in $dir"
            echo "$conninfo"
            return
        fi
        note "restarting the existing cluster in $dir"
    else
        if [ -e "$dir" ] && [ -n "$(ls -A -- "$dir")" ]; then
            die "$dir is not empty and was not made by pg-cluster.sh"
        fi
        local created=0
        [ -e "$dir" ] || created=1
        mkdir -p -- "$dir"
        chmod 0700 -- "$dir"
        if [ "$(id -u)" -eq 0 ]; then
            id postgres >/dev/null 2>&1 || die "no postgres user (is the postgresql package installed?)"
            chown postgres: -- "$dir"
            if ! runuser -u postgres -- test -w "$dir" -a -x "$dir"; then
                [ "$created" = 0 ] || rmdir -- "$dir"
                die "user postgres cannot write $dir: a parent directory is not traversable"
            fi
        fi
        touch "$marker"
        # -N: no fsync of the new files (throwaway); --locale=C: no dependence on the
        # caller's LANG or on generated locales.
        if ! as_owner "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C -N \
            >"$dir/initdb.log" 2>&1; then
            cat "$dir/initdb.log" >&2
            die "initdb failed (log above, cluster dir left in place: $dir)"
        fi
        as_owner tee -a "$data/postgresql.conf" >/dev/null <<EOF

# pg-cluster.sh: throwaway test cluster
listen_addresses = ''
unix_socket_directories = '$dir'
unix_socket_permissions = 0777
port = $port
max_connections = $max_connections
# No flushes to disk unless GQS_PG_DURABLE=1: nothing here must survive a machine crash.
# synchronous_commit stays on: a commit is acknowledged only once its WAL is written (to the
# kernel), so killing or crashing the server loses no acknowledged commit (crash tests rely
# on that); with it off, the last commits before a crash would vanish.
fsync = $durable
synchronous_commit = on
full_page_writes = $durable
# helps to read a hanging parallel test
log_lock_waits = on
log_line_prefix = '%m [%p] %q%a@%d '
EOF
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null; then
        tail -n 30 "$log" >&2 || true
        die "the server did not start (log above: $log)"
    fi
    if [ "$(psql_admin -c "SELECT count(*) FROM pg_database WHERE datname = '$dbname'")" = 0 ]; then
        psql_admin -c "CREATE DATABASE $dbname" || die "CREATE DATABASE $dbname failed"
    fi
    echo "$conninfo"
}

# PgBouncer in transaction mode, unix socket only, trust auth (pgbouncer refuses root: as
# root it runs as postgres, like the server).
pooler() {
    [ -f "$marker" ] || die "no cluster made by pg-cluster.sh in $dir"
    local pgbouncer
    pgbouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    [ -x "$pgbouncer" ] || die "no pgbouncer (Debian: apt-get install pgbouncer)"
    if [ -f "$pooler_pid" ] && kill -0 "$(cat "$pooler_pid")" 2>/dev/null; then
        note "the pooler already runs in $dir"
    else
        as_owner tee "$dir/userlist.txt" >/dev/null <<<'"postgres" ""'
        as_owner tee "$dir/pgbouncer.ini" >/dev/null <<EOF
[databases]
* = host=$dir port=$port
[pgbouncer]
listen_addr =
listen_port = $pooler_port
unix_socket_dir = $dir
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 60
logfile = $dir/pgbouncer.log
pidfile = $pooler_pid
EOF
        as_owner "$pgbouncer" -d "$dir/pgbouncer.ini" >/dev/null 2>&1 ||
            { tail -n 20 "$dir/pgbouncer.log" >&2 || true; die "pgbouncer did not start"; }
    fi
    local i
    for i in $(seq 100); do # its socket appears once it listens
        [ -S "$dir/.s.PGSQL.$pooler_port" ] && break
        sleep 0.1
    done
    [ -S "$dir/.s.PGSQL.$pooler_port" ] || die "pgbouncer does not listen (log: $dir/pgbouncer.log)"
    echo "host=$dir port=$pooler_port dbname=$dbname user=postgres"
}

stop_pooler() {
    [ -f "$pooler_pid" ] || return 0
    local pid i
    pid=$(cat "$pooler_pid")
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

stop() {
    if [ ! -e "$dir" ]; then
        note "$dir does not exist: nothing to stop"
        return
    fi
    if [ -z "$(ls -A -- "$dir")" ]; then # a start that failed before initdb
        rmdir -- "$dir"
        return
    fi
    [ -f "$marker" ] || die "refusing to stop/remove $dir: not made by pg-cluster.sh"
    stop_pooler
    find_bindir
    if running; then
        if ! as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null; then
            note "fast shutdown failed, trying immediate"
            as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null ||
                die "cannot stop the server in $dir (left in place)"
        fi
    fi
    rm -rf -- "$dir"
}

case "$cmd" in
start) start ;;
crash)
    [ -f "$marker" ] || die "refusing to crash $dir: not made by pg-cluster.sh"
    find_bindir
    as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w -t 60 stop >/dev/null
    ;;
stop) stop ;;
available) find_bindir ;;
pooler) pooler ;;
status)
    find_bindir
    if [ -f "$marker" ] && running; then echo "$conninfo"; else exit 3; fi
    ;;
*) die "usage: $0 start|stop|status|crash|pooler DIR, or: $0 available" ;;
esac
