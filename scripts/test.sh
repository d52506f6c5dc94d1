#!/usr/bin/env bash
# Runs every check and test of hotline-bridge. Installs what the tests need when it is missing:
# cmake (phone-leg audio: the `opus` crate builds libopus from its bundled source), redis-server
# and redis-sentinel (the tests start their own on free ports, never the machine's 6379),
# Chromium and its driver (end-to-end tests), CJK fonts (legible screenshots), espeak-ng and sox
# (the fake microphones' speech), Node.js (the pages' ES modules are also tested outside the
# browser), sipp (Debian's sip-tester: the trunk in the SIP tests), kamailio (a real SIP proxy
# in front of the bridge in tests/sip_behind_proxy.rs), baresip (a real softphone: a caller's phone
# and an interpreter's phone in the phone tests), PostgreSQL (the record store's tests start their
# own server in a temporary directory on a free port, never the machine's 5432), coturn (a real
# TURN server in tests/turn_relay.rs, started on free ports without the machine's config),
# systemd-analyze (tests/deploy_files.rs verifies the service unit in deploy/), HAProxy (the
# load balancer of scripts/cluster.sh, which tests/cluster_script.rs runs; kamailio above is its
# SIP proxy).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v cc >/dev/null || missing+=(gcc)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v sox >/dev/null || missing+=(sox)
command -v node >/dev/null || missing+=(nodejs)
command -v sipp >/dev/null || missing+=(sip-tester)
[ -x /usr/sbin/kamailio ] || missing+=(kamailio)
command -v baresip >/dev/null || missing+=(baresip)
command -v turnserver >/dev/null || missing+=(coturn)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v haproxy >/dev/null || missing+=(haproxy)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing+=(postgresql)
[ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}" >&2
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
rm -f target/e2e/story-report.txt
cargo test --all-targets --locked
# The end-to-end story's step timings and screenshots (tests/e2e_story.rs).
if [ -f target/e2e/story-report.txt ]; then cat target/e2e/story-report.txt; fi
