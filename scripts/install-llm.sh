#!/bin/sh
# cortex-llm as a system service (system mode, DESIGN section 1): llama.cpp's llama-server under systemd.
#
#   sudo scripts/install-llm.sh install MODEL THREADS CTX     write /etc/cortex/llm.env (0600) and the API key
#                                                             /etc/cortex/llm.key (0640 root:cortex), install, enable, start
#   sudo scripts/install-llm.sh configure MODEL THREADS CTX   rewrite those three settings and restart the service
#   scripts/install-llm.sh status                             the settings and the service state
#   sudo scripts/install-llm.sh uninstall                     stop and remove the unit; llm.env and models stay
#
# MODEL is a GGUF file or a model installed with 'cortex model pull' (e.g. phi-2); it is checked before
# anything is written. DESTDIR=/some/root installs into that tree instead (packaging, tests): no systemctl.
# Where systemd is not PID 1 (containers, WSL) the files are installed but nothing is started;
# run cortex-llm in user mode there: 'cortex up'.
set -eu

usage() {
    echo "usage: $0 install MODEL THREADS CTX | configure MODEL THREADS CTX | status | uninstall" >&2
    exit 2
}
[ $# -ge 1 ] || usage
ACTION=$1
shift
HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${DESTDIR:-}
UNIT_DIR="$ROOT/etc/systemd/system"
CONF_DIR="$ROOT/etc/cortex"
ENV_FILE="$CONF_DIR/llm.env"
UNIT=cortex-llm.service

say() { echo "cortex-llm install: $*"; }
die() { echo "cortex-llm install: $*" >&2; exit 1; }
systemd_is_init() { [ -z "$ROOT" ] && [ -d /run/systemd/system ]; }
need_root() { [ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "needs root: sudo $0 $ACTION ... (or run it in user mode: cortex up)"; }

find_bin() {  # find_bin NAME OVERRIDE: the override, the checkout's venv, else PATH
    if [ -n "$2" ]; then echo "$2"; return; fi
    if [ -x "$HERE/.venv/bin/$1" ]; then echo "$HERE/.venv/bin/$1"; return; fi
    command -v "$1" || die "$1 not found; run scripts/bootstrap.sh first"
}

is_count() { case $1 in '' | *[!0-9]*) return 1 ;; *) [ "$1" -ge "$2" ] && [ "$1" -le "$3" ] ;; esac; }

# check_args MODEL THREADS CTX -> MODEL_PATH: the model resolved and its GGUF header checked by 'cortex model info'.
check_args() {
    [ $# -eq 3 ] || usage
    is_count "$2" 1 256 || { echo "cortex-llm install: THREADS must be a whole number from 1 to 256, got '$2'" >&2; exit 2; }
    is_count "$3" 128 1048576 || { echo "cortex-llm install: CTX must be a whole number from 128, got '$3'" >&2; exit 2; }
    CORTEX=$(find_bin cortex "${CORTEX_BIN:-}")
    INFO=$("$CORTEX" model info "$1" --ctx "$3" --json) || exit 1  # cortex said why, in one line
    PY="$(dirname "$CORTEX")/python"
    [ -x "$PY" ] || PY=python3
    MODEL_PATH=$(printf '%s\n' "$INFO" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["path"])')
    [ -n "$MODEL_PATH" ] || die "could not read the model path from 'cortex model info $1'"
}

set_var() {  # set_var NAME VALUE: replace or add NAME=VALUE in llm.env, other lines kept, mode 0600
    tmp="$ENV_FILE.tmp"
    { grep -v "^$1=" "$ENV_FILE" 2>/dev/null || true; echo "$1=$2"; } > "$tmp"
    chmod 0600 "$tmp"
    mv "$tmp" "$ENV_FILE"
}

write_env() {
    install -d -m 0755 "$CONF_DIR"
    [ -e "$ENV_FILE" ] || printf '%s\n' "# cortex-llm settings (read by $UNIT); see 'cortex config show'." > "$ENV_FILE"
    chmod 0600 "$ENV_FILE"
    set_var CORTEX_LLM_MODEL_PATH "$MODEL_PATH"
    set_var CORTEX_LLM_THREADS "$1"
    set_var CORTEX_LLM_CTX_SIZE "$2"
    grep -q '^CORTEX_LLM_PORT=' "$ENV_FILE" || set_var CORTEX_LLM_PORT 8085
    grep -q '^CORTEX_LLM_HOST=' "$ENV_FILE" || set_var CORTEX_LLM_HOST 127.0.0.1
    say "wrote $ENV_FILE (model $MODEL_PATH, $1 threads, context $2)"
}

# The API key ([llm] api_key_file) is made here, by cortex-llm's own checks: under its unit /etc is read-only.
make_key() {
    [ -z "$ROOT" ] || return 0  # DESTDIR: the key belongs to the machine that runs the service
    getent group cortex >/dev/null || groupadd --system cortex  # as install.sh: who may use cortexd and cortex-llm
    CORTEX_MODE=system "$CORTEX_LLM" --check >/dev/null || die "cortex-llm's checks failed (see above)"
    say "API key: /etc/cortex/llm.key (root and group cortex; 'cortex config get llm.api_key_file')"
}

not_started() {
    if [ -n "$ROOT" ]; then
        say "installed into DESTDIR=$ROOT: nothing was started"
    else
        say "systemd is not PID 1 on this machine, so the service was not started."
        say "run it in user mode instead: 'cortex up' (or 'cortex llm start')"
    fi
}

do_install() {
    need_root
    check_args "$@"
    CORTEX_LLM=$(find_bin cortex-llm "${CORTEX_LLM_BIN:-}")
    write_env "$2" "$3"
    make_key
    install -d -m 0755 "$UNIT_DIR"
    sed "s#^ExecStart=.*#ExecStart=$CORTEX_LLM#" "$HERE/systemd/$UNIT" > "$UNIT_DIR/$UNIT"
    chmod 0644 "$UNIT_DIR/$UNIT"
    say "installed $UNIT_DIR/$UNIT (ExecStart=$CORTEX_LLM)"
    if systemd_is_init; then
        systemctl daemon-reload
        systemctl enable "$UNIT"
        systemctl restart "$UNIT"
        say "cortex-llm is starting: 'cortex llm status' shows when the model is loaded"
    else
        not_started
    fi
}

do_configure() {
    need_root
    check_args "$@"
    [ -e "$UNIT_DIR/$UNIT" ] || say "note: $UNIT is not installed; '$0 install' installs it"
    CORTEX_LLM=$(find_bin cortex-llm "${CORTEX_LLM_BIN:-}")
    write_env "$2" "$3"
    make_key
    if systemd_is_init && systemctl is-enabled --quiet "$UNIT" 2>/dev/null; then
        systemctl restart "$UNIT"
        say "restarted $UNIT on the new settings"
    else
        not_started
    fi
}

do_status() {
    [ $# -eq 0 ] || usage
    if [ -r "$ENV_FILE" ]; then
        echo "$ENV_FILE:"
        grep '^CORTEX_LLM_' "$ENV_FILE" | sed 's/^/  /'
    elif [ -e "$ENV_FILE" ]; then
        echo "$ENV_FILE: not readable by this user (try sudo)"
    else
        echo "$ENV_FILE: missing ('$0 install MODEL THREADS CTX' writes it)"
    fi
    if [ -e "$UNIT_DIR/$UNIT" ]; then echo "unit: $UNIT_DIR/$UNIT"; else echo "unit: not installed"; fi
    if systemd_is_init; then
        echo "service: $(systemctl is-active "$UNIT" 2>/dev/null || true)"
    else
        echo "service: systemd is not PID 1 here; in user mode see 'cortex llm status'"
    fi
}

do_uninstall() {
    [ $# -eq 0 ] || usage
    need_root
    if systemd_is_init && systemctl list-unit-files "$UNIT" >/dev/null 2>&1; then
        systemctl disable --now "$UNIT" || true
    fi
    rm -f "$UNIT_DIR/$UNIT"
    if systemd_is_init; then systemctl daemon-reload; fi
    say "removed the $UNIT unit; $ENV_FILE and the models are kept"
}

case "$ACTION" in
    install) do_install "$@" ;;
    configure) do_configure "$@" ;;
    status) do_status "$@" ;;
    uninstall) do_uninstall "$@" ;;
    *) usage ;;
esac
