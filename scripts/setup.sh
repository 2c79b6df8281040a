#!/usr/bin/env bash
# Installs the real programs and client libraries the tests drive, each only
# when it is missing, so a second run costs nothing:
# - redis-server and redis-cli (Debian's packages redis-server and
#   redis-tools), for the Redis store's tests: one server, a primary with a
#   replica, and a cluster that redis-cli creates;
# - the Microsoft Graph JavaScript SDK (npm, from its lockfile), for the
#   batch interop test;
# - the Microsoft Graph Python core SDK (PyPI, pinned), in a virtual
#   environment under target/, for the other batch interop test.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "setup: installing redis-server and redis-cli (Debian packages)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server redis-tools >/dev/null
    # The tests start their own servers on free ports; the package's own
    # service on 6379 is not needed.
    as_root service redis-server stop >/dev/null 2>&1 || true
fi

js=examples/interop/graph-js
if [ -f "$js/package-lock.json" ] && ! cmp -s "$js/package-lock.json" "$js/node_modules/installed-lock.json" 2>/dev/null; then
    echo "setup: installing the Graph JavaScript SDK (npm ci)"
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$js/package-lock.json" "$js/node_modules/installed-lock.json"
fi

py=examples/interop/graph-python
venv=target/interop/venv
if [ -f "$py/requirements.txt" ] && ! cmp -s "$py/requirements.txt" "$venv/installed.txt" 2>/dev/null; then
    echo "setup: installing the Graph Python core SDK (pip, in $venv)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes -r "$py/requirements.txt"
    cp "$py/requirements.txt" "$venv/installed.txt"
fi
