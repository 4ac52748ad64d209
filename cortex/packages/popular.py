"""A popularity prior: widely used Debian programs, standing in for popcon data apt does not ship.

The ranking needs to know that ``gimp`` is the image editor people mean and
``bind9`` the DNS server, but apt's lists carry no usage figures (Debian's
popularity contest is a separate download). This list is the mainstream choice
in each common kind of software, as an experienced Debian user would name it.
It is only a ranking signal: a package on it still has to match the request's
words, and names missing from the index are ignored.
"""

from __future__ import annotations

# fmt: off
POPULAR = frozenset({
    # servers and network services
    "nginx", "apache2", "lighttpd", "caddy", "haproxy", "varnish", "squid", "tinyproxy", "bind9", "dnsmasq",
    "unbound", "openssh-server", "openssh-client", "vsftpd", "proftpd-core", "pure-ftpd", "postfix", "exim4",
    "dovecot-imapd", "dovecot-core", "opendkim", "spamassassin", "samba", "nfs-kernel-server", "nfs-common",
    "isc-dhcp-server", "kea", "chrony", "ntpsec", "openvpn", "wireguard", "wireguard-tools", "strongswan",
    "fail2ban", "ufw", "nftables", "iptables", "firewalld", "mariadb-server", "postgresql", "default-mysql-server",
    "redis-server", "memcached", "mongodb", "sqlite3", "mosquitto", "rabbitmq-server", "docker.io", "podman",
    "containerd", "lxc", "lxd", "qemu-system-x86", "qemu-kvm", "virt-manager", "libvirt-daemon-system", "virtualbox",
    "prometheus", "prometheus-node-exporter", "grafana", "zabbix-agent", "nagios4", "munin", "monit", "icinga2",
    "tigervnc-standalone-server", "x11vnc", "xrdp", "cups", "avahi-daemon", "slapd", "freeradius", "tor",
    "transmission-daemon", "syncthing", "nextcloud-desktop", "gitlab-runner", "jenkins", "tomcat10", "openjdk-17-jdk",
    "php", "php-fpm", "nodejs", "npm", "certbot", "clamav", "clamav-daemon", "rkhunter", "chkrootkit", "lynis",
    "aide", "auditd", "apparmor", "sshguard", "knockd", "rsyslog", "logrotate", "cron", "anacron", "at", "snapd",
    "flatpak", "keepalived", "corosync", "pacemaker", "glusterfs-server", "ceph", "minio", "etcd-server",
    "influxdb", "elasticsearch", "kafka", "zookeeper", "asterisk", "coturn", "openldap",
    # command-line tools
    "git", "subversion", "mercurial", "curl", "wget", "aria2", "rsync", "rclone", "htop", "btop", "atop", "glances",
    "iotop", "iftop", "nethogs", "nload", "vnstat", "bmon", "iptraf-ng", "tcpdump", "wireshark", "tshark", "nmap",
    "netcat-openbsd", "socat", "mtr", "traceroute", "whois", "dnsutils", "bind9-dnsutils", "net-tools", "iproute2",
    "ethtool", "iperf3", "speedtest-cli", "tmux", "screen", "byobu", "vim", "neovim", "emacs", "nano", "micro",
    "zsh", "fish", "bash-completion", "tree", "ncdu", "gdu", "duf", "ripgrep", "silversearcher-ag", "fd-find", "fzf",
    "bat", "jq", "yq", "xmlstarlet", "mc", "ranger", "nnn", "vifm", "p7zip-full", "unzip", "zip", "unrar-free",
    "zstd", "xz-utils", "pigz", "borgbackup", "restic", "duplicity", "rsnapshot", "timeshift", "deja-dup",
    "smartmontools", "hdparm", "nvme-cli", "lm-sensors", "sysstat", "dstat", "powertop", "tlp", "neofetch",
    "inxi", "hwinfo", "lshw", "dmidecode", "fdupes", "rdfind", "jdupes", "parted", "gdisk", "gparted", "lvm2",
    "mdadm", "cryptsetup", "testdisk", "ddrescue", "gddrescue", "fio", "stress-ng", "strace", "ltrace", "gdb",
    "valgrind", "build-essential", "gcc", "g++", "clang", "make", "cmake", "ninja-build", "meson", "autoconf",
    "pkg-config", "python3", "python3-pip", "python3-venv", "python3-dev", "pipx", "default-jdk", "default-jre",
    "maven", "gradle", "golang-go", "rustc", "cargo", "ruby", "perl", "lua5.4", "ghc", "r-base", "octave",
    "shellcheck", "pandoc", "texlive", "texlive-latex-extra", "texlive-full", "imagemagick", "graphicsmagick",
    "ffmpeg", "sox", "youtube-dl", "yt-dlp", "mpv", "cmus", "moc", "irssi", "weechat", "mutt", "neomutt",
    "lynx", "w3m", "elinks", "links2", "newsboat", "pass", "gnupg", "age", "openssl", "sudo", "ansible",
    "terraform", "kubectl", "awscli", "sshfs", "autossh", "mosh", "expect", "parallel",
    "entr", "inotify-tools", "watchdog", "etckeeper", "needrestart", "unattended-upgrades", "apt-transport-https",
    "debsums", "apt-file", "aptitude", "synaptic", "gdebi", "ccache", "cowsay", "fortune-mod", "sl", "figlet",
    "toilet", "asciinema", "tig", "git-lfs", "meld", "diffutils", "colordiff", "wdiff", "dos2unix", "recode",
    "enca", "exiftool", "libimage-exiftool-perl", "mediainfo", "qpdf", "poppler-utils", "ghostscript", "ocrmypdf",
    "tesseract-ocr", "aspell", "hunspell", "translate-shell", "calcurse", "taskwarrior", "bc", "units", "qalc",
    # desktop programs
    "firefox-esr", "chromium", "thunderbird", "evolution", "claws-mail", "geary", "libreoffice", "gimp", "krita", "inkscape", "blender", "darktable", "rawtherapee", "shotwell",
    "digikam", "eog", "ristretto", "feh", "sxiv", "gthumb", "vlc", "smplayer", "totem", "celluloid", "kdenlive",
    "shotcut", "openshot-qt", "pitivi", "handbrake", "obs-studio", "simplescreenrecorder", "kazam",
    "vokoscreen-ng", "peek", "audacity", "ardour", "lmms", "musescore3", "rhythmbox", "audacious", "clementine",
    "strawberry", "quodlibet", "lollypop", "elisa", "evince", "okular", "zathura", "mupdf",
    "atril", "xournalpp", "calibre", "foliate", "keepassxc", "keepass2", "seahorse", "flameshot", "shutter",
    "gnome-screenshot", "ksnip", "scrot", "maim", "xfce4-screenshooter", "transmission-gtk", "transmission-qt",
    "qbittorrent", "deluge", "filezilla", "remmina", "gitg", "git-cola", "gitk", "git-gui", "gnome-terminal",
    "konsole", "terminator", "tilix", "kitty", "alacritty", "xterm", "gedit", "kate", "mousepad", "geany",
    "code", "pluma", "nautilus", "dolphin", "thunar", "pcmanfm", "nemo", "gnome-disk-utility", "baobab", "filelight",
    "gnome-system-monitor", "ksysguard", "hardinfo", "virt-viewer", "hexchat", "pidgin", "konversation",
    "telegram-desktop", "gnome-calculator", "kcalc", "galculator",
    "gnome-calendar", "gnucash", "homebank", "kmymoney", "scribus", "dia", "freecad", "librecad", "kicad",
    "fritzing", "openscad", "meshlab", "stellarium", "marble", "gnome-maps", "zim", "cherrytree", "joplin",
    "xpdf", "qpdfview", "pdfarranger", "pdfsam", "cheese", "guvcview", "kodi", "steam-installer", "wine",
    "playonlinux", "dosbox", "retroarch", "supertuxkart", "0ad", "minetest", "gnome-tweaks", "dconf-editor",
    "redshift", "gammastep", "caffeine", "plank", "conky", "variety", "nitrogen", "rofi", "dmenu", "i3", "sway",
    "xfce4", "task-gnome-desktop", "task-kde-desktop", "task-xfce-desktop", "lightdm", "gdm3", "sddm",
    "network-manager", "blueman", "pavucontrol", "pulseaudio", "pipewire", "easyeffects", "bleachbit",
    "clamtk", "gufw", "gsmartcontrol", "usb-creator-gtk", "gnome-boxes", "virtualbox-qt",
})
# fmt: on
