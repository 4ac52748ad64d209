"""Databases through their clients: a DROP, a TRUNCATE or a FLUSHALL destroys data in one statement.

The SQL or store command a client is given (``psql -c``, ``mysql -e``, ``sqlite3 DB SQL``, ``mongosh --eval``,
``redis-cli CMD``, or literal text on stdin) is read for what destroys a database, a table or every row; the
dedicated droppers (``dropdb``, ``mysqladmin drop``) the same. Reads and other changes are confirmed.
"""

from __future__ import annotations

import re

from cortex.safety.rules import Context, block, confirm, rule, split_options
from cortex.safety.rules.writes import stdin_content
from cortex.safety.verdict import Finding

DESTROYS = re.compile(
    r"\bdrop\s+(database|schema|table|owned)\b|\btruncate\b|\bdelete\s+from\s+[\w.\"`]+\s*(;|$)"  # SQL
    r"|\b(flushall|flushdb)\b|\.dropDatabase\s*\(|\.drop\s*\(\s*\)",  # redis, mongo
    re.I,
)
# client -> the options that carry the statements it runs.
STATEMENT_OPTIONS = {
    "psql": ("-c", "--command"),
    "mysql": ("-e", "--execute"),
    "mariadb": ("-e", "--execute"),
    "mongo": ("--eval",),
    "mongosh": ("--eval",),
}
# options that take a value, so the value is not read as a statement or a database name
VALUE_OPTIONS = frozenset({"-h", "-p", "-n", "-a", "-u", "-s", "--user", "--pass", "--host", "--port", "-d", "-U"})


def _statements(ctx: Context) -> list[str]:
    """What the client is told to run: its statement options, its operands (sqlite3, redis-cli), its stdin."""
    texts = [w.text for w in ctx.args]
    options = STATEMENT_OPTIONS.get(ctx.inv.name, ())
    out = [texts[i + 1] for i, t in enumerate(texts[:-1]) if t in options]
    out += [t.split("=", 1)[1] for t in texts if "=" in t and t.split("=", 1)[0] in options]
    _, operands = split_options(ctx.args, VALUE_OPTIONS | frozenset(options))
    if ctx.inv.name == "sqlite3":
        out += [w.text for w in operands[1:]]
    if ctx.inv.name == "redis-cli":
        out.append(" ".join(w.text for w in operands))
    stdin = stdin_content(ctx, ctx.cmd)
    return out + ([stdin.text] if stdin.kind == "text" else [])


@rule(*STATEMENT_OPTIONS, "sqlite3", "redis-cli")
def client(ctx: Context) -> list[Finding]:
    hit = next((m.group(0) for s in _statements(ctx) if (m := DESTROYS.search(s))), None)
    if hit:
        return [block(f"{ctx.inv.name} runs {hit}: the data is gone, with no undo", "critical")]
    return [confirm(f"{ctx.inv.name} runs statements against a database")]


@rule("dropdb", "mysqladmin")
def dropper(ctx: Context) -> list[Finding]:
    _, operands = split_options(ctx.args, VALUE_OPTIONS)
    if ctx.inv.name == "dropdb" or any(w.text == "drop" for w in operands):
        return [block(f"{ctx.inv.name} drops a whole database", "critical")]
    return [confirm(f"{ctx.inv.name} administers a database server")]
