"""From a plain-language request to ranked real packages, with no model.

1. **Concepts.** The request's words minus stop words; each word, or each
   phrase the intent table knows ("file manager", "back up"), is one concept
   with its expansions: what people say mapped to the words Debian's
   descriptions and debtags use ("record my screen" -> "screencast"). The table
   is about kinds of request, not about particular packages. Each concept is
   weighted by its IDF in the index, so "dns" matters more than "server".
2. **Retrieve.** FTS5 (bm25, the name weighted highest): an OR-query of every
   term, an AND-query of every concept (relaxed, most generic concept first,
   until something matches), the mainstream programs among the matches, and
   for "-dev" requests the ``lib<word>*-dev`` names.
3. **Rank.** Mostly *coverage*: the IDF-weighted share of concepts the
   package's name or summary states (its debtags or long description count
   less). Then bm25, the request phrase in the summary, a request word that is
   the name (only when the rest of the request fits too), popularity (reverse
   Depends/Recommends/Suggests, priority, the mainstream list and the default
   pick of each kind in popular.py; scaled by coverage, so a popular package
   never wins on fame alone), terminal or graphical programs when asked,
   metapackages when a whole desktop or suite is asked for; penalties for
   parts of packages (``-dev``, ``-doc``, libraries, language bindings,
   transitional dummies) unless the request asks for them, and for clients
   when it asks for a server.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

from cortex.packages.index import Hit, Package, PackageIndex, fts_query, tag_words
from cortex.packages.popular import DEFAULTS, POPULAR

# fmt: off
STOP_WORDS = frozenset({
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "by", "for", "from", "with", "without", "into",
    "i", "me", "my", "we", "our", "us", "you", "your", "it", "its", "this", "that", "these", "those", "which",
    "what", "who", "how", "is", "are", "be", "can", "could", "would", "should", "will", "do", "does", "so",
    "want", "need", "like", "please", "install", "installing", "setup", "set", "up", "get", "add", "some",
    "something", "tool", "tools", "program", "programs", "app", "apps", "application", "software", "utility",
    "package", "packages", "machine", "computer", "system", "let", "lets", "help", "good", "best", "simple",
    "new", "use", "using", "able", "way", "thing", "also", "just", "all", "any", "other", "etc", "one",
    "linux", "debian", "ubuntu", "there", "here", "have", "has", "make", "run", "running", "local", "own",
    "d", "ll", "ve", "re", "bunch", "lot", "lots", "many", "several", "multiple", "few", "nice", "easy", "easily",
    "kind", "sort", "platform", "solution", "solutions", "stuff", "things", "two", "computers", "machines", "pc",
    "hey", "u", "host", "hosting",
})
# fmt: on

# Intent words -> words and phrases Debian's package descriptions use for that kind of software.
# Keys are single words or space-joined pairs of consecutive content words.
INTENTS: dict[str, tuple[str, ...]] = {
    "dns": ("dns server", "nameserver", "domain name", "resolver"),
    "vpn": ("virtual private network", "vpn", "tunnel", "wireguard", "openvpn"),
    "record screen": ("screencast", "screen recorder", "screen recording", "record desktop"),
    "screen recorder": ("screencast", "screen recording", "record desktop"),
    "screencast": ("screen recorder", "screen recording"),
    "disk usage": ("disk usage", "du", "disk space"),
    "search text": ("grep-like", "search", "regex", "pattern"),
    "search files": ("grep-like", "search"),
    "web server": ("httpd", "http server", "web server"),
    "http server": ("httpd", "web server"),
    "database": ("database server", "sql", "database"),
    "database server": ("sql server", "sql database"),
    "sql": ("sql database", "database server"),
    "firewall": ("firewall", "netfilter", "packet filter", "iptables"),
    "compile": ("compiler", "build"),
    "compiler": ("compiler", "gnu compiler", "build"),
    "headers": ("development files", "dev", "header files"),
    "development": ("development files", "dev"),
    "python": ("python3",),
    "photoshop": ("image editor", "image manipulation", "raster graphics", "paint"),
    "image editor": ("image manipulation", "raster graphics", "photo editor"),
    "vector": ("vector graphics", "svg", "drawing"),
    "office": ("office suite", "word processor", "spreadsheet"),
    "video": ("movie",),
    "videos": ("video", "movie"),
    "play videos": ("video player", "media player"),
    "music": ("audio",),
    "music player": ("audio player", "media player"),
    "pdf": ("pdf viewer", "document viewer", "pdf"),
    "processes": ("process viewer", "process monitor", "top"),
    "process": ("process viewer", "process monitor"),
    "bandwidth": ("bandwidth", "network traffic", "network usage", "network load"),
    "backup": ("backup", "backups", "incremental backup", "deduplicating"),
    "back up": ("backup", "backups", "incremental backup", "deduplicating"),
    "torrent": ("bittorrent", "torrent client"),
    "bittorrent": ("bittorrent client",),
    "clock": ("ntp", "time synchronization", "network time"),
    "time": ("ntp", "time synchronization", "network time"),
    "brute": ("ban", "intrusion", "brute force", "log scanning"),
    "ban": ("ban", "intrusion prevention", "brute force"),
    "screenshot": ("screenshot", "screen capture", "screen grabber"),
    "screenshots": ("screenshot", "screen capture", "screen grabber"),
    "latex": ("tex", "texlive", "latex"),
    "windows share": ("smb", "cifs", "samba"),
    "windows machines": ("smb", "cifs", "samba"),
    "share files": ("file sharing", "file server", "smb"),
    "load balancer": ("load balancing", "load balancer", "reverse proxy"),
    "proxy": ("proxy server", "proxy cache", "caching proxy"),
    "partition": ("partition editor", "partitions", "partition table"),
    "antivirus": ("anti-virus", "virus scanner", "antivirus", "malware"),
    "virus": ("anti-virus", "virus scanner", "antivirus"),
    "password": ("password manager", "password safe", "passwords"),
    "mail server": ("mail transport agent", "smtp server", "mta"),
    "email": ("mail", "email client", "mail user agent"),
    "email client": ("mail client", "mail user agent", "mua"),
    "browser": ("web browser", "browser"),
    "text mode": ("text-mode", "console", "terminal", "text-based"),
    "duplicate": ("duplicate files", "duplicates"),
    "3d": ("3d modeling", "3d modeller", "3d creation", "3d"),
    "modelling": ("modeling", "3d modeling"),
    "health": ("smart", "s.m.a.r.t"),
    "disk": ("disk", "storage", "drive"),
    "system information": ("system information", "system info", "sysinfo", "hardware information"),
    "irc": ("irc client", "irc chat"),
    "chat": ("chat client", "instant messaging", "messaging"),
    "7z": ("7-zip", "7zip"),
    "extract": ("archiver", "archive", "decompress"),
    "archive": ("archiver", "archive", "compression"),
    "compress": ("compression", "archiver", "compressor"),
    "json": ("json", "json processor"),
    "multiplexer": ("terminal multiplexer",),
    "file manager": ("file manager", "file browser"),
    "ssh": ("ssh", "secure shell"),
    "ssh server": ("secure shell server", "sshd"),
    "ftp": ("ftp server", "ftp daemon", "file transfer protocol"),
    "vnc": ("vnc server", "remote desktop", "virtual network computing"),
    "nfs": ("nfs server", "network file system"),
    "mqtt": ("mqtt broker", "message broker"),
    "redis": ("redis", "key-value"),
    "git": ("git", "revision control"),
    "node.js": ("nodejs", "javascript"),
    "node": ("nodejs", "javascript"),
    "java": ("java development kit", "jdk", "openjdk"),
    "rust": ("rust compiler", "rustc"),
    "download": ("downloader", "download", "retriever"),
    "sync": ("synchronization", "synchronize", "sync"),
    "synchronize": ("synchronization", "file synchronization", "sync"),
    "packets": ("packet capture", "network traffic", "packet analyzer", "sniffer"),
    "packet": ("packet capture", "network traffic", "packet analyzer", "sniffer"),
    "audio": ("audio editor", "sound editor", "audio"),
    "convert": ("converter", "transcode", "conversion"),
    "monitor": ("monitor", "monitoring", "viewer"),
    "editor": ("editor", "text editor"),
    "shell": ("shell", "command interpreter"),
    "terminal": ("terminal", "console", "commandline", "text-mode"),
    "command line": ("commandline", "command-line", "text-mode", "console", "terminal"),
    "benchmark": ("benchmark", "benchmarking"),
    "container": ("container", "containers", "docker"),
    "containers": ("container", "docker"),
    "virtual machine": ("virtualization", "emulator", "hypervisor", "qemu"),
    "virtualization": ("virtualization", "hypervisor", "kvm"),
    "diagram": ("diagram", "diagrams", "flowchart"),
    "notes": ("note taking", "notes", "notebook"),
    "calculator": ("calculator",),
    "font": ("font", "fonts", "typeface"),
    "game": ("game",),
    "wifi": ("wireless", "wi-fi", "wlan"),
    "bluetooth": ("bluetooth",),
    "printer": ("printing", "cups", "printer"),
    "print": ("printing", "cups"),
    "webcam": ("webcam", "camera", "v4l"),
    "spell": ("spell checker", "spelling"),
    "translate": ("translation", "translator"),
    "ocr": ("optical character recognition", "ocr"),
    "ebook": ("e-book", "ebook"),
    "dictionary": ("dictionary",),
    "http": ("http", "web"),
    "api": ("api", "http client"),
    "benchmarking": ("benchmark",),
    "server": ("server", "daemon"),
    "listen": ("player", "playing", "audio player", "music player"),
    "watch": ("player", "playing", "video player", "media player", "monitor"),
    "movies": ("video", "movie", "media player", "video player"),
    "movie": ("video", "movie", "media player", "video player"),
    "write": ("writer", "editor", "writing", "word processor"),
    "documents": ("document", "word processor", "office", "documents"),
    "document": ("document", "word processor", "office"),
    "draw": ("drawing", "paint", "painting"),
    "pictures": ("image", "picture", "photo", "graphics"),
    "picture": ("image", "picture", "photo", "graphics"),
    "record": ("recorder", "recording", "capture"),
    "microphone": ("audio", "sound", "recorder", "microphone"),
    "fonts": ("font", "fonts", "typeface"),
    "google drive": ("google drive", "gdrive", "cloud storage"),
    "connections": ("connections", "network connections", "sockets", "netstat"),
    "throughput": ("throughput", "bandwidth", "performance", "speed"),
    "desktop environment": ("desktop environment", "desktop", "task"),
    "microsoft": ("microsoft", "mscorefonts", "windows"),
    "authentication": ("authentication", "pam", "nss", "login"),
    "directory": ("directory", "folder", "directories"),
    "folder": ("directory", "folder", "directories"),
    "folders": ("directories", "directory", "folders"),
    "directory structure": ("directory tree", "directory listing", "tree"),
    "compare": ("diff", "compare", "comparison", "differences"),
    "http requests": ("http client", "url", "transferring data", "http"),
    "memory leaks": ("memory leak", "memory debugger", "memory error", "memory profiler", "leak"),
    "leaks": ("memory leak", "memory debugger", "leak"),
    "linter": ("lint", "linter", "checker", "static analysis", "code checker", "style checker"),
    "lint": ("lint", "linter", "checker", "static analysis"),
    "kernel headers": ("linux headers", "header files for linux", "linux-headers"),
    "kernel": ("kernel", "linux"),
    "relay": ("relay", "mail transport agent", "mta", "smarthost", "null client"),
    "smtp": ("smtp", "mail transport agent", "mta"),
    "frontend": ("interface", "front-end", "frontend", "client"),
    "front-end": ("interface", "front-end", "frontend", "client"),
    "interface": ("interface", "front-end", "frontend"),
    "graphical": ("gui", "x11", "gtk", "qt"),
    "gui": ("graphical", "x11", "gtk", "qt"),
    "markdown": ("markup", "markdown"),
    "ebooks": ("epub", "e-book", "ebook"),
    "reader": ("viewer", "reader"),
    "io": ("i/o", "input/output", "disk i/o"),
    "usb": ("usb", "removable", "flash drive"),
    "sticks": ("usb", "flash drive", "removable"),
    "stick": ("usb", "flash drive", "removable"),
    "iso": ("iso9660", "disk image", "iso image", "bootable"),
    "mixer": ("mixer", "volume control"),
    "volume": ("volume control", "mixer"),
    "uptime": ("uptime", "availability", "monitoring"),
    "website": ("web site", "http", "web server"),
    "websites": ("web site", "http", "web server"),
    "encrypt": ("encryption", "cryptography", "encrypt", "crypt"),
    "encryption": ("encryption", "cryptography", "encrypt"),
    "port scanner": ("port scanner", "network scanner", "network mapper", "security scanner"),
    "scanner": ("scanner", "scanning"),
    "xmpp": ("xmpp", "jabber"),
    "jabber": ("xmpp", "jabber"),
    "network speed": ("bandwidth", "throughput", "network performance"),
    "speed": ("bandwidth", "throughput", "performance"),
    "measure": ("measurement", "measuring", "benchmark"),
    "graphs": ("graph", "graphs", "charts", "graphical"),
    "system monitor": ("system monitor", "resource monitor", "process viewer", "top-like"),
    "photo": ("photo", "photograph", "image", "picture"),
    "photos": ("photo", "photograph", "image", "picture"),
    "manager": ("manager", "management", "organizer", "organizing"),
    "converter": ("converter", "conversion", "converting"),
    "images": ("image", "picture", "graphics"),
    "remote desktop": ("remote desktop", "rdp", "vnc"),
    "sound": ("audio", "sound"),
    "ide": ("integrated development environment", "ide"),
    "programming": ("development", "programming"),
    "virtual machines": ("virtualization", "virtual machine", "hypervisor", "kvm", "qemu"),
    "vm": ("virtualization", "virtual machine", "hypervisor", "kvm", "qemu"),
    "vms": ("virtualization", "virtual machine", "hypervisor", "kvm", "qemu"),
    "windows programs": ("wine", "windows api", "win32", "windows applications"),
    "windows applications": ("wine", "windows api", "win32"),
    "kubernetes": ("kubernetes", "k8s", "container orchestration"),
    "calendar": ("calendar", "pim", "organizer"),
    "todo": ("todo", "to-do", "task list", "task manager"),
    "paint": ("paint", "painting", "drawing"),
    "drawing": ("drawing", "paint"),
    "cad": ("cad", "computer-aided design", "computer aided design"),
    "math": ("mathematics", "math", "calculation"),
    "statistics": ("statistics", "statistical"),
    "git server": ("git hosting", "git repositories", "git server"),
    "download manager": ("download manager", "downloader"),
    "youtube": ("youtube", "video downloader", "video sharing"),
    "rootkits": ("rootkit", "rootkits"),
    "rootkit": ("rootkit", "rootkits"),
    "logs": ("log", "logfile", "log analyzer", "logging"),
    "dhcp": ("dhcp server", "dhcp"),
    "ldap": ("ldap server", "directory server", "ldap"),
    "cache": ("cache", "caching"),
    "caching": ("cache", "caching"),
    "certificate": ("certificate", "tls", "ssl", "acme", "let's encrypt"),
    "certificates": ("certificate", "tls", "ssl", "acme", "let's encrypt"),
    "https": ("tls", "ssl", "certificate"),
    "ssl": ("tls", "ssl", "certificate"),
    "video editor": ("video editor", "video editing", "non-linear", "edit videos"),
    "video player": ("video player", "media player", "movie player"),
    "audio player": ("audio player", "music player", "media player"),
    "media player": ("media player", "video player", "audio player"),
    "web browser": ("web browser", "browser"),
    "text editor": ("text editor",),
    "code editor": ("text editor", "programmer's editor", "ide"),
    "mail client": ("mail client", "mail user agent", "email client"),
    "container runtime": ("container runtime", "containers", "docker"),
    "disk space": ("disk usage", "disk space"),
    "hard disk": ("disk", "drive", "storage"),
    "network traffic": ("network traffic", "bandwidth", "packet"),
    "remote access": ("remote access", "remote desktop", "ssh"),
    "file sharing": ("file sharing", "smb", "nfs"),
    "self-hosted": ("server", "self-hosted", "web application"),
    "home automation": ("home automation", "smart home"),
    "speech": ("speech", "text-to-speech", "speech synthesis"),
    "voice": ("voip", "voice", "speech"),
    "voip": ("voip", "sip", "telephony"),
    "video call": ("video conferencing", "voip", "video call"),
    "presentation": ("presentation", "slides", "slideshow"),
    "spreadsheet": ("spreadsheet", "calc"),
    "word processor": ("word processor", "writer"),
    "accounting": ("accounting", "finance", "bookkeeping"),
    "finance": ("finance", "accounting", "money"),
    "budget": ("finance", "accounting", "money"),
    "recipes": ("recipe", "cookbook"),
    "astronomy": ("astronomy", "planetarium", "sky"),
    "maps": ("map", "maps", "gps", "openstreetmap"),
    "gps": ("gps", "navigation", "map"),
    "weather": ("weather", "forecast"),
    "mirror": ("mirror", "mirroring"),
    "clipboard": ("clipboard", "clipboard manager"),
    "launcher": ("launcher", "application launcher"),
    "dock": ("dock", "launcher", "panel"),
    "wallpaper": ("wallpaper", "background"),
    "theme": ("theme", "themes"),
    "keyboard": ("keyboard", "input method"),
    "touchpad": ("touchpad", "synaptics", "libinput"),
    "battery": ("battery", "power management", "power saving"),
    "power": ("power management", "power saving", "battery"),
    "laptop": ("laptop", "power management", "battery"),
    # Everyday phrasings of common tasks, as the programs' own summaries put them.
    "pretty print": ("pretty-print", "pretty printer", "prettify", "formatter"),
    "make music": ("music production", "sequencer", "digital audio workstation", "music composition"),
    "compose music": ("music production", "sequencer", "music notation", "music composition"),
    "compare files": ("visual diff", "diff viewer", "file comparison", "merge tool"),
    "side by side": ("visual diff", "diff viewer", "merge tool", "graphical diff"),
    "hardware info": ("hardware information", "hardware lister", "hardware details", "system profiler"),
    "hardware information": ("hardware information", "hardware lister", "hardware details", "system profiler"),
    "internet speed": ("speedtest", "speed test", "internet bandwidth"),
    "open ports": ("port scanner", "network scanner", "network mapper", "port scanning"),
    "photo collection": ("photo manager", "photo management", "photo organizer", "image organizer"),
    "manage photos": ("photo manager", "photo management", "photo organizer", "image organizer"),
    "snapshots": ("snapshot", "snapshots", "system restore", "rollback"),
    "media server": ("media server", "dlna", "upnp", "media streaming"),
    "smart tv": ("dlna", "upnp", "media server"),
    "monitoring server": ("monitoring system", "network monitoring", "monitoring", "alerting"),
    "monitor servers": ("monitoring system", "network monitoring", "monitoring", "alerting"),
    "flashcards": ("flashcard", "flash cards", "spaced repetition", "vocabulary trainer"),
    "learn to type": ("typing tutor", "touch typing", "keyboard trainer", "typing"),
    "typing": ("typing tutor", "touch typing", "keyboard trainer"),
    "drawing program": ("drawing", "painting program", "paint program"),
    "docx": ("word processor", "office suite", "microsoft word", "docx"),
    "word docs": ("word processor", "office suite", "microsoft word", "docx"),
    "dvds": ("dvd", "media player", "video player"),
    "dvd": ("dvd", "media player", "video player"),
    "compress swap": ("zram", "compressed swap", "compressed ram"),
    "config management": ("configuration management", "automation", "orchestration", "infrastructure as code"),
    "configuration management": ("configuration management", "automation", "orchestration"),
    "recover deleted": ("data recovery", "undelete", "file recovery", "file carving"),
    "undelete": ("data recovery", "undelete", "file recovery"),
    "spelling": ("spell checker", "spellchecker", "spelling"),
    "spell check": ("spell checker", "spellchecker", "spelling"),
    "password generator": ("password generator", "generate passwords", "random passwords", "pronounceable passwords"),
    "admin panel": ("web-based administration", "server administration", "web console", "administration interface"),
    "android phone": ("mtp", "media transfer protocol", "android"),
}
# Words in a request that make parts of a package welcome instead of penalised.
WANTS_DEV = frozenset({"headers", "header", "development", "dev", "library", "libraries", "lib", "sdk"})
WANTS_DOC = frozenset({"documentation", "docs", "doc", "manual"})
ECOSYSTEM_PREFIXES = {
    "python3-": "python",
    "python-": "python",
    "ruby-": "ruby",
    "golang-": "go",
    "node-": "node",
    "r-cran-": "r",
    "r-bioc-": "r",
    "libghc-": "haskell",
    "haskell-": "haskell",
    "php-": "php",
    "lua-": "lua",
    "elpa-": "emacs",
    "librust-": "rust",
    "rust-": "rust",
    "libjs-": "javascript",
    "ocaml-": "ocaml",
    "erlang-": "erlang",
    "gir1.2-": "gir",
    "fonts-": "font",
    "xfonts-": "font",
    "texlive-lang-": "language",
    "hunspell-": "spell",
    "myspell-": "spell",
    "aspell-": "spell",
    "gnome-shell-extension-": "extension",
    "kodi-": "kodi",
    "vim-": "vim",
    "emacs-": "emacs",
    "golang-github-": "go",
    "trinity-": "trinity",
}
PART_SUFFIXES = (
    "-dev",
    "-doc",
    "-dbg",
    "-dbgsym",
    "-data",
    "-common",
    "-l10n",
    "-i18n",
    "-locale",
    "-theme",
    "-themes",
    "-plugin",
    "-plugins",
    "-examples",
    "-tests",
    "-perl",
    "-java",
    "-src",
    "-source",
    "-dkms",
    "-el",
    "-help",
)
PART_SECTIONS = frozenset({"libs", "libdevel", "oldlibs", "debug", "doc", "localization", "fonts", "javascript"})
CROSS = re.compile(r"(?<=-)(?:cross|armel|armhf|arm64|i386|mips\w*|ppc64\w*|powerpc|s390x|riscv64|hppa|m68k|sh4|x32)\b")
PLUGIN_WORDS = frozenset({"extension", "extensions", "plugin", "plugins", "plug-in", "add-on", "addon", "module"})
SUITE_WORDS = frozenset({"desktop", "environment", "suite", "stack", "complete", "full", "everything"})
# Debian's debtags for servers, and for web applications (a wiki engine is served by the web server)
SERVER_TAGS = ("network::server", "network::service", "web::application")
SERVER_WORDS = frozenset({"server", "service", "daemon", "serve", "host", "hosting", "broker"})


@dataclass
class Query:
    """The words of a request and the search terms they expand to."""

    words: list[str]
    terms: list[str]
    request: str = ""  # lower-cased, as typed
    groups: list[list[str]] = field(default_factory=list)  # one concept a group: a word and its expansions
    frequencies: list[int] = field(default_factory=list)  # how many programs mention each group
    weights: list[float] = field(default_factory=list)  # each group's IDF: rare concepts matter more
    expanded: set[str] = field(default_factory=set)  # single words of every term, for name matching
    phrases: list[str] = field(default_factory=list)  # the request's word pairs and their intent phrases
    context: set[str] = field(default_factory=set)  # words of "on my laptop", "for my kids": where, not what
    likeness: set[str] = field(default_factory=set)  # "a matlab alternative", "minecraft-like": the model, not it

    @property
    def wants_dev(self) -> bool:
        return bool(WANTS_DEV & set(self.words))

    @property
    def wants_doc(self) -> bool:
        return bool(WANTS_DOC & set(self.words))

    @property
    def singular(self) -> bool:
        """The request asks for one thing: "a chess game", "an irc client"."""
        return bool(re.match(r"(?:i (?:want|need) )?(?:an?|one)\b", self.request))

    @property
    def wants_server(self) -> bool:
        """Asked of the words as typed: "host" says server but is a stop word, not a concept to match."""
        return bool(SERVER_WORDS & set(re.findall(r"[a-z]+", self.request)))


@dataclass(frozen=True)
class Candidate:
    package: Package
    score: float
    why: tuple[str, ...]  # the signals that counted, for notes and debugging


def content_words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9][a-z0-9+.\-]*[a-z0-9+]|[a-z0-9]", text.lower())
    return [w for w in words if w not in STOP_WORDS]


# "a matlab alternative", "an alternative to photoshop", "a minecraft-like game", "a clone of tetris": the
# request wants a program like X, so packages named after X (tools for X) are not it.
LIKENESS = (
    re.compile(r"\b([a-z0-9+.]+)(?:-like| alternative| replacement| clone| equivalent)\b"),
    re.compile(r"\b(?:alternative|replacement|clone|equivalent|substitute) (?:to|for|of) ([a-z0-9+.]+)"),
)
LIKENESS_MARKERS = ("like", "alternative", "replacement", "clone", "equivalent", "substitute")

# "on my laptop", "for my kids", "in the lan": where or for whom, not what to install. Such words count less.
CONTEXT = re.compile(
    r"\b(?:on|in|for|at|into|inside) (?:my|our|the|his|her|their) ([a-z0-9 .+\-]+?)"
    r"(?=$|[,.;]| (?:on|in|for|at|with|from|to|so|and) )"
)
CONTEXT_WEIGHT = 0.5


def build_query(request: str) -> Query:
    """The request's concepts: each content word with its intent expansions, except that a phrase the intent
    table knows ("file manager", "back up") is one concept, not two words."""
    likeness = {m.group(1) for pattern in LIKENESS for m in pattern.finditer(request.lower())} - STOP_WORDS
    for marker in LIKENESS_MARKERS:  # "a minecraft-like game" asks for a game, and minecraft is only the model
        request = re.sub(rf"-?\b{marker}\b", " ", request, flags=re.I)
    words = content_words(request)
    lowered = " ".join(re.findall(r"[a-z0-9.+\-]+", request.lower()))
    phrases = [f"{a} {b}" for a, b in itertools.pairwise(words)]
    groups: list[list[str]] = []
    used: set[str] = set()
    for key, expansion in INTENTS.items():
        key_words = key.split()
        if len(key_words) < 2 or not (key in lowered or all(k in words for k in key_words)):
            continue
        if any(k in used for k in key_words if k in words):
            continue  # a word belongs to one phrase only
        groups.append([key, *expansion])
        phrases += [key, *(t for t in expansion if " " in t)]
        used.update(k for k in key_words if k in words)
    for w in words:
        if w in used:
            continue
        parts = w.split("-") if "-" in w else []  # "brute-force" also means "brute" and "force"
        groups.append([w, *INTENTS.get(w, ()), *(t for p in parts for t in INTENTS.get(p, ()))])
    groups = [list(dict.fromkeys(g)) for g in groups]
    terms = list(dict.fromkeys(t for g in groups for t in g))
    expanded = {w for t in terms for w in t.split() if w}
    context = {w for m in CONTEXT.finditer(request.lower()) for w in content_words(m.group(1))}
    return Query(
        words=words,
        terms=terms,
        request=request.strip().lower(),
        groups=groups,
        expanded=expanded,
        phrases=phrases,
        context=context,
        likeness=likeness,
    )


SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ers", "ors", "er", "or", "es", "ed", "s", "e", "ly")


def _stem(word: str) -> str:
    """A crude stem, the same on both sides of a comparison: "recorder", "recording" -> "record"."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:6]


def word_keys(words: list[str]) -> set[str]:
    """What a text's words can be matched by: their stems, and their first five letters (marked with ``~``)."""
    keys = {_stem(w) for w in words}
    keys |= {"~" + w[:5] for w in words if len(w) >= 5}
    return keys


def _matches(word: str, keys: set[str]) -> bool:
    return _stem(word) in keys or (len(word) >= 5 and "~" + word[:5] in keys)


def _covers(term: str, keys: set[str]) -> bool:
    return all(_matches(w, keys) for w in re.findall(r"[a-z0-9]+", term))


SECONDARY = 0.6  # a concept only the tags or the long description mention counts this much


def coverage(pkg: Package, query: Query) -> float:
    """The share of the request's concepts (IDF-weighted) that the package mentions: fully in its name or
    summary, ``SECONDARY`` in its debtags or long description only."""
    if not query.groups:
        return 0.0
    weights = query.weights or [1.0] * len(query.groups)
    names = {pkg.name, pkg.source, *(n.removeprefix("lib") for n in (pkg.name, pkg.source) if n.startswith("lib"))}
    text = f"{' '.join(names)} {pkg.summary} {pkg.app_title}".lower()
    primary = word_keys(re.findall(r"[a-z0-9]+", text) + re.findall(r"[a-z]+", " ".join(names)))
    primary |= names | {_stem(n) for n in names}
    secondary = word_keys(
        re.findall(r"[a-z0-9]+", f"{pkg.description[:400]} {tag_words(pkg.tags)} {pkg.app_keywords}".lower())
    )
    secondary |= primary
    hit = 0.0
    for group, weight in zip(query.groups, weights, strict=True):
        if any(_covers(t, primary) for t in group):
            hit += weight
        elif any(_covers(t, secondary) for t in group):
            hit += SECONDARY * weight
    return hit / sum(weights) if sum(weights) else 0.0


def _name_tokens(name: str) -> list[str]:
    """The words of a package name, digits dropped: ``lua5.4`` -> lua, ``python3-dev`` -> python, dev."""
    return re.findall(r"[a-z]+", name)


# How much each signal counts; features are in [0, 1] (pop: 0-5, priority: 0-4) and penalties are negative.
WEIGHTS: dict[str, float] = {
    "relevance": 3.0,  # bm25, relative to the best hit of the search
    "coverage": 6.0,  # share of the request's concepts (IDF-weighted) the package's text mentions
    "phrase": 2.0,  # an intent phrase ("domain name", "screen recorder") appears in the summary
    "named": 4.0,  # a request word is the package's name, and the rest of the request fits it
    "intent_named": 2.0,  # an intent expansion is the package's name
    "name_words": 1.5,  # share of the name's words that are specific words of the request
    "provides": 1.0,  # provides a virtual package the request names
    "popularity": 0.6,  # log of packages depending on, recommending or suggesting it
    "popular": 3.0,  # on the list of mainstream programs (popular.py), the stand-in for popcon
    "default": 1.0,  # the default pick of its kind (popular.py): breaks ties among mainstream programs
    "priority": 0.3,
    "program": 0.5,  # debtag role::program
    "metapackage": 0.3,  # a metapackage; negative when one program is asked for ("a chess game")
    "suite": 5.0,  # a metapackage or task, and the request asks for a whole environment ("the xfce desktop")
    "service": 1.0,  # ships a service and the request asks for a server
    "client": -1.5,  # the request asks for a server; this is a client or a desktop program that ships none
    "terminal": 2.0,  # a text-mode or command-line program and the request asks for one
    "graphical": 2.0,  # an X11/Wayland program and the request asks for a graphical one
    "part": -3.0,  # a library, -dev, -doc, -data, a binding... not asked for
    "transitional": -2.0,
    "versioned": -0.5,  # foo-14 when the request does not name a version
}
GATED = ("popularity", "popular", "default", "priority", "program", "suite")
TERMINAL_WORDS = frozenset({"terminal", "console", "cli", "command", "commandline", "command-line", "tty", "ssh"})
GRAPHICAL_WORDS = frozenset(
    {"graphical", "graphically", "gui", "desktop", "gtk", "qt", "gnome", "kde", "visual", "window"}
)


def features(pkg: Package, relevance: float, best: float, query: Query) -> dict[str, float]:
    """The ranking signals of one FTS hit; ``best`` is the top bm25 relevance of the search."""
    words, expanded = set(query.words), query.expanded
    name = pkg.name
    summary = pkg.summary.lower()
    f: dict[str, float] = {"relevance": relevance / best if best > 0 else 0.0, "coverage": coverage(pkg, query)}
    f["phrase"] = 1.0 if any(p in summary for p in query.phrases) else 0.0
    if name in words:
        # A request word that is this package's name counts fully only if the rest of the request fits it too:
        # "the zsh shell" is zsh, "record my screen" is not GNU screen.
        others = [w for w in query.words if w != name]
        own = word_keys(re.findall(r"[a-z0-9]+", summary))
        f["named"] = sum(1 for w in others if _matches(w, own)) / len(others) if others else 1.0
    elif query.wants_dev and any(name in (f"lib{w}-dev", f"{w}-dev") for w in words):
        f["named"] = 1.0  # "ssl development headers" names libssl-dev as surely as "install libssl-dev" would
    elif name in expanded:
        f["intent_named"] = 1.0
    tokens = _name_tokens(name)
    specific = {w for g, wt in zip(query.groups, query.weights or [5.0] * len(query.groups), strict=True) if wt > 4.5
                for t in g for w in t.split()}  # fmt: skip
    if tokens and name not in expanded:
        f["name_words"] = sum(1 for t in tokens if t in specific) / len(tokens)
    f["provides"] = 1.0 if any(v in expanded or v in words for v in pkg.provides) else 0.0
    f["popularity"] = min(math.log1p(pkg.rdepends + pkg.mentions), 5.0)
    f["popular"] = 1.0 if name in POPULAR else 0.0
    f["default"] = 1.0 if name in DEFAULTS else 0.0
    f["priority"] = float(pkg.priority_rank)
    f["program"] = 1.0 if "role::program" in pkg.tags else 0.0
    f["metapackage"] = 1.0 if pkg.section == "metapackages" else 0.0
    if f["metapackage"] and query.singular and not SUITE_WORDS & words:
        f["metapackage"] = -1.0  # "a chess game" is one program, not Debian's collection of chess games
    if SUITE_WORDS & words and (pkg.section == "metapackages" or name.startswith("task-")):
        f["suite"] = 1.0
    text_mode = any(t in pkg.tags for t in ("interface::commandline", "interface::text-mode"))
    windowed = any(t in pkg.tags for t in ("interface::x11", "interface::graphical"))
    serves = bool(pkg.service or pkg.units) or any(t in pkg.tags for t in SERVER_TAGS)
    f["service"] = 1.0 if query.wants_server and serves else 0.0
    if query.wants_server and not serves:
        client = windowed or "network::client" in pkg.tags or re.search(r"\bclient\b", summary)
        f["client"] = 1.0 if "server" not in summary and client else 0.0
    if TERMINAL_WORDS & words and "emulator" not in words:  # a desktop-only program is wrong "for the terminal"
        f["terminal"] = 1.0 if text_mode else -1.0 if windowed else 0.0
    if GRAPHICAL_WORDS & words:
        f["graphical"] = 1.0 if windowed else 0.0
    # Parts of packages, libraries and bindings: wanted only when asked for.
    part = 0.0
    is_program = "role::program" in pkg.tags or pkg.app or pkg.section == "metapackages" or name in POPULAR
    if name.startswith("lib") and not query.wants_dev and not is_program:  # libreoffice is no library
        part += 1.0
    if re.search(r"\b(?:extension|plugin|plug-in|add-on|addon)\b", summary) and not PLUGIN_WORDS & words:
        part += 0.5  # "nautilus extension to mass resize images" is part of another program
    if any(x in name for x in query.likeness):
        part += 1.0  # matlab2tikz is a tool for matlab, not an alternative to it
    if CROSS.search(name) and not {"cross", *CROSS.findall(name)} & words:
        part += 1.0  # a cross-compilation variant for another architecture
    if "shared librar" in summary and not query.wants_dev:
        part += 0.5
    asked_section = pkg.section in words or pkg.section.rstrip("s") in words  # "fonts for programming"
    if pkg.section in PART_SECTIONS and not asked_section and not (query.wants_dev and pkg.section == "libdevel"):
        part += 0.75
    if name.endswith(PART_SUFFIXES):
        if name.endswith("-dev") and query.wants_dev:
            part -= 0.5
        elif not (name.endswith("-doc") and query.wants_doc):
            part += 1.0
    for prefix, topic in ECOSYSTEM_PREFIXES.items():
        if name.startswith(prefix) and not {topic, topic + "s", prefix.rstrip("-")} & words:
            part += 1.0
            break
    f["part"] = part
    f["transitional"] = 1.0 if "transitional" in summary or "dummy" in summary else 0.0
    # foo-14, linux-headers-6.1.0-50-amd64: a pinned version, when an unversioned name follows the current one
    version = re.search(r"-(\d+(?:\.\d+)*)$|-(\d+\.\d+[\w.+~]*)(?=-)", name)
    pinned = version and (version.group(1) or version.group(2))
    f["versioned"] = 1.0 if pinned and len(name) > 3 and pinned not in words else 0.0
    return f


def score(pkg: Package, relevance: float, best: float, query: Query, weights: dict[str, float] = WEIGHTS) -> Candidate:
    """The no-model ranking score of one FTS hit, with the signals that counted most."""
    f = features(pkg, relevance, best, query)
    parts = {k: weights.get(k, 0.0) * v for k, v in f.items()}
    for k in GATED:  # popularity counts only as far as the package fits the request
        parts[k] = parts.get(k, 0.0) * f["coverage"]
    why = tuple(k for k, v in sorted(parts.items(), key=lambda kv: -abs(kv[1])) if abs(v) >= 0.5)
    return Candidate(pkg, sum(parts.values()), why)


LIBRARY_PREFIXES = ("lib", *ECOSYSTEM_PREFIXES)


def frequency(group: list[str], index: PackageIndex) -> int:
    """How many packages other than libraries and language bindings mention a concept: its generality among the
    programs a request is after."""
    return index.frequency(fts_query(group), LIBRARY_PREFIXES)


def retrieve(query: Query, index: PackageIndex) -> list[Hit]:
    """Hits that match every concept of the query; concepts are dropped, most generic first, until some match."""
    hits = {h.package.name: h for h in index.search(query.terms, limit=200)}
    for h in index.search(query.terms, limit=50, names=POPULAR):  # mainstream programs drowned by variants
        hits.setdefault(h.package.name, h)
    concepts = [(g, f) for g, f in zip(query.groups, query.frequencies, strict=True) if fts_query(g)]
    while concepts:
        strict = index.search_all([fts_query(g) for g, _ in concepts], limit=300)
        for h in strict:
            hits.setdefault(h.package.name, h)
        if len(strict) >= 10 or len(concepts) == 1:
            break
        concepts.remove(max(concepts, key=lambda c: c[1]))
    if query.wants_dev:  # "ssl development headers" -> libssl-dev, "zlib headers" -> zlib1g-dev
        for word in query.words:
            if word not in WANTS_DEV and re.fullmatch(r"[a-z0-9][a-z0-9+.]*", word):
                for h in index.search(query.terms, limit=20, name_like=[f"lib{word}%-dev", f"{word}%-dev"]):
                    hits.setdefault(h.package.name, h)
    return list(hits.values())


def rank(request: str, index: PackageIndex, limit: int = 10) -> list[Candidate]:
    """The best ``limit`` real packages for ``request``, best first."""
    query = build_query(request)
    total = max(index.count(), 1)
    query.frequencies = [frequency(g, index) for g in query.groups]
    query.weights = [
        (math.log(total / (1 + f)) + 0.1) * (CONTEXT_WEIGHT if g[0] in query.context else 1)
        for g, f in zip(query.groups, query.frequencies, strict=True)
    ]
    hits = retrieve(query, index)
    if not hits:
        return []
    best = max(h.relevance for h in hits)
    ranked = sorted((score(h.package, h.relevance, best, query) for h in hits), key=lambda c: -c.score)
    return ranked[:limit]
