#!/usr/bin/env bash
# The gateway at another git revision against the working tree, alternating, on one core:
# what a change costs on the request path when its features are not used.
#
#   bench/version_ab.sh c6fc275            # needs ../shared/bench/gateway/setup.sh upstream
#   ROUNDS=5 DURATION=30 bench/version_ab.sh REV
#
# Both run from this checkout's .venv; the old revision's source comes first on PYTHONPATH
# (a git worktree in /tmp). Gateway on CPU 1, the mock upstream and wrk on CPU 0, wrk c=32.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REV=${1:?usage: bench/version_ab.sh REV}
HARNESS=${HARNESS:-$ROOT/../shared/bench/gateway}
PY_UP=${PY_UP:-/tmp/gwbench/venv-up/bin/python}
ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-16}; UP=18000; GW=18100
RUN=0  # each start gets a port of its own: the last one may still be in TIME_WAIT
WORK=$(mktemp -d /tmp/parity-ab-XXXX)
git -C "$ROOT" worktree add -q --detach "$WORK/old" "$REV"
cat > "$WORK/parity.yaml" <<YAML
server: {host: 127.0.0.1}
ledger: {url: "sqlite:///$WORK/ledger.db"}
models:
  - {id: cheap, provider: openai, base_url: "http://127.0.0.1:$UP/v1", upstream_model: mock,
     residency: on_prem, price: {input: 0.1, output: 0.2}}
YAML
echo '{"model":"cheap","messages":[{"role":"user","content":"hi"}],"max_tokens":8}' > "$WORK/body.json"
taskset -c 0 "$PY_UP" "$HARNESS/mock_upstream.py" --host 127.0.0.1 --port $UP > "$WORK/up.log" 2>&1 &
UP_PID=$!
trap 'kill $UP_PID 2>/dev/null; git -C "$ROOT" worktree remove --force "$WORK/old"' EXIT
sleep 1
load() {  # load SECONDS OUTFILE
  WRK_BODY_FILE="$WORK/body.json" taskset -c 0 wrk -t1 -c32 -d"$1s" \
    -s "$HARNESS/wrk_report.lua" "http://127.0.0.1:$GW/v1/chat/completions" > "$2" 2>&1
}
run() {  # run LABEL PYTHONPATH
  rm -f "$WORK"/ledger.db*
  RUN=$((RUN + 1)); GW=$((18100 + RUN))
  env PYTHONPATH="$2" PARITY_PORT=$GW taskset -c 1 "$ROOT/.venv/bin/parity" serve --config "$WORK/parity.yaml" \
    --log-level warning > "$WORK/gw.log" 2>&1 &
  local pid=$!
  for _ in $(seq 150); do curl -sf "http://127.0.0.1:$GW/readyz" > /dev/null && break; sleep 0.2; done
  load 4 /dev/null
  load "$DURATION" "$WORK/wrk.out"
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  printf '| %s | %s | %s |\n' "$1" "$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")" \
    "$(grep -o '"p50_us":[0-9]*' "$WORK/wrk.out" | cut -d: -f2)"
}
echo "| gateway | req/s | p50 µs |"
echo "|---|---:|---:|"
for _ in $(seq "$ROUNDS"); do
  run "$REV" "$WORK/old/src"
  run "working tree" ""
done
