"""cortex-llm's API key: the file llama-server reads with ``--api-key-file``, and what Cortex's clients send.

Without a key, any local user (and any program) can use cortex-llm's CPU and memory directly. With
one, llama-server answers 401 to every request without ``Authorization: Bearer KEY`` except
``/health`` (and ``/v1/health``), which stays public so liveness probes need no secret; on the
pinned build ``/metrics``, ``/props``, ``/slots``, ``/v1/models`` and the completions all need it.

The file is ``[llm] api_key_file`` (default ``llm.key`` in the mode's config directory; empty: no
key, the old open behaviour). Cortex creates it once, on cortex-llm's first start: 0600 in user
mode; in system mode 0640 root:cortex, so cortexd (root, group cortex) and members of the cortex
group, who may already use cortexd's socket, can read it, and nobody else. Clients read it on each
request, so a key created after cortexd started, or a new key, is used at once.
"""

from __future__ import annotations

import os
from pathlib import Path

from cortex.files import UnreadableFile, read_text
from cortex.redact import remember

MAX_BYTES = 4096
GROUP = "cortex"  # system mode: the group that may use cortexd's socket may use cortex-llm too


class KeyFileError(OSError):
    """The key file cannot be created or read; the message names it and says what to do."""


def read(path: Path | None) -> str:
    """The key in ``path`` (its first line that is not a comment), or "" when there is no key file to read."""
    if path is None:
        return ""
    try:
        text = read_text(path, MAX_BYTES)  # a regular file: a FIFO named here must not hang every request
    except UnreadableFile:
        return ""
    key = next((s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")), "")
    remember(key)  # never printed, logged or answered
    return key


def ensure(path: Path, mode: str) -> None:
    """Create the key file unless it exists: a new random key, readable only as the module docstring says."""
    if path.exists():
        if not read(path):
            raise KeyFileError(f"{path} holds no key; delete it to get a new one, or set [llm] api_key_file")
        return
    import secrets  # here: every 'cortex ask' imports this module, and only a first start needs it

    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"# cortex-llm's API key: clients send it as 'Authorization: Bearer KEY'\n{secrets.token_urlsafe(32)}\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if mode == "system":
            _share_with_group(tmp)
        os.link(tmp, path)  # never replaces a key another process created meanwhile
    except FileExistsError:
        pass
    except OSError as e:
        raise KeyFileError(
            f"cannot create cortex-llm's API key file {path}: {e.strerror}; "
            "create it (one line, the key) or set [llm] api_key_file to an empty value for no key"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


def _share_with_group(path: Path) -> None:
    """root:cortex 0640 when the group exists (scripts/install.sh creates it), else root-only 0600."""
    import grp

    try:
        gid = grp.getgrnam(GROUP).gr_gid
    except KeyError:
        return
    os.chown(path, 0, gid)
    os.chmod(path, 0o640)
