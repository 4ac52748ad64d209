#!/bin/sh
# Install or remove cortexd as a system service (system mode, DESIGN section 1).
#
#   sudo scripts/install.sh install     group "cortex", /etc /var/lib /var/log /run dirs, the unit, the marker,
#                                       /usr/local/bin/cortex (a link to this Cortex's CLI, for everyone)
#   sudo scripts/install.sh uninstall   stop and remove the unit, the marker and the link; configuration,
#                                       state, logs and the group stay
#   sudo scripts/install.sh purge       uninstall (cortex-llm's too), then remove /etc/cortex, /var/lib/cortex,
#                                       /var/log/cortex and the group
#
# DESTDIR=/some/root installs into that tree instead (packaging, tests): no group, no systemctl.
# Where systemd is not PID 1 (containers, WSL) the files are installed but nothing is started;
# user mode ('cortex up') is the way to run Cortex there.
set -eu

usage() { echo "usage: $0 install|uninstall|purge" >&2; exit 2; }
[ $# -eq 1 ] || usage
ACTION=$1
HERE=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${DESTDIR:-}
UNIT_DIR="$ROOT/etc/systemd/system"
CONF_DIR="$ROOT/etc/cortex"
MARKER="$CONF_DIR/installed"
CLI_LINK="$ROOT/usr/local/bin/cortex"

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
    link_cli "$(dirname "$CORTEXD")/cortex"
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

# /usr/local/bin/cortex -> the CLI beside cortexd, so root (sudo's PATH) and the group's members run the same
# Cortex as the services. A file there that is not a link to a Cortex CLI is someone else's: left alone.
link_cli() {
    [ -x "$1" ] || return 0
    if [ -e "$CLI_LINK" ] && ! is_our_link; then
        say "$CLI_LINK exists and is not a link to a Cortex CLI: left alone (the CLI is $1)"
        return 0
    fi
    install -d -m 0755 "$(dirname "$CLI_LINK")"
    ln -sfn "$1" "$CLI_LINK"
    say "linked $CLI_LINK -> $1"
}

is_our_link() { [ -L "$CLI_LINK" ] && [ -e "$(dirname "$(readlink "$CLI_LINK")")/cortexd" ]; }

do_uninstall() {
    [ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "needs root: sudo $0 uninstall"
    if systemd_is_init && systemctl list-unit-files cortexd.service >/dev/null 2>&1; then
        systemctl disable --now cortexd.service || true
    fi
    rm -f "$UNIT_DIR/cortexd.service" "$MARKER"
    if is_our_link; then rm -f "$CLI_LINK"; fi
    if systemd_is_init; then systemctl daemon-reload; fi
    say "removed the cortexd unit and $CLI_LINK; configuration ($CONF_DIR), state ($ROOT/var/lib/cortex)," \
        "logs ($ROOT/var/log/cortex) and the group cortex are kept ('$0 purge' removes them)"
}

do_purge() {
    [ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "needs root: sudo $0 purge"
    if [ -e "$UNIT_DIR/cortex-llm.service" ]; then "$HERE/scripts/install-llm.sh" uninstall; fi
    do_uninstall
    rm -rf "$CONF_DIR" "$ROOT/var/lib/cortex" "$ROOT/var/log/cortex" "$ROOT/run/cortex"
    if [ -z "$ROOT" ] && getent group cortex >/dev/null; then groupdel cortex; fi
    say "purged: $CONF_DIR, $ROOT/var/lib/cortex (models, alerts, history), $ROOT/var/log/cortex and the group cortex"
}

case "$ACTION" in
    install) do_install ;;
    uninstall) do_uninstall ;;
    purge) do_purge ;;
    *) usage ;;
esac
