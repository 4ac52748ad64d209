"""Misspelt request words are read as the words apt's index uses, and only those."""

from __future__ import annotations

import pytest

from cortex.packages.index import PackageIndex
from cortex.packages.spelling import correct, edit_distance


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("server", "server", 0),
        ("servr", "server", 1),  # a letter left out
        ("pyhton", "python", 1),  # neighbours swapped
        ("firefx", "firefox", 1),
        ("wireshrk", "wireshark", 1),
        ("screnshot", "screenshot", 1),
        ("kitten", "sitting", 3),
    ],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b, limit=5) == distance


def test_edit_distance_stops_past_its_limit() -> None:
    assert edit_distance("kitten", "sitting", limit=1) == 2
    assert edit_distance("a", "abcdef", limit=2) == 3


def test_misspelt_words_become_the_indexs_words(real_index: PackageIndex) -> None:
    assert correct("install wireshrk", real_index) == ("install wireshark", {"wireshrk": "wireshark"})
    assert correct("pyhton3", real_index)[0] == "python3"
    assert correct("a screnshot tool", real_index)[0] == "a screenshot tool"
    assert correct("Firefx please", real_index)[0] == "firefox please"


def test_known_short_and_hopeless_words_stay(real_index: PackageIndex) -> None:
    assert correct("install nginx and a database", real_index) == ("install nginx and a database", {})
    assert correct("gcc vlc", real_index) == ("gcc vlc", {})  # too short to guess at
    assert correct("qqqzzzxxyy", real_index) == ("qqqzzzxxyy", {})  # nothing is close
    assert correct("instal", real_index) == ("instal", {})  # full-text search stems it as it does "install"
    assert correct("install minikube", real_index) == ("install minikube", {})  # not Debian's, and not minitube
    assert correct("install lutris", real_index) == ("install lutris", {})  # nor ltris: rare words are no targets
    assert correct("smth to play mp3s", real_index) == ("smth to play mp3s", {})  # not smtp: too short
    assert correct("install 2wireshrk", real_index) == ("install 2wireshrk", {})  # no word inside a token


@pytest.mark.parametrize("word", ["scannable", "grepped", "unzippable", "bookmarkable", "resizable"])
def test_words_made_from_common_words_are_no_typos(real_index: PackageIndex, word: str) -> None:
    request = f"a {word} thing"  # "scannable" is "scan" + "able", not a mistyped "scalable"
    assert correct(request, real_index) == (request, {})
