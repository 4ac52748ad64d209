"""Which systemd unit to enable after installing a package, decided without downloading it.

First a table of well-known servers whose unit lives in another package
(nginx's is in nginx-common) or is named otherwise. Then the units the package
ships by apt's Contents files (contents.py), when Cortex fetched them. Without
those, a guess: the debtag ``interface::daemon`` (Debian's own "this runs as a
daemon" tag) with the unit named after the package. Packages whose name says
they are parts (``-common``, ``-doc``, ``-dev``, libraries) never count. A
wrong guess costs one failed ``systemctl enable`` after a successful install,
never a wrong package.
"""

from __future__ import annotations

from cortex.packages.contents import main_unit

# Package -> unit where they differ; "" means "a daemon, but no single unit to enable" (templates, sockets).
KNOWN_UNITS: dict[str, str] = {
    "openssh-server": "ssh",
    "bind9": "named",
    "mariadb-server": "mariadb",
    "default-mysql-server": "mariadb",
    "postgresql": "postgresql",
    "docker.io": "docker",
    "samba": "smbd",
    "nfs-kernel-server": "nfs-server",
    "dovecot-core": "dovecot",
    "dovecot-imapd": "dovecot",
    "ntpsec": "ntpsec",
    "ntp": "ntpsec",
    "isc-dhcp-server": "isc-dhcp-server",
    "apache2": "apache2",
    "nginx": "nginx",
    "nginx-full": "nginx",
    "nginx-light": "nginx",
    "nginx-extras": "nginx",
    "redis-server": "redis-server",
    "redis": "redis-server",
    "openvpn": "",
    "wireguard": "",
    "wireguard-tools": "",
    "prometheus-node-exporter": "prometheus-node-exporter",
    "avahi-daemon": "avahi-daemon",
    "libvirt-daemon-system": "libvirtd",
    "network-manager": "NetworkManager",
    "lightdm": "",
    "gdm3": "",
    "sddm": "",
}
PART_SUFFIXES = ("-common", "-doc", "-dev", "-data", "-dbg", "-utils", "-client", "-tools", "-plugins")


def service_unit(name: str, section: str, tags: str, units: set[str] | None = None) -> str:
    """The unit to enable after installing ``name``, or "" when it ships none (or none worth enabling).
    ``units`` are the service units it ships by the Contents files, None when those are not there."""
    if name in KNOWN_UNITS:
        return KNOWN_UNITS[name]
    if name.startswith("lib") or name.endswith(PART_SUFFIXES) or section.startswith(("lib", "doc", "debug")):
        return ""
    if units is not None:
        return main_unit(name, units)
    return name if "interface::daemon" in tags else ""
