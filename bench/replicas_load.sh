#!/usr/bin/env bash
# Two gateway replicas on one PostgreSQL ledger and one Redis, under wrk load, with every
# issue-8 feature on for the calling key (stored key, daily budget held and settled in
# PostgreSQL, rpm/tpm in Redis, JSON access log, /metrics), then the same replicas with no key
# and no limits. After each run the replicas stop cleanly and the ledger is checked: one row per
# answered request, no id twice, the budget counter equal to the ledger's spend, no hold left.
#
#   bench/replicas_load.sh        # needs ../shared/bench/gateway/setup.sh upstream (wrk, mock)
#   DURATION=30 CONC=16 bench/replicas_load.sh
#
# 2 cores: the replicas share CPU 1, the mock upstream and both wrk processes CPU 0.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${HARNESS:-$ROOT/../shared/bench/gateway}
PY_UP=${PY_UP:-/tmp/gwbench/venv-up/bin/python}
PARITY=$ROOT/.venv/bin/parity
PY=$ROOT/.venv/bin/python
PG=${PG:-postgresql://postgres@127.0.0.1:5432}
WORK=$(mktemp -d /tmp/parity-replicas-XXXX)
UP=18000; DURATION=${DURATION:-20}; CONC=${CONC:-16}
echo '{"model":"cheap","messages":[{"role":"user","content":"Say hi."}],"max_tokens":16}' \
  > "$WORK/body.json"
taskset -c 0 "$PY_UP" "$HARNESS/mock_upstream.py" --host 127.0.0.1 --port $UP > "$WORK/up.log" 2>&1 &
UP_PID=$!
PIDS=()
cleanup() {
  kill "$UP_PID" "${PIDS[@]}" 2>/dev/null || true
}
trap cleanup EXIT

config() {  # config NAME DB WITH_LIMITS
  cat > "$WORK/$1.yaml" <<YAML
ledger: {url: "$PG/$2"}
models:
  - {id: cheap, provider: openai, base_url: "http://127.0.0.1:$UP/v1", upstream_model: mock,
     residency: on_prem, price: {input: 0.1, output: 0.2}}
logging: {format: json}
YAML
  if [ "$3" != 0 ]; then
    printf 'limits: {redis_url: "redis://127.0.0.1:6379/0", redis_prefix: "bench-%s:"}\n' \
      "$2" >> "$WORK/$1.yaml"
  fi
}

run() {  # run NAME WITH_LIMITS
  local name=$1 limits=$2 db="parity_bench_$1_$$" auth=() secret=""
  psql -q "$PG/test" -c "CREATE DATABASE $db" > /dev/null
  config "$name" "$db" "$limits"
  "$PARITY" db migrate --config "$WORK/$name.yaml" > /dev/null
  local flags=()
  case $limits in
    1) flags=(--daily-usd 1000 --rpm 10000000 --tpm 1000000000) ;;
    key) flags=() ;;
    budget) flags=(--daily-usd 1000) ;;
    rates) flags=(--rpm 10000000 --tpm 1000000000) ;;
  esac
  if [ "$limits" != 0 ]; then
    secret=$("$PARITY" keys create bench --config "$WORK/$name.yaml" "${flags[@]}" --json \
      | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["key"])')
    auth=(-H "authorization: Bearer $secret")
  fi
  PIDS=()
  for port in 18101 18102; do
    PARITY_PORT=$port taskset -c 1 "$PARITY" serve --config "$WORK/$name.yaml" \
      > "$WORK/$name-$port.log" 2>&1 &
    PIDS+=($!)
  done
  for port in 18101 18102; do
    for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && break; sleep 0.2; done
  done
  for port in 18101 18102; do  # warm-up
    WRK_BODY_FILE="$WORK/body.json" taskset -c 0 wrk -t1 -c4 -d2s "${auth[@]}" \
      -s "$HARNESS/wrk_report.lua" "http://127.0.0.1:$port/v1/chat/completions" \
      > "$WORK/$name-$port.warm"
  done
  local loads=()
  for port in 18101 18102; do
    WRK_BODY_FILE="$WORK/body.json" taskset -c 0 wrk -t1 -c"$CONC" -d"${DURATION}s" "${auth[@]}" \
      -s "$HARNESS/wrk_report.lua" "http://127.0.0.1:$port/v1/chat/completions" \
      > "$WORK/$name-$port.wrk" &
    loads+=($!)
  done
  wait "${loads[@]}"
  curl -s "http://127.0.0.1:18101/metrics" > "$WORK/$name.metrics" || true
  kill -TERM "${PIDS[@]}"
  wait "${PIDS[@]}" 2>/dev/null || true
  PIDS=()
  "$PY" - "$name" "$PG/$db" "$WORK" "$DURATION" <<'PY'
import json, sys
from pathlib import Path
import psycopg
name, url, work, duration = sys.argv[1], sys.argv[2], Path(sys.argv[3]), float(sys.argv[4])
def wrk(path: Path) -> dict:
    line = next(x for x in path.read_text().splitlines() if x.startswith("GWBENCH_JSON"))
    return json.loads(line.split(" ", 1)[1])
sent = warm = errors = 0
p50 = []
for port in (18101, 18102):
    data, warm_up = wrk(work / f"{name}-{port}.wrk"), wrk(work / f"{name}-{port}.warm")
    sent += data["requests"]
    warm += warm_up["requests"]
    for run in (data, warm_up):
        errors += run["err_status"] + run["err_connect"] + run["err_read"] + run["err_timeout"]
    p50.append(data["p50_us"] / 1000)
with psycopg.connect(url) as conn:
    rows, ids, ok, spend = conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT request_id), COUNT(*) FILTER (WHERE status = 200),"
        " COALESCE(SUM(cost_usd), 0) FROM requests WHERE ts > 0").fetchone()
    counted = holds = None
    if conn.execute("SELECT to_regclass('budget_spend')").fetchone()[0]:
        counted = conn.execute("SELECT COALESCE(SUM(spent_usd), 0) FROM budget_spend"
                               " WHERE period = 'day'").fetchone()[0]
        holds = conn.execute("SELECT COUNT(*) FROM budget_holds").fetchone()[0]
print(json.dumps({
    "run": name, "wrk_requests": sent, "wrk_errors": errors, "req_per_s": round(sent / duration),
    "p50_ms_per_replica": p50, "ledger_rows": rows, "distinct_ids": ids, "ok_rows": ok,
    "warmup_requests": warm, "beyond_wrk": ok - sent - warm, "ledger_spend_usd": float(spend),
    "budget_counter_usd": None if counted is None else float(counted), "open_holds": holds,
}))
PY
  psql -q "$PG/test" -c "DROP DATABASE $db WITH (FORCE)" > /dev/null
}

names=()
# name:limits, limits one of 0 (no key), key (a key, no limits), budget, rates, 1 (budget + rates)
for spec in ${RUNS:-off:0 on:1}; do
  run "${spec%%:*}" "${spec##*:}" > "$WORK/${spec%%:*}.result"
  names+=("${spec%%:*}")
done
CONC=$CONC "$PY" - "$WORK" "${names[@]}" <<'PY'
import json, os, sys
from pathlib import Path
print("| run | req/s, both replicas | p50 ms per replica | wrk errors | sent | ledger rows | distinct ids"
      " | ledger minus sent | ledger spend | budget counter | open holds |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in sys.argv[2:]:
    r = json.loads((Path(sys.argv[1]) / f"{name}.result").read_text())
    counter = "-" if r["budget_counter_usd"] is None else f"${r['budget_counter_usd']:.6f}"
    holds = "-" if r["open_holds"] is None else r["open_holds"]
    p50 = " / ".join(f"{v:.1f}" for v in r["p50_ms_per_replica"])
    print(f"| {name} | {r['req_per_s']:,} | {p50} | {r['wrk_errors']} "
          f"| {r['wrk_requests'] + r['warmup_requests']:,} | {r['ledger_rows']:,} "
          f"| {r['distinct_ids']:,} | {r['beyond_wrk']} | ${r['ledger_spend_usd']:.6f} | {counter} "
          f"| {holds} |")
most = 2 * int(os.environ["CONC"]) + 8  # wrk's connections, load and warm-up
print(f"\n'sent' counts the answers wrk received. The ledger also holds the requests in flight"
      f" when wrk stopped, so 'ledger minus sent' lies in 0..{most} when nothing was lost.")
PY
echo "raw results: $WORK"
