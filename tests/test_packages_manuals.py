"""Manual pages count for the package whose command they document, and request words are matched in the forms
Debian's texts write them."""

from __future__ import annotations

from cortex.packages.index import PackageIndex
from cortex.packages.manuals import Manual, attribute
from cortex.packages.search import build_query


def page(package: str, name: str) -> Manual:
    return Manual(package, name, "1", (name,), f"what {name} does")


COMMANDS = {
    "libc-bin": {"ldd", "locale"},
    "binutils": {"objdump", "nm"},
    "fontforge": {"fontforge"},
    "fontforge-nox": {"fontforge"},
    "openssl": {"openssl"},
    "diffutils": {"cmp", "diff"},
}


def test_a_page_in_a_package_without_commands_goes_to_the_package_of_its_command() -> None:
    moved = attribute([page("manpages", "ldd"), page("binutils-common", "objdump")], COMMANDS, {})
    assert [m.package for m in moved] == ["libc-bin", "binutils"]
    assert moved[0].names == ("ldd",) and moved[0].description == "what ldd does"


def test_a_package_with_commands_keeps_its_pages() -> None:
    # openssl's cmp(1ssl) is a subcommand of openssl, not diffutils' cmp
    assert attribute([page("openssl", "cmp")], COMMANDS, {})[0].package == "openssl"


def test_a_page_no_package_ships_a_command_for_stays_where_it_is() -> None:
    assert attribute([page("manpages", "intro")], COMMANDS, {})[0].package == "manpages"


def test_among_several_shippers_the_one_depending_on_the_pages_package_wins() -> None:
    depends = {"fontforge-nox": {"fontforge-common", "libc6"}, "fontforge": {"libc6"}}
    assert attribute([page("fontforge-common", "fontforge")], COMMANDS, depends)[0].package == "fontforge-nox"
    assert attribute([page("fontforge-common", "fontforge")], COMMANDS, {})[0].package == "fontforge"  # by name


def test_real_index_gives_pages_to_the_commands_packages(real_index: PackageIndex) -> None:
    def owner(name: str) -> set[str]:
        rows = real_index.conn.execute("SELECT package FROM manuals WHERE page = ? AND section = '1'", (name,))
        return {r[0] for r in rows}

    assert owner("ldd") == {"libc-bin"}  # shipped in manpages
    assert "binutils" in owner("objdump")  # shipped in binutils-common
    assert "git" in owner("git")  # shipped in git-man
    assert "diffutils" in owner("cmp")  # and openssl's cmp(1ssl) did not take it
    terms = build_query("Print shared library dependencies of a program.").terms
    found = {hit.package: hit.names for hit in real_index.search_manuals(terms)[:8]}
    assert found.get("libc-bin") == ("ldd",), found


def test_a_hyphenated_word_also_matches_its_joined_form() -> None:
    groups = build_query("compute the SHA-256 checksum of an e-mail").groups
    assert groups[1][:2] == ["sha-256", "sha256"]
    assert any("email" in g for g in groups)
    assert all("" not in g for g in build_query("a - b").groups)


def test_real_index_finds_sha256sum_for_a_hyphenated_request(real_index: PackageIndex) -> None:
    terms = build_query("Compute the SHA-256 checksum of a file.").terms
    pages = {name for hit in real_index.search_manuals(terms)[:8] for name in hit.names}
    assert "sha256sum" in pages, pages
    assert "sha256sum" not in {n for h in real_index.search_manuals(["sha-256", "checksum"])[:8] for n in h.names}
