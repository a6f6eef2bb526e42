#!/usr/bin/env bash
# The whole test suite: unit, property and integration tests (conformance tests over
# ../shared skip with a message when it is absent). Installs libpcap first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo test --all-targets --no-fail-fast "$@" 2>&1
