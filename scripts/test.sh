#!/usr/bin/env bash
# Runs every check and test of hotline-bridge. Installs what the tests need when it is missing
# (redis-server; the tests start their own on a free port and never touch the machine's 6379).
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  echo "test.sh: installing $* (needs root and Debian's package lists)" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

need redis-server || apt_install redis-server

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
