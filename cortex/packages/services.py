"""Which systemd unit a package ships, decided without downloading it.

apt's lists do not say which files a package contains (the Contents files are
not fetched by default), so the signal is: a table of well-known servers whose
unit name differs from the package name, else the package's debtag
``interface::daemon`` (Debian's own "this runs as a daemon" tag) with the unit
named after the package. Packages whose name says they are parts (``-common``,
``-doc``, ``-dev``, libraries) never count. A wrong guess costs one failed
``systemctl enable`` after a successful install, never a wrong package.
"""

from __future__ import annotations

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


def service_unit(name: str, section: str, tags: str) -> str:
    """The unit to enable after installing ``name``, or "" when it ships none (or none worth enabling)."""
    if name in KNOWN_UNITS:
        return KNOWN_UNITS[name]
    if name.startswith("lib") or name.endswith(PART_SUFFIXES) or section.startswith(("lib", "doc", "debug")):
        return ""
    return name if "interface::daemon" in tags else ""
