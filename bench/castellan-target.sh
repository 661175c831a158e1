#!/usr/bin/env bash
# Starts a release build of Castellan for bench.py on a fresh data directory:
# creates one service and one confidential client (client_secret_basic, the tutorial's
# redirect URI) with the CLI, writes their credentials to $VARS_FILE for bench.py to substitute
# into requests, then runs `castellan serve` in the foreground (bench.py pins and stops it).
#
# Environment: PORT (default 8081), RUN_DIR (default .run/castellan), VARS_FILE (default
# $RUN_DIR/vars.json), CASTELLAN_BIN (default ../target/release/castellan).
# DATABASE_URL (postgres://.../NAME): use PostgreSQL instead, on database NAME, dropped and
# created anew. NODES (default 1): with more, that many nodes on PORT+1.. share the database
# behind haproxy on PORT (HTTP mode, round robin per request, so a flow's calls cross nodes).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${PORT:-8081}"
run_dir="${RUN_DIR:-$here/.run/castellan}"
vars="${VARS_FILE:-$run_dir/vars.json}"
bin="${CASTELLAN_BIN:-$here/../target/release/castellan}"
[[ -x "$bin" ]] || { echo "castellan-target.sh: $bin not found; run: cargo build --release" >&2; exit 2; }

rm -rf "$run_dir"
mkdir -p "$run_dir"
data=(--data-dir "$run_dir/data" --master-key-file "$run_dir/master.key")
if [[ -n "${DATABASE_URL:-}" ]]; then
  db="${DATABASE_URL##*/}"
  psql "${DATABASE_URL%/*}/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  data=(--database "$DATABASE_URL" --master-key-file "$run_dir/master.key")
fi
export CASTELLAN_SERVICE_OWNER_API_KEY=4242 CASTELLAN_SERVICE_OWNER_API_SECRET=bench-owner-secret
"$bin" service create --name bench --issuer https://bench.example.com --json "${data[@]}" >"$run_dir/service.json"
api_key="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["apiKey"])' "$run_dir/service.json")"
"$bin" client create --service "$api_key" --name bench-client \
  --redirect-uri https://client.example.org/cb/example.com --json "${data[@]}" >"$run_dir/client.json"
python3 - "$vars" "$run_dir/service.json" "$run_dir/client.json" <<'PY'
import json, sys
service, client = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
json.dump({"API_KEY": str(service["apiKey"]), "API_SECRET": service["apiSecret"],
           "CLIENT_ID": str(client["clientId"]), "CLIENT_SECRET": client["clientSecret"]},
          open(sys.argv[1], "w"))
PY
# One log line per call is formatted as in production; it is not written to disk here, so
# the run measures the server rather than the log volume.
nodes="${NODES:-1}"
if (( nodes == 1 )); then
  exec "$bin" serve --listen "127.0.0.1:$port" --no-demo "${data[@]}" 2>/dev/null
fi
pids=()
servers=""
for i in $(seq 1 "$nodes"); do
  "$bin" serve --listen "127.0.0.1:$((port + i))" --no-demo "${data[@]}" 2>/dev/null &
  pids+=($!)
  servers+="  server node$i 127.0.0.1:$((port + i))"$'\n'
done
cat >"$run_dir/haproxy.cfg" <<CFG
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend api
  bind 127.0.0.1:$port
  default_backend nodes
backend nodes
  balance roundrobin
  http-reuse always
$servers
CFG
haproxy -db -f "$run_dir/haproxy.cfg" &
pids+=($!)
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT TERM INT
wait -n
