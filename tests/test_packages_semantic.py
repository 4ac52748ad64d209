"""The semantic signal for real: the bundled all-MiniLM-L6-v2 embeds a small index, incrementally, and finds
packages by meaning where they share no word with the request."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cortex.packages import semantic
from cortex.packages.index import PackageIndex
from cortex.packages.search import rank

PACKAGES = """\
Package: iperf3
Version: 3.12-1
Section: net
Priority: optional
Description: Internet Protocol bandwidth measuring tool
 iperf3 measures the maximum achievable bandwidth on IP networks.

Package: xxd
Version: 2:9.0.1378-2
Section: editors
Priority: optional
Description: tool to make (or reverse) a hex dump
 xxd creates a hex dump of a given file or standard input.

Package: lvm2
Version: 2.03.16-2
Section: admin
Priority: optional
Description: Linux Logical Volume Manager
 This is LVM2, the rewrite of The Linux Logical Volume Manager.

Package: cowsay
Version: 3.03+dfsg2-8
Section: games
Priority: optional
Description: configurable talking cow
 Cowsay will turn text into happy ASCII cows, with speech balloons.

Package: tcpdump
Version: 4.99.3-1
Section: net
Priority: optional
Description: command-line network traffic analyzer
 This program allows you to dump the traffic on a network.
"""


def make_index(tmp_path: Path, models_dir: Path) -> PackageIndex:
    lists = tmp_path / "lists"
    if not lists.exists():
        lists.mkdir()
        (lists / "deb.example.org_debian_dists_stable_main_binary-amd64_Packages").write_text(PACKAGES, "utf-8")
        (tmp_path / "status").write_text("", encoding="utf-8")
    return PackageIndex(tmp_path / "state" / "packages.db", lists, tmp_path / "status", models_dir=models_dir)


def test_the_query_encoder_agrees_with_the_bulk_encoder(embedder_dir: Path) -> None:
    texts = ["Traffic generator for testing network bandwidth.", "configurable talking cow", "x"]
    bulk = semantic.BulkEncoder(embedder_dir).encode(texts)
    query = semantic.query_encoder(embedder_dir)
    for text, row in zip(texts, bulk, strict=True):
        assert float(query.encode(text) @ row) > 0.99  # int8 ONNX against fp32 numpy: the same model
    assert abs(float(np.linalg.norm(bulk[0])) - 1.0) < 1e-3


def test_vectors_are_built_with_progress_then_reused(
    tmp_path: Path, embedder_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = make_index(tmp_path, embedder_dir)
    heard: list[tuple[str, int, int]] = []
    report = index.ensure(lambda stage, done, total: heard.append((stage, done, total)))
    assert report.action == "built"
    stage, done, total = heard[-1]
    assert stage == "vectors" and done == total >= 5  # the summaries and the NAME lines of their pages
    assert index.vectors.current(index.vectors.directory.joinpath("stamp").read_text())

    def no_encoding(*args, **kwargs):
        raise AssertionError("nothing changed: nothing to encode")

    monkeypatch.setattr(semantic.BulkEncoder, "encode", no_encoding)
    again = make_index(tmp_path, embedder_dir)
    assert again.ensure().action == "unchanged"
    # A rebuild of the database (a new schema, new lists) re-uses the vectors of texts seen before.
    again.vectors.directory.joinpath("stamp").unlink()
    assert again.ensure().action == "vectors"


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("Traffic generator for testing network bandwidth.", "iperf3"),
        ("show the bytes of a binary file in hexadecimal", "xxd"),
        ("Add physical volumes to an existing volume group.", "lvm2"),
    ],
)
def test_meaning_finds_packages_that_share_no_word(
    tmp_path: Path, embedder_dir: Path, request_text: str, expected: str
) -> None:
    index = make_index(tmp_path, embedder_dir)
    index.ensure()
    assert index.nearest(index.vectors.encode(request_text), limit=1) == [expected]
    assert rank(request_text, index, limit=1)[0].package.name == expected


def test_without_the_embedder_plans_use_full_text_alone(tmp_path: Path) -> None:
    index = make_index(tmp_path, tmp_path / "no-models")
    assert index.ensure().action == "built"
    assert not index.vectors.directory.exists()
    assert index.nearest(index.vectors.encode("network bandwidth")) == []
    assert rank("network bandwidth measuring", index, limit=1)[0].package.name == "iperf3"


def test_the_query_encoder_gives_the_vectors_it_always_gave(embedder_dir: Path) -> None:
    # tests/data/query_vectors.json: vectors the encoder gave at 1932aac, before it was made faster; a
    # rearranged computation may round differently, but only in float32's last bits.
    pinned = json.loads((Path(__file__).parent / "data" / "query_vectors.json").read_text(encoding="utf-8"))
    encoder = semantic.query_encoder(embedder_dir)
    for text, vector in pinned.items():
        assert np.abs(encoder.encode(text) - np.array(vector, np.float32)).max() < 1e-6, text
