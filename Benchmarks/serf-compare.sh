#!/usr/bin/env bash
# HashiCorp Serf (Debian's `serf`: SWIM + Lifeguard through memberlist, default LAN profile)
# measured the way `rpcnet-bench --sections cluster-processes` measures RpcNet: five agents on
# 127.0.0.1, each recording membership events with a timestamp through an event handler.
# Prints: time until all see each other (from the first launch), time until every survivor
# marks a kill -9'ed agent failed, time until a graceful leave is seen by all, idle CPU and RSS.
# Every agent is killed on exit; every wait is bounded.
set -euo pipefail

if ! command -v serf >/dev/null; then
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq serf >/dev/null
fi

members=5
base_port=${SERF_BASE_PORT:-$((20000 + RANDOM % 20000))}
rpc_base=${SERF_RPC_BASE_PORT:-$((base_port + 100))}
dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP

# The handler appends "EVENT member nanoseconds" for every member an event names.
cat >"$dir/handler.sh" <<EOF
#!/bin/sh
now=\$(date +%s%N)
while read -r name rest; do echo "\$SERF_EVENT \$name \$now" >>"$dir/\$SERF_SELF_NAME.events"; done
EOF
chmod +x "$dir/handler.sh"

now() { date +%s%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# Latest time at which `observer` recorded `event` for each of the given members, or nothing.
latest() {
  local observer=$1 event=$2 latest=0 time
  shift 2
  for member in "$@"; do
    time=$(awk -v e="$event" -v m="$member" '$1 == e && $2 == m { print $3; exit }' "$dir/$observer.events" 2>/dev/null)
    [[ -n $time ]] || return 0
    if ((time > latest)); then latest=$time; fi
  done
  echo "$latest"
}

# Waits (at most 30 s) until every observer recorded `event` for every named member; prints the
# latest time.
wait_all() {
  local event=$1 observers=$2 targets=$3 deadline=$(($(date +%s) + 30)) result time
  while (($(date +%s) < deadline)); do
    result=0
    for observer in $observers; do
      local others=()
      for target in $targets; do
        if [[ $target != "$observer" ]]; then others+=("$target"); fi
      done
      time=$(latest "$observer" "$event" "${others[@]}")
      if [[ -z $time ]]; then result=""; break; fi
      if ((time > result)); then result=$time; fi
    done
    if [[ -n $result ]]; then echo "$result"; return 0; fi
    sleep 0.002
  done
  echo "timed out waiting for $event; the agents said:" >&2
  grep -h -i "error\|failed" "$dir"/*.log >&2 || true
  return 1
}

echo "serf $(serf version | head -1): $members agents on 127.0.0.1, default LAN profile"
names=""
start=$(now)
for ((i = 0; i < members; i++)); do
  join=()
  # Retried every 200 ms, as RpcNet's join starts: the seed may not be listening yet.
  if ((i > 0)); then join=(-retry-join="127.0.0.1:$base_port" -retry-interval=200ms); fi
  serf agent -node="s$i" -bind="127.0.0.1:$((base_port + i))" -rpc-addr="127.0.0.1:$((rpc_base + i))" \
    -event-handler="$dir/handler.sh" -log-level=err "${join[@]}" >"$dir/s$i.log" 2>&1 &
  pids+=($!)
  disown  # no "Killed" notice from the shell when the agents are killed
  names+="s$i "
done

converged=$(wait_all member-join "$names" "$names")
echo "  all $members see each other after launch:  $(seconds "$start" "$converged") s"

killed=$(now)
kill -9 "${pids[4]}"
detected=$(wait_all member-failed "s0 s1 s2 s3" "s4")
echo "  kill -9 marked failed by all:        $(seconds "$killed" "$detected") s"

left=$(now)
serf leave -rpc-addr="127.0.0.1:$((rpc_base + 3))" >/dev/null
seen=$(wait_all member-leave "s0 s1 s2" "s3")
echo "  graceful leave seen by all:          $(seconds "$left" "$seen") s"

ticks=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
before=()
for i in 0 1 2; do before+=("$(cpu "${pids[$i]}")"); done
sleep 10
total=0
rss=0
for i in 0 1 2; do
  total=$((total + $(cpu "${pids[$i]}") - before[i]))
  rss=$((rss + $(awk '/^VmRSS:/ { print $2 }' "/proc/${pids[$i]}/status")))
done
awk -v t="$total" -v k="$ticks" -v r="$rss" \
  'BEGIN { printf "  idle agent: CPU %.2f %% of a core (mean of 3 over 10 s), RSS %.1f MiB\n", t / k / 10 / 3 * 100, r / 3 / 1024 }'
