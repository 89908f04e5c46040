#!/usr/bin/env bash
# Parity against LiteLLM and Portkey in one run of the shared harness (../shared/bench/gateway),
# all in front of the same instant mock upstream, each gateway pinned to one core.
#
#   bench/gateway_overhead.sh                 # direct, parity (ledger on), litellm, portkey
#   bench/gateway_overhead.sh direct parity   # a subset
#   DURATION=30 CONC=32,64 bench/gateway_overhead.sh
#   bench/gateway_overhead.sh cache           # the response cache's hit and miss paths and
#                                             # tracing on/off (bench/cache_overhead.py; args
#                                             # after 'cache' go to it)
#
# Needs the harness installed once: bash ../shared/bench/gateway/setup.sh
# Prints the harness's comparison table; results land in /tmp/gwbench/results/<timestamp>/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = cache ]; then
  shift
  cd "$ROOT" && exec "$ROOT/.venv/bin/python" bench/cache_overhead.py "$@"
fi
HARNESS=${HARNESS:-$ROOT/../shared/bench/gateway}
WORK=${PARITY_BENCH_DIR:-/tmp/parity-bench}
mkdir -p "$WORK"
rm -f "$WORK/ledger.db" "$WORK/ledger.db-wal" "$WORK/ledger.db-shm"
cat > "$WORK/parity.yaml" <<YAML
server: {host: 127.0.0.1, port: 18100}
ledger: {url: "sqlite:///$WORK/ledger.db"}
models:
  - id: cheap
    provider: openai
    base_url: http://127.0.0.1:${UPSTREAM_PORT:-18000}/v1
    upstream_model: mock
    residency: on_prem
    price: {input: 0.1, output: 0.2}
YAML
targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=(direct cmd litellm portkey)
for i in "${!targets[@]}"; do [ "${targets[$i]}" = parity ] && targets[$i]=cmd; done
# this checkout's src first: the venv's own install may be another checkout's (a git worktree)
export GW_CMD="env PYTHONPATH=$ROOT/src $ROOT/.venv/bin/parity serve --config $WORK/parity.yaml --log-level warning"
export GW_URL=http://127.0.0.1:18100 GW_READY=/readyz
"$HARNESS/run_all.sh" "${targets[@]}"
echo "ledger rows written by Parity during the run:"
"$ROOT/.venv/bin/python" - "$WORK/ledger.db" <<'PY'
import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("select count(*) from requests").fetchone()[0])
PY
