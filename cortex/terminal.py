"""Text for the terminal: what a user, a model or the machine wrote, without terminal control sequences.

A request, a command, a model's answer, an alert's mount point or unit name reach the terminal echoed by
the CLI. Printed raw, ``ESC[2J`` clears the screen, OSC 52 (``ESC]52;c;...BEL``) writes the clipboard, a CR
overwrites what the line said and U+202E reverses the text after it. :func:`printable` keeps the text,
newlines and tabs and drops the rest: whole escape sequences (CSI, OSC, DCS and their kin), other C0 and C1
controls, and the bidirectional overrides and isolates. Cortex's own colours are added after it, by click
or rich. Every ESC and C1 control goes, so a sequence split across two streamed chunks cannot form either.
"""

from __future__ import annotations

import re

_CONTROLS = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: cursor moves, erases, colours
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, DCS, SOS, PM, APC up to BEL or ST (or the end)
    r"|\x1b[ -/]*[0-~]?"  # other escapes (charset switches, RIS...), or a lone ESC
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # C0 but tab and newline, DEL, C1
    r"|[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"  # bidirectional marks, embeddings, overrides, isolates
)


def printable(text: str) -> str:
    """``text`` without terminal control sequences; newlines and tabs stay."""
    return _CONTROLS.sub("", text)
