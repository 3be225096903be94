#!/usr/bin/env bash
# A throwaway one-node Ceph radosgw (a real S3 server) for tests.
#
#   scripts/radosgw.sh [DIR]       install if missing, start, print DIR/env
#   scripts/radosgw.sh start [DIR] the same
#   scripts/radosgw.sh stop DIR    kill the daemons and remove DIR
#
# Everything lives under DIR (default: a new mktemp -d folder): one monitor,
# one OSD on memstore (RAM, no disks), no mgr, cephx off, radosgw with the
# beast frontend on 127.0.0.1:$RGW_PORT (default: a free port) and one S3 user
# with a fixed key. On success DIR/env holds S3_ENDPOINT, S3_ACCESS_KEY,
# S3_SECRET_KEY, S3_REGION and RGW_PIDS, and its path is the only line on
# stdout. On failure the daemons are stopped, DIR is removed (when this script
# created it) and the exit status is non-zero with the reason on stderr.
#
# Environment: RGW_PORT (S3 port), RGW_TIMEOUT (seconds per wait, default 60),
# RGW_KEEP_ON_FAILURE=1 (keep DIR and its logs when start-up fails).
set -euo pipefail

ACCESS_KEY=audiencehub-test-access
SECRET_KEY=audiencehub-test-secret-0123456789abcdef
REGION=us-east-1
TIMEOUT=${RGW_TIMEOUT:-60}

log() { printf 'radosgw.sh: %s\n' "$*" >&2 || true; }
die() { printf 'radosgw.sh: error: %s\n' "$*" >&2 || true; exit 1; }
# a reader that goes away (| head) must not stop the clean-up half-way
trap '' PIPE

# --- stop -------------------------------------------------------------------

alive() { # a live (non-zombie) process
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

kill_pids() {
  # SIGKILL straight away: the data is in RAM and thrown away anyway, and
  # radosgw takes about 10 s to honour SIGTERM (120 s once the monitor is gone)
  local pid i left
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
  for i in $(seq 1 50); do # wait (at most 5 s) until they are gone
    left=
    for pid in "$@"; do alive "$pid" && left="$left $pid"; done
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  return 0
}

pids_of_dir() { # every pid file the daemons wrote, plus RGW_PIDS from env
  local d=$1 f
  for f in "$d"/run/*.pid; do [ -f "$f" ] && cat "$f"; done
  if [ -f "$d/env" ]; then
    (. "$d/env" && printf '%s\n' $RGW_PIDS) || true
  fi
  [ -f "$d/pids" ] && cat "$d/pids"
  return 0
}

stop_dir() {
  local d=$1 pids
  [ -d "$d" ] || return 0
  d=$(cd "$d" && pwd -P) # the daemons were started with the physical path
  pids=$(pids_of_dir "$d" | sort -un | tr '\n' ' ')
  # only kill what really belongs to this folder (pids can be reused)
  local mine=() pid
  for pid in $pids; do
    if alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$d/ceph.conf"; then
      mine+=("$pid")
    fi
  done
  [ ${#mine[@]} -gt 0 ] && kill_pids "${mine[@]}"
  rm -rf -- "$d"
}

if [ "${1:-}" = stop ]; then
  [ -n "${2:-}" ] || die "usage: $0 stop DIR"
  [ -f "$2/ceph.conf" ] || [ ! -e "$2" ] || die "$2 does not look like a radosgw.sh folder (no ceph.conf)"
  stop_dir "$2"
  exit 0
fi
[ "${1:-}" = start ] && shift

# --- install ----------------------------------------------------------------

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 1
  fi
}

need_install=
for b in radosgw radosgw-admin ceph-mon ceph-osd monmaptool; do
  command -v "$b" >/dev/null 2>&1 || need_install=1
done
if [ -n "$need_install" ]; then
  command -v apt-get >/dev/null 2>&1 || die "radosgw is not installed and there is no apt-get to install it"
  [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; } ||
    die "radosgw is not installed and installing it needs root (or password-less sudo)"
  log "installing radosgw ceph-mon ceph-osd ..."
  t0=$SECONDS
  pkgs=(radosgw ceph-mon ceph-osd)
  aptlog=$(mktemp "${TMPDIR:-/tmp}/radosgw-apt.XXXXXX")
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >"$aptlog" 2>&1; then
    log "apt-get install failed; running apt-get update first"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update >>"$aptlog" 2>&1 || true
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >>"$aptlog" 2>&1; then
      printf 'radosgw.sh: error: could not install radosgw ceph-mon ceph-osd with apt-get: %s\n' \
        "$(grep -m 1 '^E:' "$aptlog" || tail -n 1 "$aptlog")" >&2 || true
      tail -n 5 "$aptlog" >&2 || true
      rm -f "$aptlog"
      exit 1
    fi
  fi
  rm -f "$aptlog"
  log "installed in $((SECONDS - t0)) s"
fi
for b in radosgw radosgw-admin ceph-mon ceph-osd monmaptool; do
  command -v "$b" >/dev/null 2>&1 || die "$b is missing after install"
done

# --- folder and ports -------------------------------------------------------

created_dir=
if [ -n "${1:-}" ]; then
  DIR=$1
  [ -e "$DIR" ] || created_dir=1
  mkdir -p "$DIR"
  [ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty"
else
  DIR=$(mktemp -d "${TMPDIR:-/tmp}/radosgw.XXXXXX")
  created_dir=1
fi
DIR=$(cd "$DIR" && pwd -P)
mkdir -p "$DIR/mon" "$DIR/osd" "$DIR/rgw" "$DIR/run" "$DIR/log"
: >"$DIR/pids"

fail() { # the reason first (callers show the first line), then the logs
  local msg=$1 f
  printf 'radosgw.sh: error: %s\n' "$msg" >&2 || true
  for f in "$DIR"/log/*.out "$DIR"/log/*.log; do
    [ -s "$f" ] || continue
    log "--- last lines of $f"
    tail -n 5 "$f" >&2 || true
  done
  if [ "${RGW_KEEP_ON_FAILURE:-}" = 1 ]; then
    kill_pids $(pids_of_dir "$DIR" | sort -un) 2>/dev/null || true
    log "kept $DIR"
  elif [ -n "$created_dir" ]; then
    stop_dir "$DIR"
  else
    kill_pids $(pids_of_dir "$DIR" | sort -un) 2>/dev/null || true
  fi
  exit 1
}
trap 'fail "interrupted"' INT TERM HUP

port_in_use() { # listening on TCP port $1 (any address)?
  if command -v ss >/dev/null 2>&1; then
    ss -Htln "sport = :$1" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}
free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    [ "$p" = "${1:-}" ] && continue
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  return 1
}
if [ -n "${RGW_PORT:-}" ]; then
  port_in_use "$RGW_PORT" && fail "RGW_PORT $RGW_PORT is already in use"
  PORT=$RGW_PORT
else
  PORT=$(free_port) || fail "no free TCP port found"
fi
MON_PORT=$(free_port "$PORT") || fail "no free TCP port found"

FSID=$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen)
CONF=$DIR/ceph.conf
cat >"$CONF" <<EOF
# written by scripts/radosgw.sh: a throwaway one-node cluster, nothing durable
[global]
fsid = $FSID
mon_host = v2:127.0.0.1:$MON_PORT
public_network = 127.0.0.1/32
# no cephx; mode crc because auth "none" cannot do the "secure" mode, the
# only one radosgw offers the monitor by default (it then hangs in auth)
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
# all state under this folder
run_dir = $DIR/run
admin_socket = $DIR/run/\$name.asok
pid_file = $DIR/run/\$name.pid
log_file = $DIR/log/\$name.log
keyring = $DIR/keyring
mon_data = $DIR/mon
osd_data = $DIR/osd
rgw_data = $DIR/rgw
crash_dir = $DIR/crash
# one OSD in RAM; pools of one replica and few placement groups
osd_objectstore = memstore
memstore_device_bytes = 1073741824
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_warn_on_pool_no_redundancy = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
# faster map updates (each new pool is a map update)
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
# fail instead of waiting minutes
client_mount_timeout = 20
rgw_init_timeout = 60
# quiet
log_to_stderr = false
err_to_stderr = true
mon_cluster_log_file = $DIR/log/cluster.log
debug_ms = 0

[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:$PORT
rgw_enable_apis = s3, admin
rgw_enable_usage_log = false
rgw_enable_ops_log = false
EOF
C=(-c "$CONF")

# with -f the daemons stay in the foreground, so $! is their pid
spawn() { # name, command...
  local name=$1; shift
  "$@" -f </dev/null >>"$DIR/log/$name.out" 2>&1 &
  echo $! >>"$DIR/pids"
  disown $!
  eval "PID_$name=$!"
}
last_words() { # the last line a daemon printed, or the last line of its log
  local out=$DIR/log/$1.out logf=$DIR/log/$2.log
  if [ -s "$out" ]; then tail -n 1 "$out"; elif [ -s "$logf" ]; then tail -n 1 "$logf"; fi
}
shown() { case $1 in mon) echo ceph-mon ;; osd) echo ceph-osd ;; rgw) echo radosgw ;; *) echo "$1" ;; esac; }
# wait_for NAME PID SECONDS COMMAND...: retries COMMAND every 0.2 s until it
# succeeds; fails as soon as the daemon PID dies or SECONDS have passed
wait_for() {
  local name=$1 pid=$2 end=$((SECONDS + $3)); shift 3
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    if [ -n "$pid" ] && ! alive "$pid"; then
      fail "$(shown "$name") exited during start-up: $(last_words "$name" "$LOGNAME_OF")"
    fi
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.2
  done
}
ceph_cli() { timeout 15 ceph "${C[@]}" --connect-timeout 10 "$@"; }
http_code() { # GET http://127.0.0.1:$PORT/ with optional curl arguments
  if command -v curl >/dev/null 2>&1; then
    curl -s -o /dev/null -m 3 -w '%{http_code}' "$@" "http://127.0.0.1:$PORT/"
  else # no curl: a bare HTTP/1.0 request through bash
    timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "GET / HTTP/1.0\r\n\r\n" >&3; head -n 1 <&3' _ "$PORT" |
      awk '{print $2}'
  fi
}

t0=$SECONDS
# --- monitor ----------------------------------------------------------------
monmaptool --create --addv a "[v2:127.0.0.1:$MON_PORT]" --fsid "$FSID" "$DIR/monmap" >"$DIR/log/mkfs.out" 2>&1 ||
  fail "monmaptool failed: $(tail -n 1 "$DIR/log/mkfs.out")"
ceph-mon "${C[@]}" --mkfs -i a --monmap "$DIR/monmap" >>"$DIR/log/mkfs.out" 2>&1 ||
  fail "ceph-mon --mkfs failed: $(tail -n 1 "$DIR/log/mkfs.out")"
spawn mon ceph-mon "${C[@]}" -i a
LOGNAME_OF=mon.a
wait_for mon "$PID_mon" "$TIMEOUT" ceph_cli mon stat || fail "the monitor did not answer within ${TIMEOUT} s"

# --- OSD (memstore: no disk) ---------------------------------------------------
OSD_ID=$(ceph_cli osd create 2>>"$DIR/log/mkfs.out") || fail "ceph osd create failed: $(tail -n 1 "$DIR/log/mkfs.out")"
[ "$OSD_ID" = 0 ] || fail "unexpected OSD id $OSD_ID"
ceph-osd "${C[@]}" -i 0 --mkfs >>"$DIR/log/mkfs.out" 2>&1 ||
  fail "ceph-osd --mkfs failed: $(tail -n 1 "$DIR/log/mkfs.out")"
spawn osd ceph-osd "${C[@]}" -i 0
LOGNAME_OF=osd.0
osd_up() { ceph_cli osd stat -f json | grep -q '"num_up_osds":1'; }
wait_for osd "$PID_osd" "$TIMEOUT" osd_up || fail "the OSD did not come up within ${TIMEOUT} s"

# --- radosgw (creates its pools itself on first start) --------------------------
spawn rgw radosgw "${C[@]}" -n client.rgw
LOGNAME_OF=client.rgw
rgw_http() { [ "$(http_code)" = 200 ]; }
wait_for rgw "$PID_rgw" "$TIMEOUT" rgw_http || fail "radosgw did not answer on 127.0.0.1:$PORT within ${TIMEOUT} s"

timeout 30 radosgw-admin "${C[@]}" user create --uid=audiencehub-test --display-name="AudienceHub tests" \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$DIR/log/user.out" 2>&1 ||
  fail "radosgw-admin user create failed: $(tail -n 1 "$DIR/log/user.out")"

# the user works: a signed ListBuckets answers 200 (radosgw wants the payload
# hash header, which curl's --aws-sigv4 does not add by itself)
if command -v curl >/dev/null 2>&1 && curl --help all 2>/dev/null | grep -q -- --aws-sigv4; then
  signed_ok() {
    [ "$(http_code --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
      -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')" = 200 ]
  }
  wait_for rgw "$PID_rgw" 20 signed_ok || fail "radosgw refuses the test user's signed requests"
fi

RGW_PIDS="$PID_mon $PID_osd $PID_rgw"
cat >"$DIR/env.tmp" <<EOF
S3_ENDPOINT=http://127.0.0.1:$PORT
S3_ACCESS_KEY=$ACCESS_KEY
S3_SECRET_KEY=$SECRET_KEY
S3_REGION=$REGION
RGW_PIDS="$RGW_PIDS"
EOF
mv "$DIR/env.tmp" "$DIR/env"
trap - INT TERM HUP
log "radosgw ready on http://127.0.0.1:$PORT in $((SECONDS - t0)) s (pids $RGW_PIDS)"
echo "$DIR/env"
