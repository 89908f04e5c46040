#!/usr/bin/env bash
# Gateway throughput and latency with the routing policy off and on, in the same run.
#
#   bench/policy_overhead.sh            # needs ../shared/bench/gateway/setup.sh run once (wrk, mock)
#
# "off": the client names the deployment directly (the router's precomputed fast path).
# "on":  the client asks for parity/auto, whose rules read the privacy, shape and difficulty
#        signals on every request (the policy of examples/policies/hybrid.yaml, pointed at the
#        instant mock upstream), with a short, harmless support-ticket prompt.
# Gateway on CPU 1, mock upstream and wrk on CPU 0, as in the shared harness.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${HARNESS:-$ROOT/../shared/bench/gateway}
PY_UP=${PY_UP:-/tmp/gwbench/venv-up/bin/python}
WORK=$(mktemp -d /tmp/parity-policy-XXXX)
UP=18000; GW=18100; DURATION=${DURATION:-15}
taskset -c 0 "$PY_UP" "$HARNESS/mock_upstream.py" --host 127.0.0.1 --port $UP > "$WORK/up.log" 2>&1 &
UP_PID=$!
trap 'kill $UP_PID 2>/dev/null; pkill -f "parity serve --config $WORK" 2>/dev/null || true' EXIT
cat > "$WORK/off.yaml" <<YAML
server: {port: $GW}
ledger: {url: "sqlite:///$WORK/off.db"}
models:
  - {id: cheap, provider: openai, base_url: "http://127.0.0.1:$UP/v1", upstream_model: mock, residency: on_prem}
YAML
cat > "$WORK/on.yaml" <<YAML
server: {port: $GW}
ledger: {url: "sqlite:///$WORK/on.db"}
models:
  - {id: cheap, provider: openai, base_url: "http://127.0.0.1:$UP/v1", upstream_model: mock, residency: on_prem}
  - {id: big, provider: openai, base_url: "http://127.0.0.1:$UP/v1", upstream_model: mock, residency: on_prem}
routes:
  parity/auto:
    rules:
      - {name: private-stays-local, when: {privacy.sensitive: true}, then: {route: cheap, keep_on_prem: true}}
      - name: structured-output-cascade
        when: {any: [{shape.json: true}, {shape.tools: true}]}
        then: {cascade: [cheap, big], validators: [json, not_empty]}
      - {name: hard, when: {difficulty.hard: true}, then: {route: big, fallbacks: [cheap]}}
    default: {route: cheap, fallbacks: [big]}
YAML
PROMPT="Summarise this ticket: the parcel arrived damaged and the customer wants a refund."
printf '{"model":"cheap","messages":[{"role":"user","content":"%s"}]}' "$PROMPT" > "$WORK/off.json"
printf '{"model":"parity/auto","messages":[{"role":"user","content":"%s"}]}' "$PROMPT" > "$WORK/on.json"
printf "%-6s %10s %10s %10s %12s %14s\n" policy "c32 req/s" "c32 p50ms" "c32 p99ms" "c1 p50 ms" "gw CPU ms/req"
for mode in off on; do
  taskset -c 1 "$ROOT/.venv/bin/parity" serve --config "$WORK/$mode.yaml" --log-level warning > "$WORK/$mode.log" 2>&1 &
  for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$GW/readyz" >/dev/null && break; sleep 0.2; done
  pid=$(pgrep -f "parity serve --config $WORK/$mode.yaml" | head -1)
  export WRK_BODY_FILE="$WORK/$mode.json"
  taskset -c 0 wrk -t1 -c32 -d3s -s "$HARNESS/wrk_report.lua" "http://127.0.0.1:$GW/v1/chat/completions" >/dev/null 2>&1
  before=$(awk '{print $14+$15}' /proc/$pid/stat)
  c32=$(taskset -c 0 wrk -t1 -c32 -d${DURATION}s -s "$HARNESS/wrk_report.lua" "http://127.0.0.1:$GW/v1/chat/completions" 2>&1 | sed -n 's/^GWBENCH_JSON //p')
  after=$(awk '{print $14+$15}' /proc/$pid/stat)
  c1=$(taskset -c 0 wrk -t1 -c1 -d5s -s "$HARNESS/wrk_report.lua" "http://127.0.0.1:$GW/v1/chat/completions" 2>&1 | sed -n 's/^GWBENCH_JSON //p')
  python3 - "$mode" "$c32" "$c1" "$before" "$after" "$DURATION" <<'PY'
import json, sys
mode, c32, c1, before, after, duration = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
rps = c32["requests"] / (c32["duration_us"] / 1e6)
errors = sum(c32[k] for k in c32 if k.startswith("err_"))
cpu_ms = (after - before) * 10 / c32["requests"]
print(f"{mode:<6} {rps:>10.0f} {c32['p50_us']/1000:>10.2f} {c32['p99_us']/1000:>10.2f} {c1['p50_us']/1000:>12.3f} {cpu_ms:>14.3f}" + (f"  ({errors} errors)" if errors else ""))
PY
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
exit 0
