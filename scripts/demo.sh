#!/usr/bin/env bash
# The demo: a local cluster of 3 middlewares and 3 databases in ./demo, a client file run
# against it, then the cluster's status and a replica comparison. The cluster keeps running
# afterwards so you can try more; `npx occdb stop --dir ./demo` ends it.
set -euo pipefail
cd "$(dirname "$0")/.."
occdb() { node bin/occdb.js "$@"; }

npm run --silent build
occdb stop --dir ./demo >/dev/null 2>&1 || true
occdb startup 3 localhost localhost localhost 3 localhost localhost localhost --dir ./demo
echo
echo '$ occdb client 1 test-scenarios/basic.op --dir ./demo'
occdb client 1 test-scenarios/basic.op --dir ./demo
echo
echo '$ occdb status --dir ./demo'
occdb status --dir ./demo
echo
echo '$ occdb verify --dir ./demo'
occdb verify --dir ./demo
echo
echo "The cluster is still running. Try: npx occdb client 2 test-scenarios/blocks.op --dir ./demo"
echo "Stop it with:                     npx occdb stop --dir ./demo"
