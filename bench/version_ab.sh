#!/usr/bin/env bash
# The gateway at another git revision against the working tree, alternating, on one core:
# what a change costs on the request path when its features are not used.
#
#   bench/version_ab.sh c6fc275            # needs ../shared/bench/gateway/setup.sh upstream
#   ROUNDS=5 DURATION=30 bench/version_ab.sh REV
#
# Both run from this checkout's .venv; the old revision's source comes first on PYTHONPATH
# (a git worktree in /tmp). Gateway on CPU 1, the mock upstream and wrk on CPU 0, wrk c=32,
# then wrk c=1 for C1_DURATION seconds (0: skipped). Each row: req/s and p50 at c=32, the
# gateway's CPU per request over the c=32 run (utime + stime of its process, all threads,
# ledger writer included), non-2xx or socket errors, and the p50 at c=1. CPU per request is the
# figure least moved by other work on the machine.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REV=${1:?usage: bench/version_ab.sh REV}
HARNESS=${HARNESS:-$ROOT/../shared/bench/gateway}
PY_UP=${PY_UP:-/tmp/gwbench/venv-up/bin/python}
ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-16}; C1_DURATION=${C1_DURATION:-5}; UP=18000; GW=18100
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
load() {  # load SECONDS OUTFILE [CONNECTIONS]
  WRK_BODY_FILE="$WORK/body.json" taskset -c 0 wrk -t1 -c"${3:-32}" -d"$1s" \
    -s "$HARNESS/wrk_report.lua" "http://127.0.0.1:$GW/v1/chat/completions" > "$2" 2>&1
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # CPU of the process, in clock ticks
field() { grep -o "\"$1\":[0-9]*" "$2" | cut -d: -f2; }
run() {  # run LABEL PYTHONPATH
  rm -f "$WORK"/ledger.db*
  RUN=$((RUN + 1)); GW=$((18100 + RUN))
  env PYTHONPATH="$2" PARITY_PORT=$GW taskset -c 1 "$ROOT/.venv/bin/parity" serve --config "$WORK/parity.yaml" \
    --log-level warning > "$WORK/gw.log" 2>&1 &
  local pid=$!
  for _ in $(seq 150); do curl -sf "http://127.0.0.1:$GW/readyz" > /dev/null && break; sleep 0.2; done
  load 4 /dev/null
  local before; before=$(ticks "$pid")
  load "$DURATION" "$WORK/wrk.out"
  local used=$(($(ticks "$pid") - before)) c1=-
  if [ "$C1_DURATION" -gt 0 ]; then load "$C1_DURATION" "$WORK/wrk1.out" 1; c1=$(field p50_us "$WORK/wrk1.out"); fi
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  local n errors
  n=$(field requests "$WORK/wrk.out")
  errors=$(grep -o '"err_[a-z]*":[0-9]*' "$WORK/wrk.out" | awk -F: '{s += $2} END {print s}')
  printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")" \
    "$(field p50_us "$WORK/wrk.out")" "$(awk -v t="$used" -v n="$n" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {printf "%.3f", t * 1000 / hz / n}')" "$errors" "$c1"
}
echo "| gateway | req/s c=32 | p50 µs c=32 | CPU ms/request | errors | p50 µs c=1 |"
echo "|---|---:|---:|---:|---:|---:|"
for _ in $(seq "$ROUNDS"); do
  run "$REV" "$WORK/old/src"
  run "working tree" "$ROOT/src"  # not the venv's install: it may be another checkout's
done
