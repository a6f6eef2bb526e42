#!/usr/bin/env bash
# One-run side-by-side benchmark of exfil-sensor against a tcpdump read floor.
#
# usage: scripts/bench.sh [--size-mb N] [--workers N] [--flows N] [--runs N]
#                         [--concurrent N] [--no-build] [--timeout S]
#
#   --size-mb N     size of target/bench/bench.pcap (default 1100; regenerated if the
#                   existing file was made with other --size-mb/--flows)
#   --workers N     worker count for the main sensor run (default: the sensor's default)
#   --flows N       distinct flows in bench.pcap (default 150000, a target)
#   --runs N        runs per measurement, median wall time reported (default 3)
#   --concurrent N  flows in target/bench/concurrent-1m.pcap (default 1000000)
#   --no-build      skip `cargo build --release`
#   --timeout S     limit for each measured run (default 900 s; a run over it counts as failed)
#
# Steps: cargo build --release; generate target/bench/bench.pcap (scripts/gen-bench-pcap.py)
# and target/bench/concurrent-1m.pcap (--concurrent) if absent; then, each --runs times,
# median wall time and peak RSS via /usr/bin/time -f '%e %M':
#   (a) floor:  tcpdump -r bench.pcap -w /dev/null
#   (b) sensor: target/release/exfil-sensor -r bench.pcap -o /dev/null [--workers N]
#               and the same with --workers 1
# Table: file size, packets, wall s, Gbit/s (file bytes*8/wall), Mpps, peak RSS, ratio to
# the floor. Memory run: the sensor on concurrent-1m.pcap with --set flow.timeouts.tcp.new=3600
# -> peak RSS and (peak RSS - RSS on a 1-flow pcap) / flows.
# A missing sensor binary or an option the sensor does not know is reported and skipped.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SIZE_MB=1100
FLOWS=150000
WORKERS=""
RUNS=3
CONC=1000000
BUILD=1
TMO=900
while (($#)); do
  case "$1" in
    --size-mb) SIZE_MB=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --flows) FLOWS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --concurrent) CONC=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --timeout) TMO=$2; shift 2 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

BDIR=target/bench
BENCH=$BDIR/bench.pcap
CONCF=$BDIR/concurrent-1m.pcap
TINY=$BDIR/tiny-1flow.pcap
SENSOR=${EXFIL_SENSOR:-target/release/exfil-sensor}   # override for testing
GEN=scripts/gen-bench-pcap.py
PY=${PYTHON:-python3}
TIMEBIN=/usr/bin/time
mkdir -p "$BDIR"
LOGDIR=$(mktemp -d "$BDIR/run.XXXXXX")
COMMANDS=()

say() { printf '[bench] %s\n' "$*" >&2; }
cmdline() { local s="" a; for a in "$@"; do s+=$(printf '%q ' "$a"); done; printf '%s' "${s% }"; }

# ------------------------------------------------------------------ tools
need_pkgs=()
[[ -x $TIMEBIN ]] || need_pkgs+=(time)
command -v tcpdump >/dev/null 2>&1 || need_pkgs+=(tcpdump)
if ((${#need_pkgs[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  else
    say "ERROR: missing ${need_pkgs[*]} (apt-get install ${need_pkgs[*]})"; exit 1
  fi
fi
command -v "$PY" >/dev/null 2>&1 || { say "ERROR: $PY not found"; exit 1; }

# ------------------------------------------------------------------ build
if ((BUILD)); then
  if ! command -v cargo >/dev/null 2>&1 && [[ -x $HOME/.cargo/bin/cargo ]]; then
    PATH=$HOME/.cargo/bin:$PATH
  fi
  if command -v cargo >/dev/null 2>&1; then
    say "cargo build --release (log: $LOGDIR/build.log)"
    COMMANDS+=("cargo build --release")
    if ! cargo build --release >"$LOGDIR/build.log" 2>&1; then
      say "WARNING: cargo build --release failed; tail of the log:"
      tail -n 15 "$LOGDIR/build.log" >&2
    fi
  else
    say "WARNING: cargo not found; not building"
  fi
fi
HAVE_SENSOR=0
if [[ -x $SENSOR ]]; then HAVE_SENSOR=1; else say "NOTE: $SENSOR missing: sensor measurements will be skipped"; fi

# ------------------------------------------------------------------ inputs
meta_get() {  # meta_get FILE KEY[.SUB]  -> value or empty
  [[ -f $1.meta.json ]] || return 0
  "$PY" - "$1.meta.json" "$2" <<'EOF' 2>/dev/null || true
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(v)
EOF
}
same_num() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a != "" && b != "" && a + 0 == b + 0)}'; }

gen_if_needed() {  # gen_if_needed FILE reason-check... ; args for the generator follow --
  local f=$1; shift
  local want_size=$1 want_flows=$2 want_conc=$3; shift 3
  if [[ -s $f ]] && same_num "$(meta_get "$f" args.size_mb)" "$want_size" \
     && same_num "$(meta_get "$f" args.flows)" "$want_flows" \
     && same_num "$(meta_get "$f" args.concurrent)" "$want_conc" \
     && same_num "$(meta_get "$f" bytes)" "$(stat -c %s "$f")"; then
    say "using existing $f"
    return 0
  fi
  local c=("$PY" "$GEN" "$f" "$@")
  say "generating: $(cmdline "${c[@]}")"
  COMMANDS+=("$(cmdline "${c[@]}")")
  local t0=$EPOCHREALTIME
  "${c[@]}"
  say "  took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s"
}
gen_if_needed "$BENCH" "$SIZE_MB" "$FLOWS" 0 --size-mb "$SIZE_MB" --flows "$FLOWS"
gen_if_needed "$CONCF" 1100 150000 "$CONC" --concurrent "$CONC"
gen_if_needed "$TINY" 1100 150000 1 --concurrent 1

packets_of() {
  local n
  n=$(meta_get "$1" packets)
  if [[ -z $n ]] && command -v capinfos >/dev/null 2>&1; then
    n=$(capinfos -M -c "$1" 2>/dev/null | awk -F: '/Number of packets/{gsub(/ /,"",$2); print $2}')
  fi
  echo "${n:-0}"
}
BYTES=$(stat -c %s "$BENCH")
PKTS=$(packets_of "$BENCH")
CONC_FLOWS=$(meta_get "$CONCF" flows); CONC_FLOWS=${CONC_FLOWS:-$CONC}

# warm the page cache so that every case reads from memory
cat "$BENCH" >/dev/null

# ------------------------------------------------------------------ measuring
# measure LABEL cmd... : RUNS runs; sets M_WALL (median), M_RSS (max, KB), M_OK (0/1)
measure() {
  local label=$1; shift
  local i walls=() rss=0 out rc
  M_OK=1; M_WALL=""; M_RSS=""
  COMMANDS+=("$TIMEBIN -f '%e %M' timeout $TMO $(cmdline "$@")   # $label, x$RUNS")
  say "$label: $(cmdline "$@")"
  for ((i = 1; i <= RUNS; i++)); do
    out="$LOGDIR/$(echo "$label" | tr -c 'a-zA-Z0-9\n' '_').$i"
    rc=0
    # (wait4's max RSS covers the child of `timeout`)
    "$TIMEBIN" -f '%e %M' -o "$out.time" -- timeout "$TMO" "$@" >"$out.stdout" 2>"$out.stderr" || rc=$?
    if ((rc != 0)); then
      say "  run $i FAILED (exit $rc); stderr:"
      sed -n '1,8p' "$out.stderr" | sed 's/^/    /' >&2
      M_OK=0
      return 0
    fi
    read -r w r < <(tail -n 1 "$out.time")
    walls+=("$w")
    ((r > rss)) && rss=$r
    say "  run $i: ${w} s, ${r} KB"
  done
  M_WALL=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  M_RSS=$rss
}

ROWS=()
FLOOR_WALL=""
add_row() {  # add_row LABEL
  local label=$1
  if ((M_OK == 0)); then
    ROWS+=("$(printf '%-34s %10s %10s %9s %8s %7s %10s %8s' "$label" "-" "-" "FAILED" "-" "-" "-" "-")")
    return
  fi
  ROWS+=("$(awk -v l="$label" -v b="$BYTES" -v p="$PKTS" -v w="$M_WALL" -v r="$M_RSS" -v f="$FLOOR_WALL" 'BEGIN{
      g = (w > 0) ? sprintf("%.2f", b * 8 / w / 1e9) : "-";
      m = (w > 0) ? sprintf("%.2f", p / w / 1e6) : "-";
      x = (f > 0) ? sprintf("%.2f", w / f) : "-";
      printf "%-34s %10.1f %10d %9.2f %8s %7s %10.1f %8s", l, b / 1e6, p, w, g, m, r / 1024, x }')")
}

sensor_has() { timeout 20 "$SENSOR" --help 2>&1 | grep -q -- "$1"; }

# (a) floor
measure "floor: tcpdump -r -w /dev/null" tcpdump -r "$BENCH" -w /dev/null
FLOOR_WALL=$([[ $M_OK == 1 ]] && echo "$M_WALL" || echo "")
add_row "floor: tcpdump -r -w /dev/null"

# (b) sensor
if ((HAVE_SENSOR)); then
  if [[ -n $WORKERS ]]; then
    measure "sensor --workers $WORKERS" "$SENSOR" -r "$BENCH" -o /dev/null --workers "$WORKERS"
    add_row "sensor --workers $WORKERS"
  else
    measure "sensor (default workers)" "$SENSOR" -r "$BENCH" -o /dev/null
    add_row "sensor (default workers)"
  fi
  measure "sensor, flow tracking only" "$SENSOR" -r "$BENCH" -o /dev/null --set app.enabled=false
  add_row "sensor, flow tracking only"
  if [[ $WORKERS != 1 ]]; then
    sensor_has --workers || say "NOTE: '$SENSOR --help' does not list --workers; trying anyway"
    measure "sensor --workers 1" "$SENSOR" -r "$BENCH" -o /dev/null --workers 1
    add_row "sensor --workers 1"
  fi
else
  say "skipping sensor runs: $SENSOR not built"
fi

# ------------------------------------------------------------------ memory run
MEM_LINE=""
if ((HAVE_SENSOR)); then
  SAVED_RUNS=$RUNS
  RUNS=1
  # Long SYN timeout and caps above the flow count: every flow stays live until the end.
  memflags=(--set flow.timeouts.tcp.new=3600 --set flow.max_flows=4000000 --set flow.memcap_mb=2048)
  measure "memory: tiny (1 flow)" "$SENSOR" -r "$TINY" -o /dev/null "${memflags[@]}"
  TINY_OK=$M_OK TINY_RSS=$M_RSS
  measure "memory: $CONC_FLOWS concurrent flows" "$SENSOR" -r "$CONCF" -o /dev/null "${memflags[@]}"
  if ((M_OK == 1 && TINY_OK == 1)); then
    MEM_LINE=$(awk -v p="$M_RSS" -v t="$TINY_RSS" -v n="$CONC_FLOWS" -v w="$M_WALL" -v fl="${memflags[*]:-none}" 'BEGIN{
      printf "memory: %d concurrent flows (extra flags: %s): peak RSS %.1f MB, 1-flow baseline %.1f MB, %.1f bytes/flow, wall %.2f s",
        n, fl, p / 1024, t / 1024, (p - t) * 1024 / n, w }')
  else
    MEM_LINE="memory: FAILED (see the stderr above)"
  fi
  RUNS=$SAVED_RUNS
else
  MEM_LINE="memory: skipped ($SENSOR not built)"
fi

# ------------------------------------------------------------------ report
echo
echo "exfil-sensor benchmark  $(date -u +%Y-%m-%dT%H:%M:%SZ)  host: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "input: $BENCH  $(awk -v b="$BYTES" 'BEGIN{printf "%.1f MB", b/1e6}'), $PKTS packets, $(meta_get "$BENCH" flows) flows; median of $RUNS runs; RSS = max over runs"
printf '%-34s %10s %10s %9s %8s %7s %10s %8s\n' "case" "file MB" "packets" "wall s" "Gbit/s" "Mpps" "peakRSS MB" "x floor"
printf '%s\n' "${ROWS[@]}"
echo "$MEM_LINE"
echo
echo "commands:"
printf '  %s\n' "${COMMANDS[@]}"
echo "logs: $LOGDIR"

# ================================================================== endpoint records
# Process attribution (--endpoint-events). A separate block with its own table, after the
# report above so the shared rows stay as they are: the replay ratio to the floor measured
# in this run, side by side without and with endpoint records.
#   BENCH_ENDPOINT_RECORDS=N   records to ingest (default 1000000; 0 skips this block)
# The records (target/bench/endpoint-records.jsonl, ~1 KB each, half Winlogbeat/ECS, half
# flat NXLog-style) are made by scripts/gen-endpoint-events.py from the sensor's own flow
# events of bench.pcap: 10 % of them match a bench flow within +-2 s of its start, the rest
# match nothing. They are read whole before any flow is judged, so with --endpoint-events
# the sensor parses and indexes them all (endpoint.max_records raised to hold them).
EP_RECORDS=${BENCH_ENDPOINT_RECORDS:-1000000}
if ((HAVE_SENSOR && EP_RECORDS > 0)) && [[ -n $FLOOR_WALL ]]; then
  EP_FILE=$BDIR/endpoint-records.jsonl
  EP_EVE=$BDIR/bench-flows.eve.json
  if [[ ! -s $EP_FILE || $BENCH -nt $EP_FILE ]] || ! same_num "$(meta_get "$EP_FILE" records)" "$EP_RECORDS"; then
    say "endpoint: flow events of $BENCH for the record generator"
    "$SENSOR" -r "$BENCH" --stats-interval 0 -o "$EP_EVE" 2>"$LOGDIR/endpoint-eve.stderr" \
      || say "WARNING: sensor run for flow events failed (see $LOGDIR/endpoint-eve.stderr)"
    c=("$PY" scripts/gen-endpoint-events.py --bench "$EP_RECORDS" --match-fraction 0.1
       --eve "$EP_EVE" --out "$EP_FILE")
    say "endpoint: generating: $(cmdline "${c[@]}")"
    "${c[@]}"
    rm -f "$EP_EVE"
  fi
  cat "$EP_FILE" >/dev/null
  EP_FLAGS=(--endpoint-events "$EP_FILE" --set "endpoint.max_records=$EP_RECORDS")
  SAVED_ROWS=("${ROWS[@]}")
  ROWS=()
  EP_CMD0=${#COMMANDS[@]}
  measure "sensor, no endpoint records" "$SENSOR" -r "$BENCH" -o /dev/null
  add_row "sensor, no endpoint records"
  measure "sensor + $EP_RECORDS endpoint records" "$SENSOR" -r "$BENCH" -o /dev/null "${EP_FLAGS[@]}"
  add_row "sensor + $((EP_RECORDS / 1000))k endpoint records"
  measure "records alone (1-flow pcap)" "$SENSOR" -r "$TINY" -o /dev/null "${EP_FLAGS[@]}"
  EP_ALONE=$([[ $M_OK == 1 ]] && echo "$M_WALL s, peak RSS $((M_RSS / 1024)) MB" || echo FAILED)
  # One more run, to a file, for the join counters (not timed).
  "$SENSOR" -r "$BENCH" -o "$LOGDIR/endpoint.eve.json" --stats-interval 0 "${EP_FLAGS[@]}" 2>/dev/null || true
  EP_STATS=$(tail -n 1 "$LOGDIR/endpoint.eve.json" | "$PY" -c '
import json, sys
e = json.loads(sys.stdin.read())["exfil"]["stats"]["endpoint"]
print("indexed %d, flows joined %d, unjoined %d, records never joined %d, malformed %d" % (
    e["indexed"], e["flows_joined"], e["flows_unjoined"], e["records_never_joined"], e["malformed"]))
' 2>/dev/null || echo "counters unavailable")
  rm -f "$LOGDIR/endpoint.eve.json"
  echo
  echo "endpoint records: $EP_FILE ($(awk -v b="$(stat -c %s "$EP_FILE")" 'BEGIN{printf "%.0f MB", b/1e6}'), $EP_RECORDS records); same floor as above (${FLOOR_WALL} s)"
  printf '%-34s %10s %10s %9s %8s %7s %10s %8s\n' "case" "file MB" "packets" "wall s" "Gbit/s" "Mpps" "peakRSS MB" "x floor"
  printf '%s\n' "${ROWS[@]}"
  echo "records alone (1-flow pcap): $EP_ALONE"
  echo "join: $EP_STATS"
  echo "commands:"
  printf '  %s\n' "${COMMANDS[@]:EP_CMD0}"
  ROWS=("${SAVED_ROWS[@]}")
fi
