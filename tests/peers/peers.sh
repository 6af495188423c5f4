#!/usr/bin/env bash
# Real counterparts for the provider tests, on 127.0.0.1 only:
#   Prism mock of Twilio's official OpenAPI document   http://127.0.0.1:4010
#   Prism mock of SendGrid's official OpenAPI document  http://127.0.0.1:4011  (no /v3 prefix)
#   MailDev: SMTP with AUTH (user u, password p)        127.0.0.1:1025, HTTP API http://127.0.0.1:1080
#   the `twilio` Python package (RequestValidator)       $PEERS/venv/bin/python
#
# Usage: tests/peers/peers.sh install|start|launch|wait|stop|status|env
#   install  installs what is missing into $PEERS (${XDG_CACHE_HOME:-$HOME/.cache}/hearth-peers):
#            npm packages from tests/peers/package.json and a Python venv with twilio. Idempotent.
#   start    install, start every server in the background (PIDs in $PEERS/run), wait for the ports,
#            and print the variables the tests read (also in $PEERS/run/env).
#   launch   the first half of start (returns at once); `wait` is the second: CI launches the peers
#            before the lints and waits for them before the tests.
#   stop     stops the servers this script started, by their saved PIDs.
#   env      prints `export …` lines for the tests: eval "$(tests/peers/peers.sh env)".
#
# The OpenAPI documents in this folder are MIT-licensed copies from twilio/twilio-oai and
# sendgrid/sendgrid-oai (see README.md here).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PEERS="${HEARTH_PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/hearth-peers}"
run="$PEERS/run"
TWILIO_PORT=4010 SENDGRID_PORT=4011 SMTP_PORT=1025 MAILDEV_WEB_PORT=1080
TWILIO_VERSION="9.13.0"

log() { printf 'peers: %s\n' "$*" >&2; }

install() {
  mkdir -p "$PEERS/node" "$run"
  if ! cmp -s "$here/package.json" "$PEERS/node/package.json" \
     || [ ! -x "$PEERS/node/node_modules/.bin/prism" ] || [ ! -x "$PEERS/node/node_modules/.bin/maildev" ]; then
    command -v npm >/dev/null || { log "npm is missing: apt-get install -y nodejs npm"; exit 1; }
    cp "$here/package.json" "$PEERS/node/package.json"
    log "npm install (prism, maildev) into $PEERS/node"
    (cd "$PEERS/node" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  if ! "$PEERS/venv/bin/python" -c "import twilio, sys; sys.exit(twilio.__version__ != '$TWILIO_VERSION')" 2>/dev/null; then
    log "python venv with twilio==$TWILIO_VERSION into $PEERS/venv"
    python3 -m venv "$PEERS/venv"
    "$PEERS/venv/bin/pip" install -q "twilio==$TWILIO_VERSION"
  fi
}

# start_one NAME PORT COMMAND…: starts the server itself in the background (not a subshell around it,
# whose PID would be the wrong one to stop) and records its PID.
start_one() {
  local name=$1 port=$2; shift 2
  if port_open "$port"; then
    log "$name: port $port already answers; not starting another"
    return
  fi
  nohup "$@" >"$run/$name.log" 2>&1 &
  echo $! >"$run/$name.pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local name=$1 port=$2 deadline=$(( $(date +%s) + ${HEARTH_PEERS_TIMEOUT:-120} ))
  until port_open "$port"; do
    if [ -f "$run/$name.pid" ] && ! kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then
      log "$name exited; its log:"; tail -20 "$run/$name.log" >&2; return 1
    fi
    [ "$(date +%s)" -lt "$deadline" ] || { log "$name: port $port not open in time"; return 1; }
    sleep 0.5
  done
  log "$name listening on 127.0.0.1:$port"
}

env_lines() {
  cat <<EOF
export HEARTH_TEST_PEERS=1
export HEARTH_TEST_TWILIO_MOCK=http://127.0.0.1:$TWILIO_PORT
export HEARTH_TEST_SENDGRID_MOCK=http://127.0.0.1:$SENDGRID_PORT
export HEARTH_TEST_SMTP=127.0.0.1:$SMTP_PORT
export HEARTH_TEST_MAILDEV_API=http://127.0.0.1:$MAILDEV_WEB_PORT
export HEARTH_TEST_TWILIO_PYTHON=$PEERS/venv/bin/python
EOF
}

launch() {
  install
  local bin="$PEERS/node/node_modules/.bin"
  # All three at once: Prism needs ~20 s to read a 2 MB document.
  start_one prism-twilio $TWILIO_PORT "$bin/prism" mock -h 127.0.0.1 -p $TWILIO_PORT "$here/twilio_api_v2010.json"
  start_one prism-sendgrid $SENDGRID_PORT "$bin/prism" mock -h 127.0.0.1 -p $SENDGRID_PORT "$here/sendgrid_oai.json"
  start_one maildev $SMTP_PORT "$bin/maildev" -s $SMTP_PORT --ip 127.0.0.1 -w $MAILDEV_WEB_PORT --web-ip 127.0.0.1 \
    --incoming-user u --incoming-pass p
}

wait_all() {
  wait_port prism-twilio $TWILIO_PORT
  wait_port prism-sendgrid $SENDGRID_PORT
  wait_port maildev $SMTP_PORT
  wait_port maildev $MAILDEV_WEB_PORT
  env_lines >"$run/env"
  env_lines
}

stop() {
  for f in "$run"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      log "stopped $(basename "$f" .pid) ($pid)"
    fi
    rm -f "$f"
  done
}

status() {
  for p in $TWILIO_PORT $SENDGRID_PORT $SMTP_PORT $MAILDEV_WEB_PORT; do
    if port_open "$p"; then echo "127.0.0.1:$p up"; else echo "127.0.0.1:$p down"; fi
  done
}

case "${1:-}" in
  install) install ;;
  launch) launch ;;
  wait) wait_all ;;
  start) launch; wait_all ;;
  stop) stop ;;
  status) status ;;
  env) env_lines ;;
  *) echo "usage: $0 install|start|launch|wait|stop|status|env" >&2; exit 2 ;;
esac
