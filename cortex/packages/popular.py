"""A popularity prior: widely used Debian programs, standing in for popcon data apt does not ship.

The ranking needs to know that ``gimp`` is the image editor people mean and
``bind9`` the DNS server, but apt's lists carry no usage figures (Debian's
popularity contest is a separate download). This list is the mainstream choice
in each common kind of software, as an experienced Debian user would name it.
It is only a ranking signal: a package on it still has to match the request's
words, and names missing from the index are ignored.
"""

from __future__ import annotations

# The default pick of each kind, the one most Debian users reach for first (gimp among image editors, wget
# among downloaders, valgrind for memory errors). A stronger prior than POPULAR, which also lists the good
# alternatives: when several mainstream programs fit a request about equally, this is the tie-breaker.
# fmt: off
DEFAULTS = frozenset({
    # services
    "nginx", "apache2", "bind9", "unbound", "dnsmasq", "postfix", "dovecot-imapd", "postgresql", "mariadb-server",
    "sqlite3", "redis-server", "mosquitto", "rabbitmq-server", "prosody", "openssh-server", "vsftpd", "samba",
    "nfs-kernel-server", "isc-dhcp-server", "chrony", "wireguard", "openvpn", "ufw", "nftables", "fail2ban",
    "squid", "haproxy", "docker.io", "podman", "qemu-system-x86", "virt-manager", "prometheus", "zabbix-agent",
    "nagios4", "monit", "cups", "slapd", "freeradius", "tor", "certbot", "clamav", "rkhunter", "lynis",
    "tigervnc-standalone-server", "xrdp", "transmission-daemon", "syncthing", "gitolite3", "memcached",
    # languages and development
    "nodejs", "npm", "default-jdk", "python3", "python3-pip", "python3-venv", "golang-go", "rustc", "cargo",
    "build-essential", "gcc", "g++", "clang", "make", "cmake", "gdb", "valgrind", "strace", "shellcheck",
    "pylint", "flake8", "black", "git", "tig", "meld", "php", "ruby", "perl", "lua5.4", "ghc", "r-base",
    "octave", "geany", "spyder", "thonny", "qtcreator", "arduino", "kicad", "ngspice", "jupyter-notebook",
    "sqlitebrowser", "postgresql-client", "mariadb-client", "ansible", "docker-compose", "hugo",
    # command-line tools
    "curl", "wget", "aria2", "rsync", "rclone", "htop", "btop", "glances", "iotop", "iftop", "nethogs",
    "vnstat", "sysstat", "tcpdump", "wireshark", "nmap", "mtr", "traceroute", "iperf3", "netcat-openbsd",
    "dnsutils", "whois", "tmux", "screen", "vim", "neovim", "emacs", "nano", "zsh", "fish", "tree", "ncdu",
    "ripgrep", "fzf", "bat", "jq", "mc", "ranger", "p7zip-full", "unzip", "zip", "zstd", "borgbackup", "restic",
    "timeshift", "smartmontools", "lm-sensors", "powertop", "tlp", "neofetch", "inxi", "lshw", "fdupes",
    "parted", "gparted", "testdisk", "gddrescue", "cryptsetup", "gnupg", "pass", "stress-ng", "fio", "sysbench",
    "imagemagick", "ffmpeg", "sox", "yt-dlp", "pandoc", "texlive", "tesseract-ocr", "ocrmypdf", "poppler-utils",
    "qpdf", "irssi", "weechat", "mutt", "newsboat", "cmus", "mpv", "lnav", "goaccess",
    "apache2-utils", "bc", "lynx", "w3m", "asciinema", "hyperfine",
    # desktop programs
    "firefox-esr", "chromium", "thunderbird", "libreoffice", "gimp", "inkscape", "krita", "darktable", "shotwell",
    "digikam", "blender", "vlc", "kdenlive", "shotcut", "handbrake", "obs-studio", "simplescreenrecorder",
    "audacity", "ardour", "lmms", "musescore3", "rhythmbox", "evince", "okular", "calibre", "foliate",
    "keepassxc", "flameshot", "transmission-gtk", "qbittorrent", "filezilla", "remmina", "gnome-terminal",
    "konsole", "xterm", "terminator", "gedit", "kate", "nautilus", "thunar", "dolphin", "gnome-disk-utility",
    "baobab", "gnome-system-monitor", "hexchat", "pidgin", "gnome-calculator", "dia", "freecad", "librecad",
    "openscad", "stellarium", "gnuchess", "xboard", "supertuxkart", "0ad", "minetest", "wine", "dosbox",
    "cheese", "simple-scan", "pavucontrol", "blueman", "network-manager", "redshift", "xfce4",
    "task-gnome-desktop", "task-kde-desktop", "task-xfce-desktop", "fonts-dejavu", "fonts-liberation",
    "fonts-noto", "fonts-firacode", "fonts-hack", "zim", "cherrytree", "freeplane", "gnucash", "clamtk",
    "gufw", "bleachbit", "gsmartcontrol",
})
# fmt: on

# fmt: off
POPULAR = DEFAULTS | frozenset({
    # servers and network services
    "nginx", "apache2", "lighttpd", "caddy", "haproxy", "varnish", "squid", "tinyproxy", "bind9", "dnsmasq",
    "unbound", "openssh-server", "openssh-client", "vsftpd", "proftpd-core", "pure-ftpd", "postfix", "exim4",
    "dovecot-imapd", "dovecot-core", "opendkim", "spamassassin", "samba", "nfs-kernel-server", "nfs-common",
    "isc-dhcp-server", "kea", "chrony", "ntpsec", "openvpn", "wireguard", "wireguard-tools", "strongswan",
    "fail2ban", "ufw", "nftables", "iptables", "firewalld", "mariadb-server", "postgresql", "default-mysql-server",
    "redis-server", "memcached", "mongodb", "sqlite3", "mosquitto", "rabbitmq-server", "docker.io", "podman",
    "containerd", "lxc", "lxd", "qemu-system-x86", "qemu-kvm", "virt-manager", "libvirt-daemon-system",
    "virtualbox", "prometheus", "prometheus-node-exporter", "grafana", "zabbix-agent", "nagios4", "munin", "monit",
    "icinga2", "tigervnc-standalone-server", "x11vnc", "xrdp", "cups", "slapd", "freeradius", "tor",
    "transmission-daemon", "syncthing", "nextcloud-desktop", "gitlab-runner", "jenkins", "tomcat10",
    "openjdk-17-jdk", "php", "php-fpm", "nodejs", "npm", "certbot", "clamav", "clamav-daemon", "rkhunter",
    "chkrootkit", "lynis", "aide", "auditd", "apparmor", "sshguard", "knockd", "rsyslog", "logrotate", "cron",
    "anacron", "at", "snapd", "flatpak", "keepalived", "corosync", "pacemaker", "glusterfs-server", "ceph", "minio",
    "etcd-server", "influxdb", "elasticsearch", "kafka", "zookeeper", "asterisk", "coturn", "openldap",
    # command-line tools
    "git", "subversion", "mercurial", "curl", "wget", "aria2", "rsync", "rclone", "htop", "btop", "atop", "glances",
    "iotop", "iftop", "nethogs", "nload", "vnstat", "bmon", "iptraf-ng", "tcpdump", "wireshark", "tshark", "nmap",
    "netcat-openbsd", "socat", "mtr", "traceroute", "whois", "dnsutils", "bind9-dnsutils", "net-tools", "iproute2",
    "ethtool", "iperf3", "speedtest-cli", "tmux", "screen", "byobu", "vim", "neovim", "emacs", "nano", "micro",
    "zsh", "fish", "bash-completion", "tree", "ncdu", "gdu", "duf", "ripgrep", "silversearcher-ag", "fd-find",
    "fzf", "bat", "jq", "yq", "xmlstarlet", "mc", "ranger", "nnn", "vifm", "p7zip-full", "unzip", "zip",
    "unrar-free", "zstd", "xz-utils", "pigz", "borgbackup", "restic", "duplicity", "rsnapshot", "timeshift",
    "deja-dup", "smartmontools", "hdparm", "nvme-cli", "lm-sensors", "sysstat", "dstat", "powertop", "tlp",
    "neofetch", "inxi", "hwinfo", "lshw", "dmidecode", "fdupes", "rdfind", "jdupes", "parted", "gdisk", "gparted",
    "lvm2", "mdadm", "cryptsetup", "testdisk", "ddrescue", "gddrescue", "fio", "stress-ng", "strace", "ltrace",
    "gdb", "valgrind", "build-essential", "gcc", "g++", "clang", "make", "cmake", "ninja-build", "meson",
    "autoconf", "pkg-config", "python3", "python3-pip", "python3-venv", "python3-dev", "pipx", "default-jdk",
    "default-jre", "maven", "gradle", "golang-go", "rustc", "cargo", "ruby", "perl", "lua5.4", "ghc", "r-base",
    "octave", "shellcheck", "pandoc", "texlive", "texlive-latex-extra", "texlive-full", "imagemagick",
    "graphicsmagick", "ffmpeg", "sox", "youtube-dl", "yt-dlp", "mpv", "cmus", "moc", "irssi", "weechat", "mutt",
    "neomutt", "lynx", "w3m", "elinks", "links2", "newsboat", "pass", "gnupg", "age", "openssl", "sudo", "ansible",
    "terraform", "kubectl", "awscli", "sshfs", "autossh", "mosh", "expect", "parallel", "entr", "inotify-tools",
    "watchdog", "etckeeper", "needrestart", "unattended-upgrades", "apt-transport-https", "debsums", "apt-file",
    "aptitude", "synaptic", "gdebi", "ccache", "cowsay", "fortune-mod", "sl", "figlet", "toilet", "asciinema",
    "tig", "git-lfs", "meld", "diffutils", "colordiff", "wdiff", "dos2unix", "recode", "enca", "exiftool",
    "libimage-exiftool-perl", "mediainfo", "qpdf", "poppler-utils", "ghostscript", "ocrmypdf", "tesseract-ocr",
    "aspell", "hunspell", "translate-shell", "calcurse", "taskwarrior", "bc", "units", "qalc",
    # more command-line tools
    "lftp", "ncftp", "hexedit", "lnav", "multitail", "logwatch", "httpie", "lsof", "psmisc", "procps", "telnet",
    "iputils-ping", "tcptraceroute", "ngrep", "arp-scan", "pv", "moreutils", "file", "less", "ack", "cloc",
    "hyperfine", "miller", "csvkit", "pgcli", "mycli", "redis-tools", "mariadb-client", "postgresql-client",
    "nvtop", "s-tui", "stress", "memtester", "psensor", "cpufrequtils", "linux-cpupower", "pciutils", "usbutils",
    "cmatrix", "dfc", "pydf", "iperf", "mtr-tiny", "aircrack-ng", "john", "hashcat", "hydra", "sqlmap", "nikto",
    "unhide", "debsecan", "apt-listchanges", "molly-guard", "sshpass", "keychain", "pwgen", "ccrypt", "gocryptfs",
    "encfs", "zulucrypt-gui", "secure-delete", "wipe", "foremost", "dosfstools", "exfatprogs", "ntfs-3g",
    "btrfs-progs", "xfsprogs", "ioping", "sysbench", "glmark2", "mesa-utils", "radeontop", "eza", "zoxide", "tldr",
    "ncal", "bsdextrautils", "xxd", "rename", "mmv", "goaccess", "ccze", "logcheck", "swaks", "mailutils", "s-nail",
    "fetchmail", "getmail6", "offlineimap", "isync", "msmtp", "ssmtp", "uptimed", "nagios-plugins-contrib",
    "monitoring-plugins", "smokeping", "vnstati", "darkhttpd", "webfs", "mini-httpd", "apache2-utils", "siege",
    "wrk", "httperf", "nghttp2-client", "ab", "netperf", "nuttcp", "qperf", "wondershaper", "trickle", "tinc",
    "zerotier-one", "openconnect", "network-manager-openvpn", "openresolv", "resolvconf", "dnscrypt-proxy",
    "stubby", "knot", "nsd", "powerdns", "pdns-recursor", "isc-dhcp-client", "kea-dhcp4-server", "udhcpd", "radvd",
    "hostapd", "iw", "wireless-tools", "wpasupplicant", "rfkill", "bluez", "bluez-tools", "gitolite3", "cgit",
    "gitweb", "docker-compose", "buildah", "skopeo", "runc", "vagrant", "ansible-lint", "puppet", "salt-minion",
    "chef", "streamlink", "gallery-dl", "wget2", "axel", "uget", "persepolis", "jdownloader", "jpegoptim",
    "optipng", "pngquant", "gifsicle", "webp", "exiv2", "jhead", "converseen", "unoconv", "pdftk", "pdfgrep",
    "img2pdf", "zbar-tools", "qrencode", "espeak-ng", "festival", "mbrola",
    # more desktop programs
    "gnome-sound-recorder", "audio-recorder", "sound-juicer", "asunder", "brasero", "k3b", "xfburn", "easytag",
    "picard", "puddletag", "kid3", "soundconverter", "gnome-music", "freeplane", "vym", "liferea", "akregator",
    "quiterss", "rssguard", "gnome-connections", "krdc", "tigervnc-viewer", "freerdp2-x11", "gnome-multi-writer",
    "mintstick", "ghex", "okteta", "bless", "gwenview", "nomacs", "geeqie", "viewnior", "gpicview", "lutris",
    "i3-wm", "awesome", "bspwm", "xmonad", "herbstluftwm", "qtile", "openbox", "fluxbox", "icewm", "xfce4-terminal",
    "lxterminal", "rxvt-unicode", "tilda", "guake", "yakuake", "cool-retro-term", "evolution", "kmail", "sylpheed",
    "balsa", "gnote", "tomboy-ng", "xournalpp", "rnote", "drawing", "kolourpaint", "mypaint", "pinta", "tuxpaint",
    "gnome-paint", "synfigstudio", "natron", "flowblade", "olive-editor", "avidemux", "mkvtoolnix-gui",
    "mediainfo-gui", "subtitleeditor", "gaupol", "aegisub", "kazam", "recordmydesktop", "screenkey", "gromit-mpx",
    "obs-studio", "guvcview", "webcamoid", "kamoso", "jami", "linphone", "mumble", "qtox", "gajim", "dino-im",
    "psi", "quassel", "polari", "neochat", "nheko", "fractal", "transmission-cli", "ktorrent", "fragments", "amule",
    "gtk-gnutella", "nicotine", "gnome-boxes", "virt-viewer", "qemu-utils", "virtualbox-guest-x11", "spice-vdagent",
    "gnome-software", "plasma-discover", "gnome-tweaks", "font-manager", "gucharmap", "kcharselect",
    "gnome-characters", "gnome-clocks", "gnome-weather", "gnome-contacts", "gnome-todo", "endeavour", "planner",
    "projectlibre", "taskcoach", "kontact", "korganizer", "osmo", "skrooge", "grisbi", "kmymoney", "homebank",
    "gnucash", "scribus", "inkscape", "gimp", "krita", "digikam", "darktable", "rawtherapee", "hugin",
    "luminance-hdr", "fotoxx", "entangle", "gphoto2", "simple-scan", "xsane", "skanlite", "gscan2pdf", "ocrfeeder",
    "gimagereader",
    # desktop programs
    "firefox-esr", "chromium", "thunderbird", "claws-mail", "geary", "libreoffice", "blender", "shotwell", "eog",
    "ristretto", "feh", "sxiv", "gthumb", "vlc", "smplayer", "totem", "celluloid", "kdenlive", "shotcut",
    "openshot-qt", "pitivi", "handbrake", "simplescreenrecorder", "vokoscreen-ng", "peek", "audacity", "ardour",
    "lmms", "musescore3", "rhythmbox", "audacious", "clementine", "strawberry", "quodlibet", "lollypop", "elisa",
    "evince", "okular", "zathura", "mupdf", "atril", "calibre", "foliate", "keepassxc", "keepass2", "seahorse",
    "flameshot", "shutter", "gnome-screenshot", "ksnip", "scrot", "maim", "xfce4-screenshooter", "transmission-gtk",
    "transmission-qt", "qbittorrent", "deluge", "filezilla", "remmina", "gitg", "git-cola", "gitk", "git-gui",
    "gnome-terminal", "konsole", "terminator", "tilix", "kitty", "alacritty", "xterm", "gedit", "kate", "mousepad",
    "geany", "code", "pluma", "nautilus", "dolphin", "thunar", "pcmanfm", "nemo", "gnome-disk-utility", "baobab",
    "filelight", "gnome-system-monitor", "ksysguard", "hardinfo", "hexchat", "pidgin", "konversation",
    "telegram-desktop", "gnome-calculator", "kcalc", "galculator", "gnome-calendar", "dia", "freecad", "librecad",
    "kicad", "fritzing", "openscad", "meshlab", "stellarium", "marble", "gnome-maps", "zim", "cherrytree", "joplin",
    "xpdf", "qpdfview", "pdfarranger", "pdfsam", "cheese", "kodi", "steam-installer", "wine", "playonlinux",
    "dosbox", "retroarch", "supertuxkart", "0ad", "minetest", "dconf-editor", "redshift", "gammastep", "caffeine",
    "plank", "conky", "variety", "nitrogen", "rofi", "dmenu", "i3", "sway", "xfce4", "task-gnome-desktop",
    "task-kde-desktop", "task-xfce-desktop", "lightdm", "gdm3", "sddm", "network-manager", "blueman", "pavucontrol",
    "pulseaudio", "pipewire", "easyeffects", "bleachbit", "clamtk", "gufw", "gsmartcontrol", "usb-creator-gtk",
    "virtualbox-qt",
})
# fmt: on
