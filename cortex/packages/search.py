"""From a plain-language request to ranked real packages, with no model.

1. **Terms.** The request's words minus stop words, plus the expansions of an
   intent table: what people say ("record my screen", "dns server") mapped to
   the words Debian's descriptions use ("screencast", "nameserver"). The table
   is about kinds of request, not about particular packages.
2. **Retrieve.** An FTS5 OR-query over names, provides, summaries and
   descriptions (bm25, the name weighted highest) gives a few hundred hits.
3. **Rank.** bm25 relevance plus signals a packager would use: a term equal to
   the name, the share of the name's words that the request mentions, a match
   on a virtual package it provides, reverse dependencies and priority as a
   popularity proxy, programs over libraries; penalties for parts of a package
   (``-dev``, ``-doc``, ``-data``, language bindings, transitional dummies)
   unless the request asks for them.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

from cortex.packages.index import Hit, Package, PackageIndex, fts_query

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
    "search text": ("grep", "search", "regex", "pattern"),
    "search files": ("grep", "search"),
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
    "video": ("video player", "media player", "movie"),
    "videos": ("video player", "media player", "movie"),
    "music": ("music player", "audio player"),
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
    "windows": ("smb", "cifs", "samba", "windows"),
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
    "health": ("smart", "s.m.a.r.t", "monitoring"),
    "system information": ("system information", "system info", "sysinfo", "hardware information"),
    "irc": ("irc client", "irc chat"),
    "chat": ("chat client", "instant messaging", "messaging"),
    "7z": ("7-zip", "7z", "archiver"),
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
    "terminal": ("terminal", "console"),
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
    "task-": "task",
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
SERVER_WORDS = frozenset({"server", "service", "daemon", "serve", "host", "hosting", "broker"})


@dataclass
class Query:
    """The words of a request and the search terms they expand to."""

    words: list[str]
    terms: list[str]
    groups: list[list[str]] = field(default_factory=list)  # one concept a group: a word and its expansions
    expanded: set[str] = field(default_factory=set)  # single words of every term, for name matching

    @property
    def wants_dev(self) -> bool:
        return bool(WANTS_DEV & set(self.words))

    @property
    def wants_doc(self) -> bool:
        return bool(WANTS_DOC & set(self.words))

    @property
    def wants_server(self) -> bool:
        return bool(SERVER_WORDS & set(self.words))


@dataclass(frozen=True)
class Candidate:
    package: Package
    score: float
    why: tuple[str, ...]  # the signals that counted, for notes and debugging


def content_words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9][a-z0-9+.\-]*[a-z0-9+]|[a-z0-9]", text.lower())
    return [w for w in words if w not in STOP_WORDS]


def build_query(request: str) -> Query:
    """The request's content words, grouped with their intent expansions (one group a concept)."""
    words = content_words(request)
    lowered = " ".join(re.findall(r"[a-z0-9.+\-]+", request.lower()))
    groups = [[w, *INTENTS.get(w, ())] for w in words]
    pairs = [(i, f"{a} {b}") for i, (a, b) in enumerate(itertools.pairwise(words))]
    for i, pair in pairs:
        if pair in INTENTS:  # both words' groups accept the pair's phrases
            groups[i] += INTENTS[pair]
            groups[i + 1] += INTENTS[pair]
    for key, expansion in INTENTS.items():  # pairs split by a stop word ("back up", "record my screen")
        if " " in key and key not in lowered and all(k in words for k in key.split()):
            for i, w in enumerate(words):
                if w in key.split():
                    groups[i] += expansion
    groups = [list(dict.fromkeys(g)) for g in groups]
    terms = list(dict.fromkeys(t for g in groups for t in g))
    expanded = {w for t in terms for w in t.split() if w}
    return Query(words=words, terms=terms, groups=groups, expanded=expanded)


def _stem(word: str) -> str:
    return word[:5] if len(word) > 5 else word


def _covers(term: str, text_tokens: set[str]) -> bool:
    return all(_stem(w) in text_tokens for w in term.split())


def coverage(pkg: Package, query: Query) -> float:
    """The share of the request's concepts that the package's name, summary, tags or provides mention."""
    if not query.groups:
        return 0.0
    text = f"{pkg.name} {pkg.summary} {pkg.description[:400]} {' '.join(pkg.tags)} {' '.join(pkg.provides)}"
    tokens = {_stem(t) for t in re.findall(r"[a-z0-9]+", text.lower().replace("::", " "))}
    tokens |= {pkg.name}
    return sum(1 for g in query.groups if any(_covers(t, tokens) for t in g)) / len(query.groups)


def _name_tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[-.+]", name) if t]


def score(pkg: Package, relevance: float, best: float, query: Query) -> Candidate:
    """The no-model ranking score of one FTS hit; ``best`` is the top bm25 relevance of the search."""
    why: list[str] = []
    s = 2.0 * relevance / best if best > 0 else 0.0
    cover = coverage(pkg, query)
    s += 4.0 * cover
    words, expanded = set(query.words), query.expanded
    name = pkg.name
    text = f"{name} {pkg.summary} {' '.join(pkg.tags)} {' '.join(pkg.provides)}".lower()
    if name in words:
        # A request word that is this package's name counts fully only if the rest of the request fits it too:
        # "the zsh shell" is zsh, "record my screen" is not GNU screen.
        others = [w for w in query.words if w != name]
        fits = sum(1 for w in others if w[:5] in text)
        s += 4.0 * (fits / len(others) if others else 1.0)
        why.append("named")
    elif name in expanded:
        s += 1.0
        why.append("intent names it")
    tokens = _name_tokens(name)
    hits = [t for t in tokens if t in words or t in expanded]
    if hits and name not in expanded:
        s += 1.5 * len(hits) / len(tokens)
        why.append("name words")
    if any(v in expanded or v in words for v in pkg.provides):
        s += 1.0
        why.append("provides")
    pop = math.log1p(pkg.rdepends + pkg.mentions)
    s += min(pop, 5.0) * 0.6 + 0.3 * pkg.priority_rank
    if pop:
        why.append(f"{pkg.rdepends}+{pkg.mentions} reverse relations")
    if "role::program" in pkg.tags:
        s += 0.5
    if pkg.section == "metapackages":
        s += 0.3
    if query.wants_server and pkg.service:
        s += 1.0
        why.append("ships a service")
    # Parts of packages, libraries and bindings: wanted only when asked for.
    if name.startswith("lib") and not query.wants_dev:
        s -= 2.5
    if pkg.section in PART_SECTIONS and not (query.wants_dev and pkg.section == "libdevel"):
        s -= 1.5
    if name.endswith(PART_SUFFIXES):
        if name.endswith("-dev") and query.wants_dev:
            s += 1.0
        elif not (name.endswith("-doc") and query.wants_doc):
            s -= 2.0
    for prefix, topic in ECOSYSTEM_PREFIXES.items():
        if name.startswith(prefix) and topic not in words and prefix.rstrip("-") not in words:
            s -= 2.0
            break
    summary = pkg.summary.lower()
    if "transitional" in summary or "dummy" in summary:
        s -= 2.0
    if name.endswith(("-server", "-daemon", "d")) and query.wants_server:
        s += 0.3
    return Candidate(pkg, s, tuple(why))


def retrieve(query: Query, index: PackageIndex) -> list[Hit]:
    """Hits that match every concept of the query; concepts are dropped, most generic first, until some match."""
    hits = {h.package.name: h for h in index.search(query.terms, limit=200)}
    groups = [g for g in query.groups if fts_query(g)]
    while groups:
        strict = index.search_all([fts_query(g) for g in groups], limit=300)
        for h in strict:
            hits.setdefault(h.package.name, h)
        if len(strict) >= 10 or len(groups) == 1:
            break
        groups.remove(max(groups, key=lambda g: index.frequency(fts_query(g))))
    return list(hits.values())


def rank(request: str, index: PackageIndex, limit: int = 10) -> list[Candidate]:
    """The best ``limit`` real packages for ``request``, best first."""
    query = build_query(request)
    hits = retrieve(query, index)
    if not hits:
        return []
    best = max(h.relevance for h in hits)
    ranked = sorted((score(h.package, h.relevance, best, query) for h in hits), key=lambda c: -c.score)
    return ranked[:limit]
