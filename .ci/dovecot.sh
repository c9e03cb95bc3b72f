#!/usr/bin/env bash
# A throwaway IMAP server (Debian's Dovecot) for the email channel's tests.
#
#   .ci/dovecot.sh [DIR]        start it (installing Debian's dovecot-imapd if needed) and print
#                               its URL as the last line of stdout
#   .ci/dovecot.sh stop [DIR]   stop it (the mailbox files stay in DIR)
#
# DIR defaults to var/dovecot in the repository; the plain IMAP port to 10143 (env IMAP_PORT),
# the IMAPS port to 10993 (env IMAPS_PORT, self-signed certificate made with openssl; set
# IMAPS_PORT=0 to leave it off). It listens on 127.0.0.1 only with a private configuration in
# DIR: the system's /etc/dovecot is never read and no system service is started. Dovecot runs
# "rootless": as the `dovecot` OS user when we are root (the package creates it), else as the
# current user. One mailbox, `support@example.test` / `support-pass` (env IMAP_USER and
# IMAP_PASSWORD), Maildir in DIR/mail; cleartext login is allowed without TLS.
# Idempotent: when the server already runs, it only prints the URL. Progress goes to stderr,
# so `FRONTLINE_TEST_IMAP_URL=$(.ci/dovecot.sh)` captures just the URL.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${IMAP_PORT:-10143}"
SPORT="${IMAPS_PORT:-10993}"
MAIL_USER="${IMAP_USER:-support@example.test}"
MAIL_PASS="${IMAP_PASSWORD:-support-pass}"
RUN_USER=dovecot

cmd=start
case "${1:-}" in
  start | stop) cmd="$1"; shift ;;
esac
DIR="${1:-$ROOT/var/dovecot}"
[ "$cmd" = stop ] || mkdir -p "$DIR"
DIR="$(cd "$DIR" 2>/dev/null && pwd || echo "$DIR")"
CONF="$DIR/dovecot.conf"
PIDFILE="$DIR/run/master.pid"

log() { echo "dovecot.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs a command as the server's owner: the dovecot OS user when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$RUN_USER" -- "$@"
  else
    "$@"
  fi
}

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

urlencode_at() { echo "${1//@/%40}"; }

print_url() {
  echo "imap://$(urlencode_at "$MAIL_USER"):$MAIL_PASS@127.0.0.1:$1"
}

if [ "$cmd" = stop ]; then
  if running; then
    pid="$(cat "$PIDFILE")"
    kill "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && die "dovecot (pid $pid) did not stop"
    log "stopped ($DIR)"
  else
    log "not running ($DIR)"
  fi
  exit 0
fi

if running; then
  running_port="$(sed -n 's/^ *port = \([0-9]*\) *# imap$/\1/p' "$CONF" 2>/dev/null || true)"
  if [ -n "$running_port" ] && [ "$running_port" != "$PORT" ]; then
    log "the server in $DIR already runs on port $running_port (not $PORT)"
    PORT="$running_port"
  fi
  print_url "$PORT"
  exit 0
fi

if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
  [ "$(id -u)" = 0 ] || die "Dovecot is not installed: sudo apt-get install dovecot-imapd"
  log "installing Debian's dovecot-imapd ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # policy-rc.d keeps the package's postinst from starting the system service.
  no_start=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    no_start=1
  fi
  apt-get install -y -qq --no-install-recommends dovecot-imapd >&2 || install_failed=1
  [ "$no_start" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ -z "${install_failed:-}" ] || die "apt-get install dovecot-imapd failed"
fi
DOVECOT="$(command -v dovecot || echo /usr/sbin/dovecot)"
version="$("$DOVECOT" --version | cut -d' ' -f1)"
case "$version" in
  2.3.*) ;;
  2.4.* | 2.5.*) ;;
  *) die "Dovecot $version: this script writes 2.3 or 2.4 configuration only" ;;
esac

if [ "$(id -u)" = 0 ]; then
  id "$RUN_USER" >/dev/null 2>&1 || die "no '$RUN_USER' OS user (the dovecot-core package creates it)"
  runuser -u "$RUN_USER" -- test -x "$DIR" \
    || die "the '$RUN_USER' user cannot enter $DIR (a parent folder is not searchable); pass another DIR"
  OWNER="$RUN_USER"
else
  OWNER="$(id -un)"
fi
OWNER_UID="$(id -u "$OWNER")"
OWNER_GID="$(id -g "$OWNER")"

mkdir -p "$DIR/run" "$DIR/state" "$DIR/mail"
[ "$(id -u)" = 0 ] && chown -R "$OWNER:" "$DIR"
chmod 0750 "$DIR/mail"

SSL_CONF=""
if [ "$SPORT" != 0 ]; then
  if [ ! -s "$DIR/cert.pem" ] || [ ! -s "$DIR/key.pem" ]; then
    if command -v openssl >/dev/null 2>&1; then
      log "making a self-signed certificate for 127.0.0.1 ..."
      openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=127.0.0.1" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$DIR/key.pem" -out "$DIR/cert.pem" >/dev/null 2>&1 \
        || { rm -f "$DIR/key.pem" "$DIR/cert.pem"; log "openssl failed: no IMAPS"; SPORT=0; }
    else
      log "no openssl: no IMAPS"
      SPORT=0
    fi
  fi
  if [ "$SPORT" != 0 ]; then
    [ "$(id -u)" = 0 ] && chown "$OWNER:" "$DIR/key.pem" "$DIR/cert.pem"
    chmod 0600 "$DIR/key.pem"
  fi
fi

printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$MAIL_USER" "$MAIL_PASS" "$OWNER_UID" "$OWNER_GID" \
  "$DIR/mail/$MAIL_USER" >"$DIR/users"
chmod 0640 "$DIR/users"

# Both listeners are always declared (port 0 turns one off) so the start-up check and the
# idempotent re-run can read the ports back from the file.
imaps_ssl="no"
[ "$SPORT" != 0 ] && imaps_ssl="yes"
case "$version" in
  2.3.*)
    [ "$SPORT" != 0 ] && SSL_CONF="ssl = yes
ssl_cert = <$DIR/cert.pem
ssl_key = <$DIR/key.pem"
    [ "$SPORT" = 0 ] && SSL_CONF="ssl = no"
    cat >"$CONF" <<EOF
# Frontline test IMAP server, written by .ci/dovecot.sh (Dovecot $version); rewritten on start.
instance_name = frontline-test-dovecot
base_dir = $DIR/run
state_dir = $DIR/state
listen = 127.0.0.1
protocols = imap
log_path = $DIR/dovecot.log
default_internal_user = $OWNER
default_internal_group = $(id -gn "$OWNER")
default_login_user = $OWNER
first_valid_uid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login
$SSL_CONF
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $DIR/users
}
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT # imap
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $SPORT # imaps
    ssl = $imaps_ssl
  }
}
service anvil {
  chroot =
}
service auth-worker {
  user = \$default_internal_user
}
EOF
    ;;
  *)
    # Dovecot 2.4 renamed most settings; written to its documentation, not tested here.
    [ "$SPORT" != 0 ] && SSL_CONF="ssl = yes
ssl_server_cert_file = $DIR/cert.pem
ssl_server_key_file = $DIR/key.pem"
    [ "$SPORT" = 0 ] && SSL_CONF="ssl = no"
    cat >"$CONF" <<EOF
dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
# Frontline test IMAP server, written by .ci/dovecot.sh (Dovecot $version); rewritten on start.
instance_name = frontline-test-dovecot
base_dir = $DIR/run
state_dir = $DIR/state
listen = 127.0.0.1
protocols = imap
log_path = $DIR/dovecot.log
default_internal_user = $OWNER
default_internal_group = $(id -gn "$OWNER")
default_login_user = $OWNER
first_valid_uid = 1
auth_allow_cleartext = yes
auth_mechanisms = plain login
$SSL_CONF
passdb passwd-file {
  passwd_file_path = $DIR/users
}
userdb passwd-file {
  passwd_file_path = $DIR/users
}
mail_driver = maildir
mail_path = ~/Maildir
namespace inbox {
  inbox = yes
  separator = /
}
service imap-login {
  chroot =
  inet_listener imap {
    listen = 127.0.0.1
    port = $PORT # imap
  }
  inet_listener imaps {
    listen = 127.0.0.1
    port = $SPORT # imaps
    ssl = $imaps_ssl
  }
}
service anvil {
  chroot =
}
service auth-worker {
  user = \$SET:default_internal_user
}
EOF
    ;;
esac
[ "$(id -u)" = 0 ] && chown "$OWNER:" "$CONF" "$DIR/users"

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
if port_open "$PORT"; then
  die "something else listens on 127.0.0.1:$PORT; set IMAP_PORT to a free port"
fi
if [ "$SPORT" != 0 ] && port_open "$SPORT"; then
  die "something else listens on 127.0.0.1:$SPORT; set IMAPS_PORT to a free port (or 0)"
fi

log "starting Dovecot $version on 127.0.0.1:$PORT$([ "$SPORT" != 0 ] && echo " (IMAPS $SPORT)") ..."
as_owner "$DOVECOT" -c "$CONF" \
  || { tail -n 20 "$DIR/dovecot.log" >&2 2>/dev/null || true; die "dovecot did not start"; }

# A greeting on the plain port means the master, the login service and auth are up.
greeting=""
for _ in $(seq 1 100); do
  if greeting="$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; head -c 4 <&3; exec 3>&-" \
      2>/dev/null)" && [ "$greeting" = "* OK" ]; then
    break
  fi
  sleep 0.1
done
if [ "$greeting" != "* OK" ]; then
  tail -n 20 "$DIR/dovecot.log" >&2 2>/dev/null || true
  die "the server in $DIR does not answer on 127.0.0.1:$PORT"
fi

print_url "$PORT"
