#!/usr/bin/env bash
# A local hotline-bridge cluster in one command, as plain processes on this machine: Redis (a
# master and a replica) with three Sentinels, PostgreSQL for the call record, coturn, three
# bridge nodes, HAProxy in front of their HTTP checking each node's /readyz, and kamailio in
# front of their SIP edges (phone calls, spread over the nodes). It prints the URLs and the
# operator's password, and stops everything on Ctrl-C (or SIGTERM). Installs what is missing with
# apt-get, like scripts/test.sh; the configuration comes from deploy/ (haproxy.cfg,
# sentinel.conf, turnserver.conf, kamailio.cfg), with this machine's ports.
#
#   scripts/cluster.sh                       # proxy on http://127.0.0.1:18000
#   CLUSTER_PORT=20000 scripts/cluster.sh    # every port is CLUSTER_PORT + a fixed offset
#   HOTLINE_BIN=target/debug/hotline-bridge scripts/cluster.sh   # skip the release build
#
# Ports (CLUSTER_PORT + ...): 0 the proxy, 1 its stats page, 10-12 the nodes, 20 Redis master,
# 21 its replica, 26-28 the sentinels, 32 PostgreSQL, 40-41 coturn (UDP and TCP), 50-52 the
# nodes' media (UDP), 60 kamailio (SIP, UDP), 61-63 the nodes' SIP edges (UDP), 100-199 coturn's
# relay ports (UDP), 200-259 the nodes' phone RTP (UDP, 20 each). Everything listens on 127.0.0.1
# only. Phone calls: sip:12345001@127.0.0.1:<CLUSTER_PORT + 60> (pt; 12345002 en, 12345003 fr).
# Logs and data live in a temporary directory, printed at start and removed at the end
# (CLUSTER_KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
base=${CLUSTER_PORT:-18000}

# ---- what it needs ----
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v turnserver >/dev/null || missing+=(coturn)
command -v haproxy >/dev/null || missing+=(haproxy)
command -v curl >/dev/null || missing+=(curl)
command -v ss >/dev/null || missing+=(iproute2)
[ -x /usr/sbin/kamailio ] || missing+=(kamailio)
if [ ${#missing[@]} -gt 0 ]; then
  echo "cluster.sh: installing ${missing[*]}" >&2
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bin=${HOTLINE_BIN:-target/release/hotline-bridge}
if [ ! -x "$bin" ]; then
  echo "cluster.sh: building $bin" >&2
  cargo build --release --locked
fi
bin=$(realpath "$bin")
pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")

# ---- stopping everything ----
dir=$(mktemp -d /tmp/hotline-cluster.XXXXXX)
chmod 0755 "$dir"
pids=()
stop_all() {
  trap - EXIT INT TERM
  echo "cluster.sh: stopping" >&2
  # The nodes first (they drain: calls end, the pool is cleaned), then what they use.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${CLUSTER_KEEP:-0}" = 1 ]; then echo "cluster.sh: kept $dir" >&2; else rm -rf "$dir"; fi
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$@" in the background with its output in $dir/<name>.log.
start() {
  local name=$1; shift
  "$@" >"$dir/$name.log" 2>&1 &
  pids+=($!)
}

# Waits (up to CLUSTER_WAIT_S seconds, default 60: a debug build on a busy machine starts
# slowly) until "$@" succeeds; the named process's log if it never does.
wait_for() {
  local what=$1 log=$2; shift 2
  local until=$((SECONDS + ${CLUSTER_WAIT_S:-60}))
  while [ "$SECONDS" -lt "$until" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "cluster.sh: $what did not come up; its log ($log):" >&2
  tail -20 "$log" >&2 || true
  exit 1
}

port() { echo $((base + $1)); }

# ---- Redis: a master, a replica, three sentinels (deploy/sentinel.conf) ----
redis_conf() { # port [master port]
  mkdir -p "$dir/redis-$1"
  printf 'port %s\nbind 127.0.0.1\nsave ""\nappendonly no\ndir %s\n' "$1" "$dir/redis-$1" \
    >"$dir/redis-$1/redis.conf"
  [ $# -lt 2 ] || echo "replicaof 127.0.0.1 $2" >>"$dir/redis-$1/redis.conf"
  echo "$dir/redis-$1/redis.conf"
}
master=$(port 20)
start redis-master redis-server "$(redis_conf "$master")"
start redis-replica redis-server "$(redis_conf "$(port 21)" "$master")"
wait_for "Redis" "$dir/redis-master.log" redis-cli -p "$master" ping
sentinels=()
for i in 26 27 28; do
  p=$(port $i)
  sed -e "s/^port 26379/port $p/" \
      -e "s/^sentinel monitor hotline 127.0.0.1 6379 2/sentinel monitor hotline 127.0.0.1 $master 2/" \
      -e "s/^sentinel down-after-milliseconds hotline 5000/sentinel down-after-milliseconds hotline 2000/" \
      deploy/sentinel.conf >"$dir/sentinel-$p.conf"
  echo "dir $dir" >>"$dir/sentinel-$p.conf"
  start "sentinel-$p" redis-sentinel "$dir/sentinel-$p.conf"
  sentinels+=("\"127.0.0.1:$p\"")
  wait_for "Sentinel on $p" "$dir/sentinel-$p.log" redis-cli -p "$p" sentinel get-master-addr-by-name hotline
done

# ---- PostgreSQL: its own cluster in $dir (as the postgres user when run as root) ----
pg=$(port 32)
# PostgreSQL refuses to run as root: then as the postgres user, exec'd in place (setpriv), so that
# stopping it reaches the server itself.
as_pg=()
[ "$(id -u)" -ne 0 ] || as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
mkdir -p "$dir/pg"
[ "$(id -u)" -ne 0 ] || chown postgres: "$dir/pg"
"${as_pg[@]}" "$pg_bin/initdb" -D "$dir/pg/data" -U hotline -A trust -E UTF8 --no-sync \
  >"$dir/initdb.log" 2>&1
start postgres "${as_pg[@]}" "$pg_bin/postgres" -D "$dir/pg/data" -p "$pg" \
  -c listen_addresses=127.0.0.1 -c unix_socket_directories="$dir/pg"
wait_for "PostgreSQL" "$dir/postgres.log" "$pg_bin/pg_isready" -h 127.0.0.1 -p "$pg"
"$pg_bin/createdb" -h 127.0.0.1 -p "$pg" -U hotline hotline

# ---- coturn (deploy/turnserver.conf) with a secret made now ----
turn=$(port 40)
turn_secret=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
start coturn turnserver -c "$root/deploy/turnserver.conf" --log-file stdout --simple-log \
  --pidfile "$dir/turn.pid" --userdb "$dir/turndb" \
  --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 --listening-port "$turn" \
  --alt-listening-port "$(port 41)" --min-port "$(port 100)" --max-port "$(port 199)" \
  --static-auth-secret "$turn_secret" --realm hotline.local \
  --allow-loopback-peers --allowed-peer-ip 127.0.0.1 --no-tls --no-dtls
wait_for "coturn" "$dir/coturn.log" bash -c "exec 3<>/dev/tcp/127.0.0.1/$turn"

# ---- three bridge nodes ----
operator_password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
operator_hash=$(printf '%s' "$operator_password" | "$bin" new-secret --argon2 | sed -n 's/^password_argon2 = "\(.*\)"$/\1/p')
proxy="http://127.0.0.1:$(port 0)"
# Pages come from the proxy's origin; an interpreter console joins a call living on another node
# at that node's public_url, so every node allows the proxy and its siblings.
origins="\"$proxy\", \"http://localhost:$(port 0)\""
for i in 0 1 2; do origins+=", \"http://127.0.0.1:$(port $((10 + i)))\""; done
nodes=()
for i in 0 1 2; do
  name=$(printf '%s' abc | cut -c$((i + 1)))
  p=$(port $((10 + i)))
  nodes+=("127.0.0.1:$p")
  start "node-$name" env -i PATH="$PATH" HOME="$dir" \
    HOTLINE_LOG=info \
    HOTLINE__SERVER__LISTEN="127.0.0.1:$p" \
    HOTLINE__SERVER__PUBLIC_URL="http://127.0.0.1:$p" \
    HOTLINE__SERVER__ALLOWED_ORIGINS="[$origins]" \
    HOTLINE__SERVER__DRAIN_S=30 \
    HOTLINE__REDIS__SENTINEL_MASTER=hotline \
    HOTLINE__REDIS__SENTINELS="[$(IFS=,; echo "${sentinels[*]}")]" \
    HOTLINE__RECORDS__DATABASE="postgres://hotline@127.0.0.1:$pg/hotline" \
    HOTLINE__ROSTER__FILE="$root/interpreters.toml" \
    HOTLINE__MEDIA__PUBLIC_IP=127.0.0.1 \
    HOTLINE__MEDIA__UDP_PORT="$(port $((50 + i)))" \
    HOTLINE__MEDIA__SHARDS=1 \
    HOTLINE__MEDIA__TURN_URLS="[\"turn:127.0.0.1:$turn?transport=udp\"]" \
    HOTLINE__MEDIA__TURN_SECRET="$turn_secret" \
    HOTLINE__OPERATORS__WANG__PASSWORD_ARGON2="$operator_hash" \
    HOTLINE__SIP__ENABLED=true \
    HOTLINE__SIP__LISTEN_UDP="127.0.0.1:$(port $((61 + i)))" \
    HOTLINE__SIP__LISTEN_TCP="127.0.0.1:0" \
    HOTLINE__SIP__PUBLIC_IP=127.0.0.1 \
    HOTLINE__SIP__RTP_PORT_MIN="$(port $((200 + 20 * i)))" \
    HOTLINE__SIP__RTP_PORT_MAX="$(port $((219 + 20 * i)))" \
    HOTLINE__SIP__DIDS__12345001=pt HOTLINE__SIP__DIDS__12345002=en HOTLINE__SIP__DIDS__12345003=fr \
    HOTLINE__SIP__TRUNKS__PROXY__SOURCES='["127.0.0.1"]' \
    "$bin"
  echo "${pids[-1]}" >"$dir/node-$name.pid"
  wait_for "node $name" "$dir/node-$name.log" curl -sf "http://127.0.0.1:$p/readyz"
done

# ---- kamailio (deploy/kamailio.cfg) in front of the nodes' SIP edges ----
sip=$(port 60)
mkdir -p "$dir/kamailio"
for i in 0 1 2; do echo "1 sip:127.0.0.1:$(port $((61 + i)))"; done >"$dir/kamailio/nodes.list"
start kamailio /usr/sbin/kamailio -DD -E -f "$root/deploy/kamailio.cfg" \
  -A "LISTEN=udp:127.0.0.1:$sip" -A "NODES=\"$dir/kamailio/nodes.list\"" \
  -Y "$dir/kamailio" -m 32 -M 8
wait_for "kamailio" "$dir/kamailio.log" bash -c "ss -Hlun 'sport = :$sip' | grep -q ."

# ---- HAProxy (deploy/haproxy.cfg) ----
HB_LISTEN="127.0.0.1:$(port 0)" HB_STATS="127.0.0.1:$(port 1)" \
  HB_NODE_A="${nodes[0]}" HB_NODE_B="${nodes[1]}" HB_NODE_C="${nodes[2]}" \
  start haproxy haproxy -W -db -f "$root/deploy/haproxy.cfg"
wait_for "HAProxy" "$dir/haproxy.log" curl -sf "$proxy/readyz"

cat <<EOF
hotline cluster up (logs and data in $dir)
  caller page        $proxy/call
  operator console   $proxy/operator    (operator: wang, password: $operator_password)
  interpreter        $proxy/interpreter
  university         $proxy/university
  nodes              http://${nodes[0]}  http://${nodes[1]}  http://${nodes[2]}
  proxy stats        http://127.0.0.1:$(port 1)/
  Redis (Sentinel)   127.0.0.1:$master, sentinels ${sentinels[*]}, master name "hotline"
  PostgreSQL         postgres://hotline@127.0.0.1:$pg/hotline
  TURN               turn:127.0.0.1:$turn
  phone (SIP, UDP)   sip:12345001@127.0.0.1:$sip (pt), 12345002 (en), 12345003 (fr), through kamailio
  stop one node      kill -TERM \$(cat $dir/node-a.pid)   (it drains and leaves both proxies' rotation)
Ctrl-C stops everything.
EOF
# Until Ctrl-C (a node stopped by hand is part of trying the cluster out: the rest goes on).
sleep infinity &
pids+=($!)
wait $!
