#!/usr/bin/env bash
# End to end: real Loki clients from npm (winston-loki with protobuf + snappy,
# pino-loki with JSON) push to a Cairn binary, then read back through
# query_range and the tail websocket (tests/e2e/loki_clients/test.mjs).
#
#   tests/e2e/loki_clients.sh [path/to/cairn]
#
# Builds nothing. Without an argument it takes target/release/cairn or
# target/debug/cairn, whichever exists (release first). Needs node (>= 20) and
# npm; the npm packages are installed with `npm ci` from the committed
# package-lock.json. Exits with the test's status.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$repo/tests/e2e/loki_clients"

bin="${1:-}"
if [ -z "$bin" ]; then
    for c in "$repo/target/release/cairn" "$repo/target/debug/cairn"; do
        if [ -x "$c" ]; then bin="$c"; break; fi
    done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "loki_clients.sh: no cairn binary (give its path, or build target/debug/cairn first): '${bin}'" >&2
    exit 2
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
for tool in node npm; do
    if ! command -v "$tool" >/dev/null; then
        echo "loki_clients.sh: '$tool' is required but not installed" >&2
        exit 2
    fi
done
echo "cairn: $bin ($("$bin" --version 2>&1 | head -1))"
echo "node $(node --version), npm $(npm --version)"

work="$(mktemp -d)"
cairn_pid=""
status=1
cleanup() {
    if [ -n "$cairn_pid" ] && kill -0 "$cairn_pid" 2>/dev/null; then
        kill -TERM "$cairn_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$cairn_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$cairn_pid" 2>/dev/null || true
        wait "$cairn_pid" 2>/dev/null || true
    fi
    if [ "$status" -ne 0 ] && [ -f "$work/cairn.log" ]; then
        echo "---- cairn log (last 200 lines) ----"
        tail -n 200 "$work/cairn.log"
        echo "---- end of cairn log ----"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port on the loopback interface (the kernel picks it; the small race
# until Cairn binds it is acceptable here, and shows as a bind error below).
port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
url="http://127.0.0.1:$port"

NO_COLOR=1 "$bin" serve --data-dir "$work/data" --http-listen-address "127.0.0.1:$port" \
    --log-level info >"$work/cairn.log" 2>&1 &
cairn_pid=$!
echo "cairn pid $cairn_pid listening on $url, data in $work/data"

ready=""
for _ in $(seq 1 150); do
    if ! kill -0 "$cairn_pid" 2>/dev/null; then
        echo "loki_clients.sh: cairn exited before it was ready" >&2
        exit 1
    fi
    if node -e 'fetch(process.argv[1]).then(r => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' "$url/ready"; then
        ready=1
        break
    fi
    sleep 0.2
done
if [ -z "$ready" ]; then
    echo "loki_clients.sh: cairn did not answer 200 on /ready within 30 s" >&2
    exit 1
fi
echo "cairn is ready"

cd "$dir"
npm ci --no-audit --no-fund
set +e
CAIRN_URL="$url" node test.mjs
status=$?
set -e
exit "$status"
