#!/bin/sh
# Install or remove cortexd as a system service (system mode, DESIGN section 1).
#
#   sudo scripts/install.sh install     group "cortex", /etc /var/lib /var/log /run dirs, the unit, the marker
#   sudo scripts/install.sh uninstall   stop and remove the unit and the marker; configuration and state stay
#
# DESTDIR=/some/root installs into that tree instead (packaging, tests): no group, no systemctl.
# Where systemd is not PID 1 (containers, WSL) the files are installed but nothing is started;
# user mode ('cortex up') is the way to run Cortex there.
set -eu

usage() { echo "usage: $0 install|uninstall" >&2; exit 2; }
[ $# -eq 1 ] || usage
ACTION=$1
HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${DESTDIR:-}
UNIT_DIR="$ROOT/etc/systemd/system"
CONF_DIR="$ROOT/etc/cortex"
MARKER="$CONF_DIR/installed"

say() { echo "cortex install: $*"; }
die() { echo "cortex install: $*" >&2; exit 1; }

systemd_is_init() { [ -z "$ROOT" ] && [ -d /run/systemd/system ]; }

find_cortexd() {
    if [ -n "${CORTEXD_BIN:-}" ]; then echo "$CORTEXD_BIN"; return; fi
    if [ -x "$HERE/.venv/bin/cortexd" ]; then echo "$HERE/.venv/bin/cortexd"; return; fi
    command -v cortexd || die "cortexd not found; run scripts/bootstrap.sh first or set CORTEXD_BIN"
}

do_install() {
    [ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "needs root: sudo $0 install (or run Cortex in user mode: cortex up)"
    CORTEXD=$(find_cortexd)
    if [ -z "$ROOT" ]; then
        getent group cortex >/dev/null || groupadd --system cortex
        say "group cortex: add users who may talk to cortexd (usermod -aG cortex NAME)"
        GROUP=cortex
    else
        GROUP=$(id -gn)
    fi
    install -d -m 0755 "$CONF_DIR" "$UNIT_DIR"
    install -d -m 0750 -g "$GROUP" "$ROOT/var/lib/cortex" "$ROOT/var/log/cortex"
    [ -e "$CONF_DIR/daemon.conf" ] || printf '%s\n' \
        "# cortexd settings: see 'cortex config show' for every key, its value and its source." \
        "[daemon]" "# log_level: info" "" "[llm]" "# base_url: http://127.0.0.1:8085" > "$CONF_DIR/daemon.conf"
    sed "s#/usr/local/bin/cortexd#$CORTEXD#" "$HERE/systemd/cortexd.service" > "$UNIT_DIR/cortexd.service"
    chmod 0644 "$UNIT_DIR/cortexd.service"
    echo "installed by scripts/install.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$MARKER"
    say "installed $UNIT_DIR/cortexd.service (ExecStart=$CORTEXD)"
    if systemd_is_init; then
        systemctl daemon-reload
        systemctl enable --now cortexd.service
        say "cortexd is running: 'cortex daemon status'"
    elif [ -n "$ROOT" ]; then
        say "installed into DESTDIR=$ROOT: nothing was started"
    else
        say "systemd is not PID 1 on this machine, so the service was not started."
        say "run Cortex in user mode instead: 'cortex up' (or 'scripts/install.sh uninstall' to undo)"
    fi
}

do_uninstall() {
    [ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "needs root: sudo $0 uninstall"
    if systemd_is_init && systemctl list-unit-files cortexd.service >/dev/null 2>&1; then
        systemctl disable --now cortexd.service || true
    fi
    rm -f "$UNIT_DIR/cortexd.service" "$MARKER"
    if systemd_is_init; then systemctl daemon-reload; fi
    say "removed the cortexd unit; configuration ($CONF_DIR) and state ($ROOT/var/lib/cortex) are kept"
}

case "$ACTION" in
    install) do_install ;;
    uninstall) do_uninstall ;;
    *) usage ;;
esac
