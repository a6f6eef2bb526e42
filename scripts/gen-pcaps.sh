#!/usr/bin/env bash
# Generate small reference captures in pcaps/ from REAL protocol implementations
# talking over loopback (python http.server, dnsmasq, vsftpd, samba, tftpd-hpa,
# aiosmtpd, curl, dig, smbclient, tftp, swaks, ping, ...).
#
# usage: scripts/gen-pcaps.sh [--no-netns] [--keep-tmp] [--raw-checksums] [GROUP...]
#
# GROUPs select which captures to (re)make; none, or `all`, makes every one.
#   http      http-get.pcap, http-ipv6.pcap     (python http.server, curl)
#   dns       dns-udp.pcap                      (dnsmasq, dig)
#   ftp       ftp-passive.pcap, ftp-active.pcap (vsftpd on 2121, curl)
#   tcp-bulk  tcp-bulk.pcap                     (python sockets)
#   udp-misc  udp-misc.pcap                     (python UDP echo, ping)
#   ftp80     ftp-port80.pcap                   (vsftpd on port 80, curl)
#   smb       smb-445.pcap, smb-8445.pcap, smb3-encrypted.pcap (samba smbd, smbclient)
#   tftp      tftp-69.pcap, tftp-5353.pcap      (tftpd-hpa, tftp-hpa)
#   smtp      smtp.pcap                         (python3-aiosmtpd on port 25, swaks)
#   http21    http-port21.pcap                  (python http.server on port 21, curl)
#   new       = ftp80 smb tftp smtp http21
# Missing Debian packages for the selected groups are installed with apt-get
# (as root; service start-up is blocked with policy-rc.d during the install).
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
# TCP ISNs, DNS ids differ from run to run. Re-running overwrites the selected
# groups' pcaps (and rewrites pcaps/README.md); other pcaps are left alone.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
OUT="$ROOT/pcaps"
HELPER="$SCRIPT_DIR/gen-pcaps-helper.py"
PY=${PYTHON:-python3}
# aiosmtpd comes from Debian's python3-aiosmtpd, i.e. for Debian's own python3
SMTP_PY=${SMTP_PYTHON:-/usr/bin/python3}
LOG_PREFIX=gen-pcaps
RUN_TIMEOUT=30   # every client bounded in time (run)
# shellcheck source-path=SCRIPTDIR source=lib-capture.sh
source "$SCRIPT_DIR/lib-capture.sh"

ALL_GROUPS=(http dns ftp tcp-bulk udp-misc ftp80 smb tftp smtp http21)
NEW_GROUPS=(ftp80 smb tftp smtp http21)

USE_NETNS=1
KEEP_TMP=0
FIX_CSUM=1
SELECTED=()
for arg in "$@"; do
  case "$arg" in
    --no-netns) USE_NETNS=0 ;;
    --keep-tmp) KEEP_TMP=1 ;;
    --raw-checksums) FIX_CSUM=0 ;;
    -h|--help) show_help "$0"; exit 0 ;;
    all) SELECTED+=("${ALL_GROUPS[@]}") ;;
    new) SELECTED+=("${NEW_GROUPS[@]}") ;;
    -*) echo "unknown argument: $arg" >&2; exit 2 ;;
    *)
      if [[ " ${ALL_GROUPS[*]} " == *" $arg "* ]]; then SELECTED+=("$arg")
      else echo "unknown group: $arg (groups: ${ALL_GROUPS[*]} new all)" >&2; exit 2; fi ;;
  esac
done
((${#SELECTED[@]})) || SELECTED=("${ALL_GROUPS[@]}")
want() { [[ " ${SELECTED[*]} " == *" $1 "* ]]; }

# ---------------------------------------------------------------- packages
need_selected() {  # called by ensure_packages (lib-capture.sh)
  if want http || want ftp || want ftp80 || want http21; then need curl curl; fi
  if want dns; then need dnsmasq dnsmasq-base; need dig bind9-dnsutils; fi
  if want ftp || want ftp80; then need vsftpd vsftpd; fi
  if want udp-misc; then need ping iputils-ping; fi
  if want smb; then need smbd samba; need smbpasswd samba-common-bin; need smbclient smbclient; fi
  if want tftp; then need_tftp_hpa; fi
  if want smtp; then need_aiosmtpd; fi
}

if [[ ${GEN_PCAPS_IN_NETNS:-0} != 1 ]]; then
  ensure_packages
  [[ $(id -u) -eq 0 ]] || die "must run as root (tcpdump on lo, vsftpd, network namespace)"
  if ((USE_NETNS)); then
    if unshare --net true 2>/dev/null; then netns_reexec GEN_PCAPS "$0" "$@"; fi
    log "WARNING: unshare --net not permitted; using the host loopback (big frames, offloaded checksums)"
  fi
else
  export PATH="$PATH:/usr/sbin:/sbin"
fi
START=${GEN_PCAPS_START:-$(date +%s.%N)}

# ---------------------------------------------------------------- loopback
if [[ ${GEN_PCAPS_IN_NETNS:-0} == 1 ]]; then
  setup_loopback
  ip -6 addr show dev lo | grep -q '::1' || ip -6 addr add ::1/128 dev lo 2>/dev/null || true
fi

# ---------------------------------------------------------------- process handling, capture
setup_tmp gen-pcaps

CAP_NAME=""
cap_start() {  # cap_start NAME 'bpf filter'
  CAP_NAME=$1
  tcpdump_start "$OUT/$CAP_NAME.pcap.tmp" "$TMP/tcpdump-$CAP_NAME.log" "$2"
}
cap_stop() {
  tcpdump_stop
  if ((FIX_CSUM)); then
    fix_checksums "$OUT/$CAP_NAME.pcap.tmp" "$OUT/$CAP_NAME.pcap"
    rm -f "$OUT/$CAP_NAME.pcap.tmp"
  else
    mv -f "$OUT/$CAP_NAME.pcap.tmp" "$OUT/$CAP_NAME.pcap"
  fi
  local n
  n=$(pcap_count "$OUT/$CAP_NAME.pcap")
  log "$CAP_NAME.pcap: $n packets, $(stat -c %s "$OUT/$CAP_NAME.pcap") bytes"
  ((n > 0)) || die "$CAP_NAME.pcap is empty"
}

mkdir -p "$OUT"
WWW="$TMP/www"
mkdir -p "$WWW"
"$PY" "$HELPER" mkfile "$WWW/file20k.bin" 20480 1
"$PY" "$HELPER" mkfile "$TMP/post30k.bin" 30720 2
printf 'hello from the exfil-sensor test server\n' >"$WWW/small.txt"

# vsftpd_conf PORT ROOT DIR: anonymous vsftpd on 127.0.0.1:PORT serving ROOT,
# passive data ports 30000-30100, active data connections from port 2020
vsftpd_conf() {
  local port=$1 root=$2 dir=$3
  cat <<CONF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$port
background=NO
anonymous_enable=YES
no_anon_password=NO
anon_root=$root
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
secure_chroot_dir=$dir/empty
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
xferlog_enable=NO
dual_log_enable=NO
vsftpd_log_file=$dir/vsftpd.log
ftpd_banner=exfil-sensor test FTP server
CONF
}

# ---------------------------------------------------------------- http-get.pcap, http-ipv6.pcap
gen_http() {
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
}

# ---------------------------------------------------------------- dns-udp.pcap
# (includes one TCP query, dig +tcp, on the same port 5300)
gen_dns() {
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
  local DIG=(dig @127.0.0.1 -p 5300 +tries=1 +time=3)
  run "${DIG[@]}" example.test A | grep -q '10\.1\.2\.3' || die "dns A failed"
  run "${DIG[@]}" example.test AAAA | grep -q '2001:db8::1:2:3' || die "dns AAAA failed"
  run "${DIG[@]}" txt.example.test TXT | grep -q 'exfil-sensor test record' || die "dns TXT failed"
  run "${DIG[@]}" nosuch.invalid A | grep -q 'status: NXDOMAIN' || die "dns NXDOMAIN failed"
  run "${DIG[@]}" +tcp www.example.test A | grep -q '10\.1\.2\.3' || die "dns TCP failed"
  cap_stop
  stop_pid "$SRV"
}

# ---------------------------------------------------------------- ftp-passive.pcap, ftp-active.pcap
gen_ftp() {
  log "ftp: vsftpd on 127.0.0.1:2121 (anonymous, upload allowed)"
  port_free tcp 2121
  local FTPROOT="$TMP/ftp/root"
  mkdir -p "$FTPROOT/upload" "$TMP/ftp/empty"
  chmod 555 "$FTPROOT"           # vsftpd refuses a writable anonymous root
  chown ftp:ftp "$FTPROOT/upload" 2>/dev/null || chmod 777 "$FTPROOT/upload"
  "$PY" "$HELPER" mkfile "$FTPROOT/file50k.bin" 51200 3
  chmod 644 "$FTPROOT/file50k.bin"
  "$PY" "$HELPER" mkfile "$TMP/up40k.bin" 40960 4
  vsftpd_conf 2121 "$FTPROOT" "$TMP/ftp" >"$TMP/ftp/vsftpd.conf"
  id ftp >/dev/null 2>&1 || die "user 'ftp' missing (the vsftpd package creates it)"
  vsftpd "$TMP/ftp/vsftpd.conf" &
  SRV=$!; PIDS+=("$SRV")
  wait_listen tcp 2121
  local FTPFILTER='tcp and (port 2121 or port 2020 or portrange 30000-30100)'

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
}

# ---------------------------------------------------------------- tcp-bulk.pcap
gen_tcp_bulk() {
  log "tcp-bulk: python socket server on 127.0.0.1:9000"
  port_free tcp 9000
  "$PY" "$HELPER" tcp-bulk-server --port 9000 --dir "$TMP" --lifetime 30 &
  SRV=$!; PIDS+=("$SRV")
  wait_listen tcp 9000
  cap_start tcp-bulk 'tcp port 9000'
  run "$PY" "$HELPER" tcp-bulk-client --port 9000 --size 153600 --seed 5
  cap_stop
  stop_pid "$SRV"
}

# ---------------------------------------------------------------- udp-misc.pcap
gen_udp_misc() {
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
}

# ---------------------------------------------------------------- ftp-port80.pcap
gen_ftp80() {
  log "ftp80: vsftpd on 127.0.0.1:80 (FTP on the HTTP port)"
  port_free tcp 80
  local root="$TMP/ftp80/root"
  mkdir -p "$root/upload" "$TMP/ftp80/empty"
  chmod 555 "$root"
  chown ftp:ftp "$root/upload" 2>/dev/null || chmod 777 "$root/upload"
  "$PY" "$HELPER" mkfile "$root/file30k.bin" 30720 11
  chmod 644 "$root/file30k.bin"
  "$PY" "$HELPER" mkfile "$TMP/up20k.bin" 20480 12
  vsftpd_conf 80 "$root" "$TMP/ftp80" >"$TMP/ftp80/vsftpd.conf"
  id ftp >/dev/null 2>&1 || die "user 'ftp' missing (the vsftpd package creates it)"
  vsftpd "$TMP/ftp80/vsftpd.conf" &
  SRV=$!; PIDS+=("$SRV")
  wait_listen tcp 80
  cap_start ftp-port80 'tcp and (port 80 or portrange 30000-30100)'
  # RETR negotiated with EPSV (229), STOR with PASV (227)
  run curl -sS --ftp-pasv -o "$TMP/got30k-ftp80.bin" ftp://127.0.0.1:80/file30k.bin
  cmp -s "$TMP/got30k-ftp80.bin" "$root/file30k.bin" || die "ftp80 RETR mismatch"
  sleep 0.2
  run curl -sS --ftp-pasv --disable-epsv -T "$TMP/up20k.bin" ftp://127.0.0.1:80/upload/up20k.bin
  cmp -s "$root/upload/up20k.bin" "$TMP/up20k.bin" || die "ftp80 STOR mismatch"
  cap_stop
  stop_pid "$SRV"
}

# ---------------------------------------------------------------- smb-445.pcap, smb-8445.pcap, smb3-encrypted.pcap
SMB_USER=smbtest
SMB_PASS='exfil-Test-1'
# smb_conf PORT ENCRYPT: standalone smbd on 127.0.0.1:PORT, every path in $TMP/smb,
# share [data] writable by $SMB_USER; ENCRYPT = value of `server smb encrypt`
smb_conf() {
  local port=$1 encrypt=$2 d="$TMP/smb"
  cat <<CONF
[global]
  netbios name = EXFILTEST
  workgroup = TESTGROUP
  server string = exfil-sensor test SMB server
  server role = standalone server
  interfaces = 127.0.0.1
  bind interfaces only = yes
$(smb_global_common "$port" "$d" "$port" "$encrypt")

[data]
  path = $d/share
  read only = no
  browseable = yes
  valid users = $SMB_USER
CONF
}

smbd_start() {  # smbd_start PORT ENCRYPT
  local port=$1
  port_free tcp "$port"
  smb_conf "$port" "$2" >"$TMP/smb/smb-$port.conf"
  # Not --no-process-group: smbd then leads its own process group, which it
  # signals as a whole when it gets SIGTERM (it would otherwise hit this script).
  smbd --foreground --debug-stdout -d 1 -s "$TMP/smb/smb-$port.conf" \
    >>"$TMP/smb/log/smbd-$port.out" 2>&1 &
  SRV=$!; PIDS+=("$SRV")
  wait_listen tcp "$port"
}

smbclient_run() {  # smbclient_run PORT MAXPROTO COMMANDS [extra smbclient args]
  local port=$1 proto=$2 cmds=$3
  shift 3
  run smbclient //127.0.0.1/data -p "$port" -s "$TMP/smb/smb-$port.conf" -m "$proto" \
    -U "$SMB_USER%$SMB_PASS" --use-kerberos=off "$@" -c "lcd $TMP/smb/local; $cmds" \
    >>"$TMP/smb/log/smbclient.out" 2>&1 || die "smbclient ($proto, port $port) failed: $(tail -3 "$TMP/smb/log/smbclient.out")"
}

gen_smb() {
  log "smb: samba smbd on 127.0.0.1:445 and :8445 (user $SMB_USER), smbclient"
  local d="$TMP/smb" share="$TMP/smb/share" local_dir="$TMP/smb/local"
  mkdir -p "$d"/{private,lock,state,cache,run,ncalrpc,log} "$share" "$local_dir"
  if ! id "$SMB_USER" >/dev/null 2>&1; then
    # a system account without login/home; its samba password lives in $TMP only
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SMB_USER" \
      || die "useradd $SMB_USER failed"
  fi
  chown "$SMB_USER" "$share"
  "$PY" "$HELPER" mkfile "$share/report20k.bin" 20480 31
  chmod 644 "$share/report20k.bin"
  "$PY" "$HELPER" mkfile "$local_dir/upload30k.bin" 30720 32
  "$PY" "$HELPER" mkfile "$local_dir/secret10k.bin" 10240 33
  smb_conf 445 off >"$d/smb-445.conf"
  printf '%s\n%s\n' "$SMB_PASS" "$SMB_PASS" \
    | smbpasswd -c "$d/smb-445.conf" -s -a "$SMB_USER" >"$d/log/smbpasswd.out" 2>&1 \
    || die "smbpasswd failed: $(cat "$d/log/smbpasswd.out")"

  local port
  for port in 445 8445; do
    rm -f "$share/upload30k.bin" "$local_dir"/got*.bin
    smbd_start "$port" off
    cap_start "smb-$port" "tcp port $port"
    # SMB 3.1.1 session: put 30 KB, get 20 KB
    smbclient_run "$port" SMB3 'put upload30k.bin; get report20k.bin got20k.bin'
    cmp -s "$share/upload30k.bin" "$local_dir/upload30k.bin" || die "smb put mismatch (port $port)"
    cmp -s "$local_dir/got20k.bin" "$share/report20k.bin" || die "smb get mismatch (port $port)"
    if [[ $port == 445 ]]; then
      sleep 0.2
      # SMB 2.1 session (max protocol SMB2 = SMB2_10): directory listing + get 20 KB
      smbclient_run "$port" SMB2 'ls; get report20k.bin got20k-smb2.bin'
      cmp -s "$local_dir/got20k-smb2.bin" "$share/report20k.bin" || die "smb2 get mismatch"
    fi
    cap_stop
    stop_pid "$SRV"
  done

  log "smb3-encrypted: smbd on 127.0.0.1:445 with 'server smb encrypt = required'"
  smbd_start 445 required
  cap_start smb3-encrypted 'tcp port 445'
  smbclient_run 445 SMB3 'put secret10k.bin; ls' --client-protection=encrypt
  cmp -s "$share/secret10k.bin" "$local_dir/secret10k.bin" || die "smb3 encrypted put mismatch"
  cap_stop
  stop_pid "$SRV"
}

# ---------------------------------------------------------------- tftp-69.pcap, tftp-5353.pcap
gen_tftp() {
  log "tftp: tftpd-hpa (in.tftpd) on 127.0.0.1:69 and :5353, tftp-hpa client"
  local root="$TMP/tftp/root" local_dir="$TMP/tftp/local" port
  mkdir -p "$root" "$local_dir"
  id nobody >/dev/null 2>&1 || die "user 'nobody' missing"
  chmod 777 "$root"   # in.tftpd serves as user nobody; -c lets it create files
  "$PY" "$HELPER" mkfile "$root/boot20k.bin" 20480 41
  chmod 644 "$root/boot20k.bin"
  "$PY" "$HELPER" mkfile "$local_dir/config10k.bin" 10240 42
  for port in 69 5353; do
    rm -f "$root/config10k.bin" "$local_dir/got-boot20k.bin"
    port_free udp "$port"
    # In the namespace `-a 127.0.0.1:PORT` fails: in.tftpd resolves the address
    # with AI_ADDRCONFIG, which finds no IPv4 address when there is only loopback.
    # There an empty address (0.0.0.0:PORT) is loopback only anyway.
    local addr="127.0.0.1:$port"
    [[ ${GEN_PCAPS_IN_NETNS:-0} == 1 ]] && addr=":$port"
    in.tftpd -4 -L -s "$root" -c -p -u nobody -a "$addr" &
    SRV=$!; PIDS+=("$SRV")
    wait_listen udp "$port"
    # each transfer continues between two new ephemeral ports (TIDs): capture all UDP
    cap_start "tftp-$port" 'udp or icmp'
    (cd "$local_dir" && run tftp -m binary 127.0.0.1 "$port" -c get boot20k.bin got-boot20k.bin)
    cmp -s "$local_dir/got-boot20k.bin" "$root/boot20k.bin" || die "tftp get mismatch (port $port)"
    sleep 0.2
    (cd "$local_dir" && run tftp -m binary 127.0.0.1 "$port" -c put config10k.bin config10k.bin)
    sleep 0.3   # the server child writes the file after the last ACK
    cmp -s "$root/config10k.bin" "$local_dir/config10k.bin" || die "tftp put mismatch (port $port)"
    cap_stop
    # let the per-transfer children finish (and be reaped by in.tftpd) first
    local _
    for _ in $(seq 50); do ps -o pid= --ppid "$SRV" | grep -q . || break; sleep 0.1; done
    stop_pid "$SRV"
  done
}

# ---------------------------------------------------------------- smtp.pcap
gen_smtp() {
  log "smtp: aiosmtpd on 127.0.0.1:25, swaks client"
  local d="$TMP/smtp"
  mkdir -p "$d"
  "$PY" "$HELPER" mkfile "$d/report8k.bin" 8192 51
  port_free tcp 25
  # aiosmtpd's Mailbox handler stores each message (with X-MailFrom / X-RcptTo
  # headers) in a Maildir
  "$SMTP_PY" -m aiosmtpd -n -l 127.0.0.1:25 -c aiosmtpd.handlers.Mailbox "$d/maildir" \
    >"$d/aiosmtpd.log" 2>&1 &
  SRV=$!; PIDS+=("$SRV")
  wait_listen tcp 25
  local SWAKS=(swaks --server 127.0.0.1 --port 25 --helo client.example.test --timeout 10)
  cap_start smtp 'tcp port 25'
  # 1: one recipient, multipart/mixed with an 8 KB application/octet-stream attachment
  run "${SWAKS[@]}" --from alice@example.test --to bob@example.test \
    --header 'Subject: quarterly report' --body 'Hi Bob, the report is attached.' \
    --attach-type application/octet-stream --attach "@$d/report8k.bin" >"$d/swaks1.log" 2>&1 \
    || die "swaks (attachment) failed: $(tail -3 "$d/swaks1.log")"
  sleep 0.2
  # 2: plain text message, two recipients (two RCPT TO)
  run "${SWAKS[@]}" --from alice@example.test --to carol@example.test,dave@example.test \
    --header 'Subject: lunch' --body 'Lunch at noon?' >"$d/swaks2.log" 2>&1 \
    || die "swaks (two recipients) failed: $(tail -3 "$d/swaks2.log")"
  cap_stop
  stop_pid "$SRV"
  "$PY" "$HELPER" mail-check --maildir "$d/maildir" --attachment "$d/report8k.bin" \
    --rcpts 'bob@example.test' --rcpts 'carol@example.test,dave@example.test' \
    || die "smtp: messages not stored as sent"
  # CHUNKING/BDAT: neither aiosmtpd nor swaks implements it, so no smtp-bdat.pcap.
}

# ---------------------------------------------------------------- http-port21.pcap
gen_http21() {
  log "http21: python http.server on 127.0.0.1:21 (HTTP on the FTP port)"
  port_free tcp 21
  "$PY" "$HELPER" http-server --bind 127.0.0.1 --port 21 --dir "$WWW" --lifetime 60 &
  SRV=$!; PIDS+=("$SRV")
  wait_listen tcp 21
  cap_start http-port21 'tcp port 21'
  run curl -sS -o "$TMP/got20k-21.bin" http://127.0.0.1:21/file20k.bin
  cmp -s "$TMP/got20k-21.bin" "$WWW/file20k.bin" || die "http21 GET content mismatch"
  sleep 0.2
  rm -f "$WWW/uploads/upload21.bin"
  run curl -sS -o /dev/null -H 'Expect:' -H 'Content-Type: application/octet-stream' \
    --data-binary @"$TMP/post30k.bin" http://127.0.0.1:21/upload21
  cmp -s "$WWW/uploads/upload21.bin" "$TMP/post30k.bin" || die "http21 POST content mismatch"
  cap_stop
  stop_pid "$SRV"
}

# ---------------------------------------------------------------- run the selected groups
for g in "${ALL_GROUPS[@]}"; do
  want "$g" || continue
  "gen_${g//-/_}"
done

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
ids differ. `scripts/gen-pcaps.sh GROUP...` remakes only some of them (e.g.
`scripts/gen-pcaps.sh smb tftp`; groups in `scripts/gen-pcaps.sh --help`); it installs
the Debian packages the selected groups need. `synth/` holds synthesised captures
(see `synth/README.md`, made by `scripts/synth-pcaps.py`).

| file | contents |
| --- | --- |
| `http-get.pcap` | python `http.server` (HTTP/1.1) on 127.0.0.1:8080 with curl: GET of a 20 KB file (`/file20k.bin`), POST upload of 30 KB to `/upload` (201), and one keep-alive connection with GET `/small.txt` (200) + GET `/missing.txt` (404). 3 TCP flows. Made by `scripts/gen-pcaps.sh`. |
| `http-ipv6.pcap` | the same 20 KB GET over `[::1]:8080` (IPv6). 1 TCP flow. Made by `scripts/gen-pcaps.sh`. |
| `dns-udp.pcap` | dnsmasq on 127.0.0.1:5300 queried by `dig`: A `example.test` (10.1.2.3), AAAA `example.test` (2001:db8::1:2:3), TXT `txt.example.test`, A `nosuch.invalid` (NXDOMAIN) over UDP, and A `www.example.test` over TCP (`dig +tcp`). Made by `scripts/gen-pcaps.sh`. |
| `ftp-passive.pcap` | vsftpd 3.0.3 on 127.0.0.1:2121 (USER anonymous, PASS ftp@example.com) with curl in passive mode: RETR `file50k.bin` (51200 B) negotiated with EPSV (229 reply), then `CWD upload` + `STOR up40k.bin` (40960 B) negotiated with PASV (227 reply); data connections to server ports 30000-30100. 2 control + 2 data TCP flows. Made by `scripts/gen-pcaps.sh`. |
| `ftp-active.pcap` | vsftpd with curl in active mode (`--ftp-port 127.0.0.1`): RETR `file50k.bin` (51200 B) announced with PORT, then the same RETR announced with EPRT; each data connection goes from server port 2020 to the client's announced port. 2 control + 2 data TCP flows. Made by `scripts/gen-pcaps.sh`. |
| `tcp-bulk.pcap` | python sockets on 127.0.0.1:9000: one connection carrying 153600 B client->server, a 10-byte reply `OK 153600`, normal FIN close; a second connection sending 600 B and then closed by the client with SO_LINGER 0 (RST). Made by `scripts/gen-pcaps.sh`. |
| `udp-misc.pcap` | python UDP echo: 4 client sockets (2 per server port) to 127.0.0.1:9101 and :9102, 14 request/response pairs (the replies are prefixed `echo:`; two requests are 1024 bytes), 1 exchange over [::1]:9103, one datagram to closed port 9109 answered by ICMP port unreachable, `ping -c 3 127.0.0.1` and `ping -6 -c 2 ::1` (echo request/reply). Made by `scripts/gen-pcaps.sh`. |
| `ftp-port80.pcap` | FTP on the HTTP port: vsftpd 3.0.3 on 127.0.0.1:80 (same anonymous setup as `ftp-passive.pcap`: USER anonymous, PASS ftp@example.com) with curl in passive mode: RETR `file30k.bin` (30720 B) negotiated with EPSV (229 reply), then `CWD upload` + STOR `up20k.bin` (20480 B) negotiated with PASV (227 reply); data connections to server ports 30000-30100. No HTTP at all. 2 control + 2 data TCP flows. Made by `scripts/gen-pcaps.sh ftp80`. |
| `http-port21.pcap` | HTTP on the FTP port: python `http.server` (HTTP/1.1) on 127.0.0.1:21 with curl: GET `/file20k.bin` (20480 B, 200), then POST of 30720 B to `/upload21` (201). No FTP at all. 2 TCP flows. Made by `scripts/gen-pcaps.sh http21`. |
| `smb-445.pcap` | samba 4.17 `smbd` (standalone server, share `data`, `server smb encrypt = off`) on 127.0.0.1:445 with `smbclient` as user `smbtest` (NTLMSSP, password auth). Flow 1, `-m SMB3` (dialect 3.1.1): tree connect `\\127.0.0.1\IPC$` (DFS referral, STATUS_NOT_FOUND), tree connect `\\127.0.0.1\data`, `put upload30k.bin` (CREATE + one 30720-byte WRITE + CLOSE), `get report20k.bin` (CREATE, GETINFO, one 20480-byte READ + CLOSE). Flow 2, `-m SMB2` (dialect 2.1): `ls` (CREATE + FIND) and `get report20k.bin`. Samba answers the WRITE/READ with an interim STATUS_PENDING response first. File names are in clear (UTF-16LE); only session setup, tree connect and FSCTL_VALIDATE_NEGOTIATE_INFO messages are signed. 2 TCP flows. Made by `scripts/gen-pcaps.sh smb`. |
| `smb-8445.pcap` | the SMB 3.1.1 session of `smb-445.pcap` (put `upload30k.bin` 30720 B, get `report20k.bin` 20480 B) with smbd on 127.0.0.1:8445 (`smb ports = 8445`) and `smbclient -p 8445` (direct TCP, NBSS framing as on 445; Wireshark needs `-d tcp.port==8445,nbss`). 1 TCP flow. Made by `scripts/gen-pcaps.sh smb`. |
| `smb3-encrypted.pcap` | smbd with `server smb encrypt = required` on 127.0.0.1:445 and `smbclient -m SMB3 --client-protection=encrypt`: NEGOTIATE (3.1.1, AES-128-GCM) and the NTLMSSP SESSION_SETUP (user `smbtest`) in clear, then every message (tree connect, `put secret10k.bin` 10240 B, `ls`) inside SMB3 TRANSFORM headers (`0xFD 'SMB'`): no file name visible. 1 TCP flow. Made by `scripts/gen-pcaps.sh smb`. |
| `tftp-69.pcap` | tftpd-hpa 5.2 (`in.tftpd -L -c -p -s DIR`, listening on port 69) with the tftp-hpa 5.2 client, octet mode, 512-byte blocks, no options: RRQ `boot20k.bin` (20480 B: DATA blocks 1-40 + empty block 41) and WRQ `config10k.bin` (10240 B: blocks 1-20 + empty block 21). Each request goes from a client ephemeral port to 127.0.0.1:69; the server answers from a new ephemeral port, so each transfer is a 1-datagram flow to :69 plus a separate UDP flow between two ephemeral ports. Made by `scripts/gen-pcaps.sh tftp`. |
| `tftp-5353.pcap` | the same two transfers with in.tftpd on port 5353 (the mDNS port: Wireshark shows the RRQ as malformed mDNS). Made by `scripts/gen-pcaps.sh tftp`. |
| `smtp.pcap` | aiosmtpd 1.4.3 (Debian `python3-aiosmtpd`, Mailbox handler; banner `220 localhost Python SMTP 1.4.3`, EHLO reply 8BITMIME and HELP only: no PIPELINING, CHUNKING or STARTTLS) on 127.0.0.1:25 with swaks 20201014 (`EHLO client.example.test`). Flow 1: MAIL FROM alice@example.test, RCPT TO bob@example.test, DATA: Subject `quarterly report`, multipart/mixed with a text part and attachment `report8k.bin` (8192 B, application/octet-stream, base64). Flow 2: RCPT TO carol@example.test and dave@example.test, Subject `lunch`, plain text. Both end with QUIT/221; Date and Message-Id differ per run. 2 TCP flows. Made by `scripts/gen-pcaps.sh smtp`. |
EOF

log "done in $(elapsed) s; files:"
ls -l "$OUT"/*.pcap >&2
