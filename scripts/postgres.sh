#!/bin/sh
# A PostgreSQL server for the store's tests, on loopback, in a folder of its own:
#   scripts/postgres.sh start DIR PORT    (installs Debian's postgresql first if it is missing)
#   scripts/postgres.sh stop DIR
# As root (CI), the server runs as the postgres user the package creates; initdb refuses root.
set -eu
bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
BIN=$(bin_dir)
if [ -z "$BIN" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    BIN=$(bin_dir)
fi
as_server() {
    if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}
case "$1" in
start)
    DIR=$2 PORT=$3
    mkdir -p "$DIR"
    if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; fi
    as_server "'$BIN/initdb' -D '$DIR/data' -A trust -U postgres >'$DIR/initdb.log' 2>&1"
    as_server "'$BIN/pg_ctl' -D '$DIR/data' -l '$DIR/server.log' -w \
        -o \"-p $PORT -k '$DIR' -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null"
    ;;
stop)
    as_server "'$BIN/pg_ctl' -D '$2/data' -m fast -w stop >/dev/null"
    ;;
*)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
