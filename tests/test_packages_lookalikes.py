"""Unicode in requests: compatibility forms are folded (NFKC), and a word that imitates a package name with letters
from another script is refused, naming the letters, never planned as some other package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from cortex.install.planner import PlanError, make_plan
from cortex.llm.interpreter import CommandInterpreter
from cortex.packages.index import PackageIndex
from cortex.packages.lookalikes import LookalikeError, check
from cortex.safety.confusables import LOOKALIKES, skeleton

pytestmark = pytest.mark.apt
CORTEX = str(Path(sys.executable).parent / "cortex")


@pytest.mark.parametrize(
    ("text", "packages"),
    [
        ("ｎｇｉｎｘ", ["nginx"]),  # full-width letters
        ("install ｈｔｏｐ and ｔｒｅｅ", ["htop", "tree"]),
        ("install ﬁglet", ["figlet"]),  # the fi ligature
        ("install nginx\u00a0and\u2003tree", ["nginx", "tree"]),  # no-break and em spaces
    ],
)
def test_compatibility_forms_are_folded_before_names_are_matched(
    real_index: PackageIndex, text: str, packages: list[str]
) -> None:
    plan = make_plan(text, index=real_index)
    assert plan.packages == packages
    assert plan.steps[0].argv == ["apt-get", "install", "-y", *packages]


@pytest.mark.parametrize(
    ("text", "word", "name", "letters"),
    [
        ("nɡinx", "nɡinx", "nginx", ["U+0261"]),  # IPA script g
        ("install nginх", "nginх", "nginx", ["U+0445"]),  # Cyrillic ha
        ("install mοngodb", "mοngodb", "mongodb", ["U+03BF"]),  # Greek omicron; Debian has no mongodb: mixed scripts
        ("install аpache2 and tree", "аpache2", "apache2", ["U+0430"]),  # Cyrillic a, among a clean name
        ("уum", "уum", "yum", ["U+0443"]),  # Cyrillic u, one script mixed with Latin
        ("remove ѕudo", "ѕudo", "sudo", ["U+0455"]),  # a removal is checked the same way
        ("install ＮＧＩＮх", "NGINх", "nginx", ["U+0445"]),  # folded first, then still a look-alike
        ("сurl", "сurl", "curl", ["U+0441"]),
        ("install htоp", "htоp", "htop", ["U+043E"]),
    ],
)
def test_a_lookalike_of_a_package_name_is_refused_naming_its_letters(
    real_index: PackageIndex, text: str, word: str, name: str, letters: list[str]
) -> None:
    with pytest.raises(PlanError) as e:
        make_plan(text, index=real_index)
    message = str(e.value)
    assert repr(word) in message and repr(name) in message, message
    for code in letters:
        char = chr(int(code[2:], 16))
        assert code in message and unicodedata.name(char) in message, message


@pytest.mark.parametrize(
    "text",
    [
        "ein Programm zum Bearbeiten von Fotos",  # German: Latin letters, some of them not ASCII
        "ich möchte größere Dateien schneller übertragen",
        "редактор текста",  # Russian words: one script, imitating nothing
        "программа для просмотра фото",
        "επεξεργαστής κειμένου",  # Greek
    ],
)
def test_words_of_other_languages_are_not_refused(real_index: PackageIndex, text: str) -> None:
    assert check(text, real_index) == text  # nothing refused, nothing changed
    try:
        make_plan(text, index=real_index)
    except LookalikeError as e:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"refused a genuine sentence: {e}")
    except PlanError:
        pass  # no package may match these words; that is the ranking's answer, not a refusal


def test_a_single_script_word_is_refused_only_when_it_spells_a_package_name() -> None:
    """All-Cyrillic 'сор' spells 'cop' in look-alikes: refused where 'cop' is a package, passed where it is not."""

    class Names:
        def __init__(self, names: set[str]):
            self.names = names

        def exists(self, name: str) -> bool:
            return name in self.names

    assert check("install сор", Names({"nginx"})) == "install сор"
    with pytest.raises(LookalikeError, match="imitates the package name 'cop'"):
        check("install сор", Names({"cop"}))
    with pytest.raises(LookalikeError, match="mixes Cyrillic and Latin letters"):
        check("install nginxд", Names(set()))  # mixed scripts, whatever it spells
    assert check("nginx-сервер", Names(set())) == "nginx-сервер"  # each part of a compound is one script


def test_the_table_is_data_and_maps_only_to_plain_ascii() -> None:
    """One table for the validator's program names and the planner's package names (cortex/safety/data)."""
    table = {chr(k): v for k, v in LOOKALIKES.items()}
    assert table["ɡ"] == "g" and table["х"] == "x" and table["ο"] == "o" and table["ӏ"] == "l"
    assert all(not k.isascii() and v.isascii() and len(v) == 1 for k, v in table.items())
    assert skeleton("nɡinх") == "nginx"


def test_the_python_api_and_the_cli_refuse_a_lookalike(real_index: PackageIndex, tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="nginx"):
        CommandInterpreter(provider="fake", index=real_index).parse("install nɡinx")
    env = {**os.environ, "CORTEX_HOME": str(tmp_path / "home"), "CORTEX_PROVIDER": "fake"}
    for flags in (["--dry-run"], ["--dry-run", "--json"]):
        result = subprocess.run(
            [CORTEX, "install", "nɡinx", *flags], capture_output=True, text=True, env=env, timeout=300, check=False
        )
        assert result.returncode == 1 and result.stdout == "", result.stdout
        assert "U+0261" in result.stderr and "'nginx'" in result.stderr and "n2n" not in result.stderr
    folded = subprocess.run(
        [CORTEX, "install", "ｎｇｉｎｘ", "--json"], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert folded.returncode == 0, folded.stderr
    assert json.loads(folded.stdout)["packages"] == ["nginx"]
