#!/usr/bin/env bash
# Build (release) and run the sensor with the given arguments, installing libpcap first
# if needed. Example: scripts/run.sh -r pcaps/ftp-passive.pcap
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo build --release --quiet
exec target/release/exfil-sensor "$@"
