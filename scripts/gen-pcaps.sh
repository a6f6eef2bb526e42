#!/usr/bin/env bash
# Generate small reference captures in pcaps/ from REAL protocol implementations
# talking over loopback (python http.server, dnsmasq, vsftpd, curl, dig, ping, ...).
#
# usage: scripts/gen-pcaps.sh [--no-netns] [--keep-tmp] [--raw-checksums]
#
# By default the whole run happens inside a private network namespace
# (`unshare --net`) whose loopback is set to MTU 1500 with segmentation and
# GSO/TSO/GRO disabled, so the captured packets look like real Ethernet traffic
# (<= 1514-byte frames) and nothing collides with ports used by other processes
# on this machine. With --no-netns (or when unshare is not permitted) the host
# loopback is used as is: frames can then be up to 64 KB.
# Loopback cannot turn TX checksum offload off, so the captured TCP/UDP checksums
# are partial sums; each pcap is passed through `tcprewrite --fixcsum` to make
# them valid (--raw-checksums keeps them as captured). Packets quoted inside
# ICMP errors keep their original (partial) checksum.
#
# The output is reproducible in content (same files, same payload bytes, same
# protocol exchanges) but not byte-identical: timestamps, ephemeral ports,
# TCP ISNs, DNS ids differ from run to run. Re-running overwrites pcaps/*.pcap.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
OUT="$ROOT/pcaps"
HELPER="$SCRIPT_DIR/gen-pcaps-helper.py"
PY=${PYTHON:-python3}

USE_NETNS=1
KEEP_TMP=0
FIX_CSUM=1
for arg in "$@"; do
  case "$arg" in
    --no-netns) USE_NETNS=0 ;;
    --keep-tmp) KEEP_TMP=1 ;;
    --raw-checksums) FIX_CSUM=0 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[gen-pcaps] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- packages
ensure_packages() {
  # command -> Debian package
  local -A need=(
    [tcpdump]=tcpdump [dnsmasq]=dnsmasq-base [vsftpd]=vsftpd [dig]=bind9-dnsutils
    [curl]=curl [ping]=iputils-ping [ip]=iproute2 [ss]=iproute2 [ethtool]=ethtool
    [unshare]=util-linux [tcprewrite]=tcpreplay
  )
  local missing=() cmd
  for cmd in "${!need[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd ]] || missing+=("${need[$cmd]}")
  done
  command -v "$PY" >/dev/null 2>&1 || missing+=(python3)
  if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    if [[ $(id -u) -ne 0 ]]; then
      die "missing packages: ${missing[*]} (run: sudo apt-get install -y ${missing[*]})"
    fi
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # Debian images normally have a policy-rc.d that keeps vsftpd's own service
    # from starting; either way we only use our own instance on port 2121.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  export PATH="$PATH:/usr/sbin:/sbin"
}

if [[ ${GEN_PCAPS_IN_NETNS:-0} != 1 ]]; then
  ensure_packages
  [[ $(id -u) -eq 0 ]] || die "must run as root (tcpdump on lo, vsftpd, network namespace)"
  if ((USE_NETNS)); then
    if unshare --net true 2>/dev/null; then
      log "re-running inside a private network namespace (unshare --net)"
      GEN_PCAPS_START=$(date +%s.%N)
      export GEN_PCAPS_IN_NETNS=1 GEN_PCAPS_START
      exec unshare --net -- bash "$0" "$@"
    fi
    log "WARNING: unshare --net not permitted; using the host loopback (big frames, offloaded checksums)"
  fi
else
  export PATH="$PATH:/usr/sbin:/sbin"
fi
START=${GEN_PCAPS_START:-$(date +%s.%N)}

# ---------------------------------------------------------------- loopback
if [[ ${GEN_PCAPS_IN_NETNS:-0} == 1 ]]; then
  ip link set lo up
  ip link set lo mtu 1500
  # Software segmentation: frames <= MTU in the pcap.
  ethtool -K lo tso off gso off gro off >/dev/null 2>&1 \
    || log "WARNING: ethtool -K lo failed; frames may exceed 1514 bytes"
  ip -6 addr show dev lo | grep -q '::1' || ip -6 addr add ::1/128 dev lo 2>/dev/null || true
fi

# ---------------------------------------------------------------- process handling
TMP=$(mktemp -d /tmp/gen-pcaps.XXXXXX)
chmod 755 "$TMP"
PIDS=()
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
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() {  # stop one process we started, by PID
  local pid=$1
  if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  local _
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
  local proto=$1 port=$2 flag _
  [[ $proto == tcp ]] && flag=-Hltn || flag=-Hlun
  for _ in $(seq 100); do
    if ss $flag "sport = :$port" | grep -q .; then return 0; fi
    sleep 0.1
  done
  die "nothing listening on $proto port $port"
}

CAP_PID=""
CAP_NAME=""
cap_start() {  # cap_start NAME 'bpf filter'
  CAP_NAME=$1
  local filter=$2 _
  rm -f "$OUT/$CAP_NAME.pcap.tmp"
  # -Z root: keep writing to the root-owned tree; -U + --immediate-mode: no packet is
  # left in a TPACKET_V3 block (the default 1 s block timeout) when tcpdump gets SIGINT
  tcpdump -i lo -n -U --immediate-mode -Z root -w "$OUT/$CAP_NAME.pcap.tmp" "$filter" \
    2>"$TMP/tcpdump-$CAP_NAME.log" &
  CAP_PID=$!
  PIDS+=("$CAP_PID")
  for _ in $(seq 100); do
    grep -q 'listening on' "$TMP/tcpdump-$CAP_NAME.log" 2>/dev/null && break
    kill -0 "$CAP_PID" 2>/dev/null || die "tcpdump failed: $(cat "$TMP/tcpdump-$CAP_NAME.log")"
    sleep 0.05
  done
  sleep 0.2
}
cap_stop() {
  sleep 0.5  # let the last packets (FIN/ACK, TIME_WAIT ACKs) through
  kill -INT "$CAP_PID" 2>/dev/null || true
  wait "$CAP_PID" 2>/dev/null || true
  if ((FIX_CSUM)); then
    # loopback leaves TCP/UDP checksums to (non-existent) offload, i.e. partial
    # sums in the capture: recompute IPv4/IPv6 TCP/UDP/ICMP checksums.
    tcprewrite --fixcsum -i "$OUT/$CAP_NAME.pcap.tmp" -o "$OUT/$CAP_NAME.pcap"
    rm -f "$OUT/$CAP_NAME.pcap.tmp"
  else
    mv -f "$OUT/$CAP_NAME.pcap.tmp" "$OUT/$CAP_NAME.pcap"
  fi
  local n
  n=$(tcpdump -r "$OUT/$CAP_NAME.pcap" -n 2>/dev/null | wc -l)
  log "$CAP_NAME.pcap: $n packets, $(stat -c %s "$OUT/$CAP_NAME.pcap") bytes"
  ((n > 0)) || die "$CAP_NAME.pcap is empty"
}

run() { timeout 30 "$@"; }  # every client bounded in time

mkdir -p "$OUT"
WWW="$TMP/www"
mkdir -p "$WWW"
"$PY" "$HELPER" mkfile "$WWW/file20k.bin" 20480 1
"$PY" "$HELPER" mkfile "$TMP/post30k.bin" 30720 2
printf 'hello from the exfil-sensor test server\n' >"$WWW/small.txt"

# ---------------------------------------------------------------- http-get.pcap
log "http-get: python http.server on 127.0.0.1:8080"
port_free tcp 8080
"$PY" "$HELPER" http-server --bind 127.0.0.1 --port 8080 --dir "$WWW" --lifetime 60 &
SRV=$!; PIDS+=("$SRV")
wait_listen tcp 8080
cap_start http-get 'tcp port 8080'
run curl -sS -o "$TMP/got20k.bin" http://127.0.0.1:8080/file20k.bin
cmp -s "$TMP/got20k.bin" "$WWW/file20k.bin" || die "http GET content mismatch"
sleep 0.2
run curl -sS -o /dev/null -H 'Expect:' -H 'Content-Type: application/octet-stream' \
  --data-binary @"$TMP/post30k.bin" http://127.0.0.1:8080/upload
cmp -s "$WWW/uploads/upload.bin" "$TMP/post30k.bin" || die "http POST content mismatch"
sleep 0.2
# two requests on one keep-alive connection, the second one a 404
run curl -sS -o /dev/null -o /dev/null http://127.0.0.1:8080/small.txt http://127.0.0.1:8080/missing.txt
cap_stop
stop_pid "$SRV"

# ---------------------------------------------------------------- http-ipv6.pcap
log "http-ipv6: python http.server on [::1]:8080"
port_free tcp 8080
"$PY" "$HELPER" http-server --bind ::1 --port 8080 --dir "$WWW" --lifetime 60 &
SRV=$!; PIDS+=("$SRV")
wait_listen tcp 8080
cap_start http-ipv6 'tcp port 8080'
run curl -sS -g -o "$TMP/got20k6.bin" 'http://[::1]:8080/file20k.bin'
cmp -s "$TMP/got20k6.bin" "$WWW/file20k.bin" || die "http IPv6 GET content mismatch"
cap_stop
stop_pid "$SRV"

# ---------------------------------------------------------------- dns-udp.pcap
log "dns-udp: dnsmasq on 127.0.0.1:5300"
port_free udp 5300
port_free tcp 5300
dnsmasq --keep-in-foreground --conf-file=/dev/null --pid-file= --port=5300 \
  --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
  --address=/example.test/10.1.2.3 --address=/example.test/2001:db8::1:2:3 \
  --local=/invalid/ '--txt-record=txt.example.test,exfil-sensor test record' \
  --log-facility="$TMP/dnsmasq.log" &
SRV=$!; PIDS+=("$SRV")
wait_listen udp 5300
wait_listen tcp 5300
cap_start dns-udp 'port 5300'
DIG=(dig @127.0.0.1 -p 5300 +tries=1 +time=3)
run "${DIG[@]}" example.test A | grep -q '10\.1\.2\.3' || die "dns A failed"
run "${DIG[@]}" example.test AAAA | grep -q '2001:db8::1:2:3' || die "dns AAAA failed"
run "${DIG[@]}" txt.example.test TXT | grep -q 'exfil-sensor test record' || die "dns TXT failed"
run "${DIG[@]}" nosuch.invalid A | grep -q 'status: NXDOMAIN' || die "dns NXDOMAIN failed"
run "${DIG[@]}" +tcp www.example.test A | grep -q '10\.1\.2\.3' || die "dns TCP failed"
cap_stop
stop_pid "$SRV"

# ---------------------------------------------------------------- ftp-*.pcap
log "ftp: vsftpd on 127.0.0.1:2121 (anonymous, upload allowed)"
port_free tcp 2121
FTPROOT="$TMP/ftp/root"
mkdir -p "$FTPROOT/upload" "$TMP/ftp/empty"
chmod 555 "$FTPROOT"           # vsftpd refuses a writable anonymous root
chown ftp:ftp "$FTPROOT/upload" 2>/dev/null || chmod 777 "$FTPROOT/upload"
"$PY" "$HELPER" mkfile "$FTPROOT/file50k.bin" 51200 3
chmod 644 "$FTPROOT/file50k.bin"
"$PY" "$HELPER" mkfile "$TMP/up40k.bin" 40960 4
cat >"$TMP/ftp/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=2121
background=NO
anonymous_enable=YES
no_anon_password=NO
anon_root=$FTPROOT
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=NO
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=30000
pasv_max_port=30100
port_enable=YES
connect_from_port_20=YES
ftp_data_port=2020
secure_chroot_dir=$TMP/ftp/empty
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
xferlog_enable=NO
dual_log_enable=NO
vsftpd_log_file=$TMP/ftp/vsftpd.log
ftpd_banner=exfil-sensor test FTP server
EOF
id ftp >/dev/null 2>&1 || die "user 'ftp' missing (the vsftpd package creates it)"
vsftpd "$TMP/ftp/vsftpd.conf" &
SRV=$!; PIDS+=("$SRV")
wait_listen tcp 2121
FTPFILTER='tcp and (port 2121 or port 2020 or portrange 30000-30100)'

cap_start ftp-passive "$FTPFILTER"
# RETR negotiated with EPSV (229), STOR with PASV (227)
run curl -sS --ftp-pasv -o "$TMP/got50k.bin" ftp://127.0.0.1:2121/file50k.bin
cmp -s "$TMP/got50k.bin" "$FTPROOT/file50k.bin" || die "ftp passive RETR mismatch"
sleep 0.2
run curl -sS --ftp-pasv --disable-epsv -T "$TMP/up40k.bin" ftp://127.0.0.1:2121/upload/up40k.bin
cmp -s "$FTPROOT/upload/up40k.bin" "$TMP/up40k.bin" || die "ftp passive STOR mismatch"
cap_stop

cap_start ftp-active "$FTPFILTER"
# RETR announced with PORT, then the same RETR announced with EPRT
run curl -sS --ftp-port 127.0.0.1 --disable-eprt -o "$TMP/got50k-active.bin" ftp://127.0.0.1:2121/file50k.bin
cmp -s "$TMP/got50k-active.bin" "$FTPROOT/file50k.bin" || die "ftp active (PORT) RETR mismatch"
sleep 0.2
run curl -sS --ftp-port 127.0.0.1 -o "$TMP/got50k-eprt.bin" ftp://127.0.0.1:2121/file50k.bin
cmp -s "$TMP/got50k-eprt.bin" "$FTPROOT/file50k.bin" || die "ftp active (EPRT) RETR mismatch"
cap_stop
stop_pid "$SRV"

# ---------------------------------------------------------------- tcp-bulk.pcap
log "tcp-bulk: python socket server on 127.0.0.1:9000"
port_free tcp 9000
"$PY" "$HELPER" tcp-bulk-server --port 9000 --dir "$TMP" --lifetime 30 &
SRV=$!; PIDS+=("$SRV")
wait_listen tcp 9000
cap_start tcp-bulk 'tcp port 9000'
run "$PY" "$HELPER" tcp-bulk-client --port 9000 --size 153600 --seed 5
cap_stop
stop_pid "$SRV"

# ---------------------------------------------------------------- udp-misc.pcap
log "udp-misc: python UDP echo on 127.0.0.1:9101,9102 and [::1]:9103, ping"
port_free udp 9101
port_free udp 9102
port_free udp 9103
# 2 ports x (3+4) exchanges + 1 over IPv6
"$PY" "$HELPER" udp-echo-server --ports 9101,9102 --port6 9103 --count 15 --lifetime 30 &
SRV=$!; PIDS+=("$SRV")
wait_listen udp 9101
wait_listen udp 9103
cap_start udp-misc 'udp portrange 9100-9110 or icmp or (icmp6 and ip6[40] < 130)'
run "$PY" "$HELPER" udp-client --ports 9101,9102 --port6 9103 --closed-port 9109
run ping -n -q -c 3 -i 0.2 127.0.0.1 >/dev/null
run ping -6 -n -q -c 2 -i 0.2 ::1 >/dev/null || log "WARNING: ping ::1 failed"
cap_stop
stop_pid "$SRV"

# ---------------------------------------------------------------- README
cat >"$OUT/README.md" <<'EOF'
# Reference captures

Real protocol implementations talking over loopback, captured with `tcpdump -i lo`
(DLT EN10MB, zero MAC addresses). Made by `scripts/gen-pcaps.sh`, which runs them in a
private network namespace whose loopback has MTU 1500 and no segmentation offload,
so frames are <= 1514 bytes; TCP/UDP checksums (partial sums on loopback) are recomputed
with `tcprewrite --fixcsum` (packets quoted inside ICMP errors keep the partial
checksum they had on the wire). Re-running regenerates
the same exchanges and payload bytes; timestamps, ephemeral ports, TCP ISNs and DNS
ids differ. `synth/` holds synthesised captures (see `synth/README.md`, made by
`scripts/synth-pcaps.py`).

| file | contents |
| --- | --- |
| `http-get.pcap` | python `http.server` (HTTP/1.1) on 127.0.0.1:8080 with curl: GET of a 20 KB file (`/file20k.bin`), POST upload of 30 KB to `/upload` (201), and one keep-alive connection with GET `/small.txt` (200) + GET `/missing.txt` (404). 3 TCP flows. Made by `scripts/gen-pcaps.sh`. |
| `http-ipv6.pcap` | the same 20 KB GET over `[::1]:8080` (IPv6). 1 TCP flow. Made by `scripts/gen-pcaps.sh`. |
| `dns-udp.pcap` | dnsmasq on 127.0.0.1:5300 queried by `dig`: A `example.test` (10.1.2.3), AAAA `example.test` (2001:db8::1:2:3), TXT `txt.example.test`, A `nosuch.invalid` (NXDOMAIN) over UDP, and A `www.example.test` over TCP (`dig +tcp`). Made by `scripts/gen-pcaps.sh`. |
| `ftp-passive.pcap` | vsftpd 3.0.3 on 127.0.0.1:2121 (USER anonymous, PASS ftp@example.com) with curl in passive mode: RETR `file50k.bin` (51200 B) negotiated with EPSV (229 reply), then `CWD upload` + `STOR up40k.bin` (40960 B) negotiated with PASV (227 reply); data connections to server ports 30000-30100. 2 control + 2 data TCP flows. Made by `scripts/gen-pcaps.sh`. |
| `ftp-active.pcap` | vsftpd with curl in active mode (`--ftp-port 127.0.0.1`): RETR `file50k.bin` (51200 B) announced with PORT, then the same RETR announced with EPRT; each data connection goes from server port 2020 to the client's announced port. 2 control + 2 data TCP flows. Made by `scripts/gen-pcaps.sh`. |
| `tcp-bulk.pcap` | python sockets on 127.0.0.1:9000: one connection carrying 153600 B client->server, a 10-byte reply `OK 153600`, normal FIN close; a second connection sending 600 B and then closed by the client with SO_LINGER 0 (RST). Made by `scripts/gen-pcaps.sh`. |
| `udp-misc.pcap` | python UDP echo: 4 client sockets (2 per server port) to 127.0.0.1:9101 and :9102, 14 request/response pairs (the replies are prefixed `echo:`; two requests are 1024 bytes), 1 exchange over [::1]:9103, one datagram to closed port 9109 answered by ICMP port unreachable, `ping -c 3 127.0.0.1` and `ping -6 -c 2 ::1` (echo request/reply). Made by `scripts/gen-pcaps.sh`. |
EOF

END=$(date +%s.%N)
log "done in $(awk -v s="$START" -v e="$END" 'BEGIN{printf "%.1f", e-s}') s; files:"
ls -l "$OUT"/*.pcap >&2
