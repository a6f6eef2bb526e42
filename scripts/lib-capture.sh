# shellcheck shell=bash
# Shared by scripts/gen-pcaps.sh and scripts/gen-scenarios.sh (sourced, not run).
#
# The sourcing script sets LOG_PREFIX before sourcing, and before calling these:
#   ensure_packages  PY, SMTP_PY and a function need_selected that calls
#                    `need COMMAND PACKAGE` (or need_tftp_hpa, need_aiosmtpd) for the
#                    selected groups
#   setup_tmp        OUT and KEEP_TMP (used by cleanup)
#   run              RUN_TIMEOUT (seconds, default 30)

show_help() {  # show_help SCRIPT: print the script's leading comment block
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$1"
}

log() { printf '[%s] %s\n' "$LOG_PREFIX" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

elapsed() {  # seconds since $START, one decimal
  awk -v s="$START" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'
}

# ---------------------------------------------------------------- packages
need() {  # need COMMAND DEBIAN-PACKAGE (inside ensure_packages: adds to its `missing`)
  command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 ]] || missing+=("$2")
}
need_tftp_hpa() {
  # netkit's tftp/tftpd install the same command names with other options
  timeout 5 in.tftpd -V </dev/null 2>&1 | grep -q tftp-hpa || missing+=(tftpd-hpa)
  timeout 5 tftp -V </dev/null 2>&1 | grep -q tftp-hpa || missing+=(tftp-hpa)
}
need_aiosmtpd() {  # swaks and Debian's python3-aiosmtpd (for $SMTP_PY)
  need swaks swaks
  "$SMTP_PY" -c 'import aiosmtpd' 2>/dev/null || missing+=(python3-aiosmtpd)
}

ensure_packages() {
  export PATH="$PATH:/usr/sbin:/sbin"
  local missing=()
  need tcpdump tcpdump; need ip iproute2; need ss iproute2; need ethtool ethtool
  need unshare util-linux; need tcprewrite tcpreplay
  command -v "$PY" >/dev/null 2>&1 || missing+=(python3)
  need_selected
  if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if [[ $(id -u) -ne 0 ]]; then
      die "missing packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})"
    fi
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages' own services (vsftpd, smbd, tftpd-hpa, ...) from starting:
    # Debian images normally have such a policy-rc.d already; we only use our own
    # instances inside the network namespace.
    local own_policy=0 rc=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      own_policy=1
    fi
    apt-get update -qq >/dev/null || rc=$?
    ((rc)) || apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
    ((own_policy)) && rm -f /usr/sbin/policy-rc.d
    ((rc == 0)) || die "apt-get failed (exit $rc) installing: ${missing[*]}"
  fi
}

# ---------------------------------------------------------------- network namespace
# netns_reexec ENV-PREFIX SCRIPT ARGS...: run SCRIPT again inside `unshare --net`, with
# ENV-PREFIX_IN_NETNS=1 and ENV-PREFIX_START (the start time) in its environment
netns_reexec() {
  local prefix=$1 script=$2
  shift 2
  log "re-running inside a private network namespace (unshare --net)"
  export "${prefix}_IN_NETNS=1" "${prefix}_START=$(date +%s.%N)"
  exec unshare --net -- bash "$script" "$@"
}

setup_loopback() {  # lo up, MTU 1500, no segmentation offload
  ip link set lo up
  ip link set lo mtu 1500
  # Software segmentation: frames <= MTU in the pcap.
  ethtool -K lo tso off gso off gro off >/dev/null 2>&1 \
    || log "WARNING: ethtool -K lo failed; frames may exceed 1514 bytes"
}

# ---------------------------------------------------------------- process handling
setup_tmp() {  # setup_tmp NAME: TMP=/tmp/NAME.XXXXXX, removed (and PIDS stopped) on exit
  TMP=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$TMP"
  PIDS=()
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}
cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -f "$OUT"/*.pcap.tmp
  if ((KEEP_TMP)); then log "temporary files kept in $TMP"; else rm -rf "$TMP"; fi
  exit $rc
}

stop_pid() {  # stop one process we started, by PID
  local pid=$1 _
  if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

port_free() {  # port_free tcp|udp PORT: die if something already listens there
  local flag
  [[ $1 == tcp ]] && flag=-Hltn || flag=-Hlun
  if ss $flag "sport = :$2" | grep -q .; then
    die "$1 port $2 is already in use (another process; use the default netns mode)"
  fi
}

wait_listen() {  # wait_listen tcp|udp PORT  (uses ss: sends no packet)
  local flag _
  [[ $1 == tcp ]] && flag=-Hltn || flag=-Hlun
  for _ in $(seq 100); do
    if ss $flag "sport = :$2" | grep -q .; then return 0; fi
    sleep 0.1
  done
  die "nothing listening on $1 port $2"
}

run() { timeout "${RUN_TIMEOUT:-30}" "$@"; }  # every client bounded in time

# ---------------------------------------------------------------- capture
CAP_PID=""
# tcpdump_start FILE LOG 'bpf filter' [TCPDUMP-OPTION...]: capture on lo into FILE
# in the background (CAP_PID), return once tcpdump listens
tcpdump_start() {
  local file=$1 log=$2 filter=$3 _
  shift 3
  rm -f "$file"
  # -Z root: keep writing to the root-owned tree; -U + --immediate-mode: no packet is
  # left in a TPACKET_V3 block (the default 1 s block timeout) when tcpdump gets SIGINT
  tcpdump -i lo -n "$@" -U --immediate-mode -Z root -w "$file" "$filter" 2>"$log" &
  CAP_PID=$!
  PIDS+=("$CAP_PID")
  for _ in $(seq 100); do
    grep -q 'listening on' "$log" 2>/dev/null && break
    kill -0 "$CAP_PID" 2>/dev/null || die "tcpdump failed: $(cat "$log")"
    sleep 0.05
  done
  sleep 0.2
}
tcpdump_stop() {
  sleep 0.5  # let the last packets (FIN/ACK, TIME_WAIT ACKs) through
  kill -INT "$CAP_PID" 2>/dev/null || true
  wait "$CAP_PID" 2>/dev/null || true
}
pcap_count() { tcpdump -r "$1" -n 2>/dev/null | wc -l; }  # packets in a pcap

# fix_checksums IN OUT [TCPREWRITE-OPTION...]: loopback leaves TCP/UDP checksums to
# (non-existent) offload, i.e. partial sums in the capture: recompute IPv4/IPv6
# TCP/UDP/ICMP checksums
fix_checksums() {
  local in=$1 out=$2
  shift 2
  tcprewrite "$@" --fixcsum -i "$in" -o "$out"
}

# ---------------------------------------------------------------- samba
# smb_global_common PORT DIR LOG-NAME ENCRYPT: the [global] lines both scripts' smbd
# configurations share (standalone, SMB2+, state under DIR, no printing)
smb_global_common() {
  local port=$1 d=$2 logname=$3 encrypt=$4
  cat <<CONF
  smb ports = $port
  disable netbios = yes
  server min protocol = SMB2_02
  client min protocol = SMB2_02
  server smb encrypt = $encrypt
  map to guest = never
  passdb backend = tdbsam:$d/private/passdb.tdb
  private dir = $d/private
  lock directory = $d/lock
  state directory = $d/state
  cache directory = $d/cache
  pid directory = $d/run
  ncalrpc dir = $d/ncalrpc
  log file = $d/log/smbd-$logname.%m
  log level = 1
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  usershare path =
CONF
}
