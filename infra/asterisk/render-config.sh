#!/bin/sh
# Renders the platform's Asterisk configuration (the templates in conf/ beside this script,
# with @@NAME@@ placeholders: the same files the tests run Asterisk with) into
# ASTERISK_ETC_DIR from environment variables, creates the state directories, then runs the
# command it was given (in the container: Asterisk in the foreground). Without a command it
# only renders; infra/infra.test.ts runs it that way.
#
#   variable               default                  meaning
#   ARI_PASSWORD           (required)               password of the ARI user; flow-manager's ARI_PASSWORD
#   ARI_USER               asterisk                 the ARI user; flow-manager's ARI_USER
#   ARI_APP                avp                      the Stasis app inbound calls enter; flow-manager's ARI_APP
#   ARI_BIND_ADDRESS       0.0.0.0                  address of ARI's HTTP/WebSocket server (IP)
#   ARI_PORT               8088                     its port
#   RTP_START, RTP_END     10000, 10199             UDP ports of external media (RTP) legs
#   ASTERISK_PREFIX        /opt/asterisk            the Asterisk installation
#   ASTERISK_ETC_DIR       /etc/asterisk            where the rendered files go
#   ASTERISK_STATE_DIR     /var/lib/avp-asterisk    astdb, spool, run, log and media cache
#   ASTERISK_TEMPLATE_DIR  conf/ beside this script
#
# Empty values count as unset, as everywhere in the platform. A bad value stops it with
# exit status 78, like the platform's services.
set -eu

fail() {
  printf 'render-config: %s\n' "$*" >&2
  exit 78
}

ARI_PASSWORD="${ARI_PASSWORD:-}"
ARI_USER="${ARI_USER:-asterisk}"
ARI_APP="${ARI_APP:-avp}"
ARI_BIND_ADDRESS="${ARI_BIND_ADDRESS:-0.0.0.0}"
ARI_PORT="${ARI_PORT:-8088}"
RTP_START="${RTP_START:-10000}"
RTP_END="${RTP_END:-10199}"
ASTERISK_PREFIX="${ASTERISK_PREFIX:-/opt/asterisk}"
ASTERISK_ETC_DIR="${ASTERISK_ETC_DIR:-/etc/asterisk}"
ASTERISK_STATE_DIR="${ASTERISK_STATE_DIR:-/var/lib/avp-asterisk}"
ASTERISK_TEMPLATE_DIR="${ASTERISK_TEMPLATE_DIR:-$(cd "$(dirname "$0")" && pwd)/conf}"

newline='
'
# Every value goes into a config file line: a line break would start a new setting, and
# "@@" could be taken for a placeholder by a later substitution.
check_plain() {
  case "$2" in
    *"$newline"* | *@@*) fail "$1 must not contain a line break or \"@@\"" ;;
  esac
}

check_port() {
  # Digits only and at most five of them, so the shell's arithmetic below cannot overflow.
  case "$2" in
    '' | *[!0-9]* | ??????*) fail "$1 must be a port number (1-65535), got \"$2\"" ;;
  esac
  if [ "$2" -lt 1 ] || [ "$2" -gt 65535 ]; then fail "$1 must be a port number (1-65535), got \"$2\""; fi
}

# Names that end up in a section header ([user]) and in dialplan (Stasis(app)).
check_name() {
  case "$2" in
    *[!A-Za-z0-9_.-]*) fail "$1 may hold only letters, digits, \".\", \"_\" and \"-\", got \"$2\"" ;;
  esac
}

# No "." anywhere: res_http_media_cache cuts cached file names at the last dot of the whole
# path, which breaks playback of `sound:http://...` media (the platform's `talk`).
check_directory() {
  case "$2" in
    /*) ;;
    *) fail "$1 must be an absolute path, got \"$2\"" ;;
  esac
  case "$2" in
    *.* | *[[:space:]]*) fail "$1 must not contain a \".\" or a space (Asterisk's media cache breaks on dotted paths), got \"$2\"" ;;
  esac
}

[ -n "$ARI_PASSWORD" ] || fail 'ARI_PASSWORD is required: the password flow-manager gives ARI (its ARI_PASSWORD)'
for pair in "ARI_PASSWORD=$ARI_PASSWORD" "ARI_USER=$ARI_USER" "ARI_APP=$ARI_APP" "ARI_BIND_ADDRESS=$ARI_BIND_ADDRESS" \
  "ASTERISK_PREFIX=$ASTERISK_PREFIX" "ASTERISK_ETC_DIR=$ASTERISK_ETC_DIR" "ASTERISK_STATE_DIR=$ASTERISK_STATE_DIR"; do
  check_plain "${pair%%=*}" "${pair#*=}"
done
# Asterisk reads ";" as the start of a comment and trims spaces around values: either would
# leave it with another password than flow-manager's.
case "$ARI_PASSWORD" in
  *";"* | [[:space:]]* | *[[:space:]]) fail 'ARI_PASSWORD must not contain ";" nor start or end with a space' ;;
esac
check_name ARI_USER "$ARI_USER"
check_name ARI_APP "$ARI_APP"
case "$ARI_BIND_ADDRESS" in
  '' | *[!0-9A-Fa-f.:]*) fail "ARI_BIND_ADDRESS must be an IP address, got \"$ARI_BIND_ADDRESS\"" ;;
esac
check_port ARI_PORT "$ARI_PORT"
check_port RTP_START "$RTP_START"
check_port RTP_END "$RTP_END"
if [ "$RTP_START" -gt "$RTP_END" ]; then fail "RTP_START ($RTP_START) must not be above RTP_END ($RTP_END)"; fi
check_directory ASTERISK_PREFIX "$ASTERISK_PREFIX"
check_directory ASTERISK_ETC_DIR "$ASTERISK_ETC_DIR"
check_directory ASTERISK_STATE_DIR "$ASTERISK_STATE_DIR"
[ -f "$ASTERISK_TEMPLATE_DIR/asterisk.conf" ] || fail "no Asterisk templates in $ASTERISK_TEMPLATE_DIR"

# A value as a sed replacement: "\", "&" and the "|" delimiter taken literally.
literal() {
  printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'
}
prefix=$(literal "$ASTERISK_PREFIX")
etc=$(literal "$ASTERISK_ETC_DIR")
state=$(literal "$ASTERISK_STATE_DIR")
password=$(literal "$ARI_PASSWORD")

# One placeholder per expression, the password last so no other value can be rewritten by it.
render() {
  sed -e "s|@@PREFIX@@|$prefix|g" \
    -e "s|@@ETC_DIR@@|$etc|g" \
    -e "s|@@STATE_DIR@@|$state|g" \
    -e "s|@@ARI_BIND_ADDRESS@@|$ARI_BIND_ADDRESS|g" \
    -e "s|@@ARI_PORT@@|$ARI_PORT|g" \
    -e "s|@@ARI_USER@@|$ARI_USER|g" \
    -e "s|@@ARI_APP@@|$ARI_APP|g" \
    -e "s|@@RTP_START@@|$RTP_START|g" \
    -e "s|@@RTP_END@@|$RTP_END|g" \
    -e "s|@@ARI_PASSWORD@@|$password|g" \
    "$1"
}

# ari.conf holds the password: nobody but Asterisk's own user reads these files.
umask 077
# Rendered aside first, so a template with an unknown placeholder leaves nothing half done.
staging="$ASTERISK_ETC_DIR/rendering-$$"
mkdir -p "$staging"
count=0
for template in "$ASTERISK_TEMPLATE_DIR"/*.conf; do
  render "$template" >"$staging/${template##*/}"
  count=$((count + 1))
done
# A placeholder nobody fills would reach Asterisk as text: refuse, as the tests' renderer does.
if unknown=$(grep -o '@@[A-Z0-9_]*@@' "$staging"/*.conf); then
  rm -rf "$staging"
  fail "placeholders without a value:" $unknown
fi
mv -f "$staging"/*.conf "$ASTERISK_ETC_DIR/"
rmdir "$staging"
# spool/recording: Asterisk never creates it, and without it every ARI record answers 500.
mkdir -p "$ASTERISK_STATE_DIR/lib" "$ASTERISK_STATE_DIR/spool/recording" "$ASTERISK_STATE_DIR/run" "$ASTERISK_STATE_DIR/log" \
  "$ASTERISK_STATE_DIR/agi-bin" "$ASTERISK_STATE_DIR/cache"
printf 'render-config: %s files into %s (ARI on %s:%s as %s, app %s; RTP %s-%s)\n' "$count" "$ASTERISK_ETC_DIR" \
  "$ARI_BIND_ADDRESS" "$ARI_PORT" "$ARI_USER" "$ARI_APP" "$RTP_START" "$RTP_END" >&2

if [ "$#" -gt 0 ]; then exec "$@"; fi
