#!/usr/bin/env bash
# Make sure the one system library the sensor links against (libpcap) is present.
# Installs it with apt when run as root (or with sudo); otherwise says exactly what to run.
set -euo pipefail

have_libpcap() {
  [ -e /usr/include/pcap.h ] || [ -e /usr/include/pcap/pcap.h ] || pkg-config --exists libpcap 2>/dev/null
}

if have_libpcap; then
  exit 0
fi
echo "exfil-sensor: libpcap development files are missing; installing libpcap-dev" >&2
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap-dev >&2
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap-dev >&2
else
  echo "exfil-sensor: please run as root: apt-get install libpcap-dev" >&2
  exit 1
fi
have_libpcap || { echo "exfil-sensor: libpcap-dev still missing after install" >&2; exit 1; }
