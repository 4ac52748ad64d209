"""The package index: exact rows from a small synthetic apt list, incremental rebuilds, and the real Debian lists."""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from cortex.packages import appstream, contents, debian, descriptions
from cortex.packages import index as index_module
from cortex.packages.index import PackageIndex, PackageIndexError, tag_words

PACKAGES = """\
Package: nginx
Version: 1.22.1-9
Installed-Size: 1331
Provides: httpd, httpd-cgi
Depends: libc6 (>= 2.34), nginx-common (= 1.22.1-9)
Description: small, powerful, scalable web/proxy server
Tag: interface::daemon, network::server, protocol::http,
 role::program, implemented-in::c
Section: httpd
Priority: optional

Package: nginx-common
Version: 1.22.1-9
Installed-Size: 332
Depends: lsb-base
Description: small, powerful, scalable web/proxy server - common files
Section: httpd
Priority: optional

Package: apache2
Version: 2.4.62-1
Installed-Size: 560
Provides: httpd
Recommends: ssl-cert
Description: Apache HTTP Server
 The Apache HTTP Server Project's goal is to build a secure, efficient and
 .
 extensible HTTP server.
Section: httpd
Priority: optional

Package: libapache2-mod-php
Version: 2:8.2
Depends: apache2 | httpd, libc6
Enhances: apache2
Description: server-side, HTML-embedded scripting language (Apache 2 module)
Section: php
Priority: optional

Package: tree
Version: 2.1.0-1
Installed-Size: 100
Depends: libc6
Description: displays an indented directory tree, in color
Description-md5: 9f1b3c2d4e5f60718293a4b5c6d7e8f9
Section: utils
Priority: optional

Package: libc6
Version: 2.36-9
Installed-Size: 12000
Description: GNU C Library: Shared libraries
Section: libs
Priority: required
Essential: yes
"""
STATUS = """\
Package: tree
Status: install ok installed
Version: 2.1.0-1
Description: displays an indented directory tree, in color

Package: nginx
Status: deinstall ok config-files
Version: 1.22.1-8
Description: small, powerful, scalable web/proxy server

Package: local-tool
Status: install ok installed
Version: 0.1
Section: misc
Description: a tool built on this machine
"""
LIST_NAME = "deb.example.org_debian_dists_stable_main_binary-amd64_Packages"


@pytest.fixture
def apt_dir(tmp_path: Path) -> Path:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / LIST_NAME).write_text(PACKAGES, encoding="utf-8")
    (tmp_path / "status").write_text(STATUS, encoding="utf-8")
    return tmp_path


def make_index(apt_dir: Path) -> PackageIndex:
    return PackageIndex(apt_dir / "state" / "packages.db", apt_dir / "lists", apt_dir / "status")


def test_rows_hold_apt_fields_relations_and_install_state(apt_dir: Path) -> None:
    index = make_index(apt_dir)
    report = index.ensure()
    assert report.action == "built"
    assert report.packages == 7  # six from the list, plus local-tool that only dpkg knows

    nginx = index.get("nginx")
    assert nginx is not None
    assert (nginx.version, nginx.section, nginx.priority, nginx.installed_size) == (
        "1.22.1-9",
        "httpd",
        "optional",
        1331,
    )
    assert nginx.summary == "small, powerful, scalable web/proxy server"
    assert nginx.provides == ("httpd", "httpd-cgi")
    assert "interface::daemon" in nginx.tags and "network::server" in nginx.tags
    assert nginx.service == "nginx"
    assert not nginx.installed  # only its config files are left

    apache = index.get("apache2")
    assert apache is not None
    assert (
        apache.description
        == "The Apache HTTP Server Project's goal is to build a secure, efficient and\n\nextensible HTTP server."
    )
    assert apache.rdepends == 1  # libapache2-mod-php
    assert apache.mentions == 1  # enhanced by libapache2-mod-php
    assert index.get("libc6").rdepends == 3  # nginx, libapache2-mod-php, tree  # type: ignore[union-attr]
    assert index.get("libc6").essential  # type: ignore[union-attr]

    tree = index.get("tree")
    assert tree is not None and tree.installed and tree.installed_version == "2.1.0-1"
    assert index.get("local-tool").installed  # type: ignore[union-attr]
    assert index.providers("httpd") == ["apache2", "nginx"]  # most depended-on first
    assert index.exists("tree") and not index.exists("no-such-package")


def test_search_ranks_by_bm25_over_name_and_text(apt_dir: Path) -> None:
    index = make_index(apt_dir)
    names = [h.package.name for h in index.search(["http", "server"])]
    assert names[0] in ("apache2", "nginx") and set(names) >= {"apache2", "nginx"}
    assert [h.package.name for h in index.search(["directory tree"])] == ["tree"]
    assert index.search(['"; DROP TABLE packages; --']) == []  # FTS syntax is quoted, never interpreted
    assert index.search([]) == []


def test_unchanged_lists_are_not_reread_and_status_changes_refresh_in_place(apt_dir: Path) -> None:
    index = make_index(apt_dir)
    index.ensure()
    assert index.ensure().action == "unchanged"

    status = apt_dir / "status"
    status.write_text(
        STATUS.replace(
            "Package: tree\nStatus: install ok installed", "Package: tree\nStatus: deinstall ok config-files"
        )
    )
    os.utime(status, ns=(1, 1))  # a different mtime, as dpkg would leave
    assert index.ensure().action == "refreshed"
    index.close()
    assert not index.get("tree").installed  # type: ignore[union-attr]

    lists = apt_dir / "lists" / LIST_NAME
    lists.write_text(PACKAGES + "\nPackage: htop\nVersion: 3.2\nDescription: interactive processes viewer\n")
    assert index.ensure().action == "built"
    assert index.get("htop") is not None


def test_compressed_lists_are_read(apt_dir: Path) -> None:
    plain = apt_dir / "lists" / LIST_NAME
    data = plain.read_bytes()
    gz = plain.with_name(plain.name + ".gz")
    gz.write_bytes(gzip.compress(data))
    plain.unlink()
    assert make_index(apt_dir).ensure().packages == 7
    if not (shutil.which("lz4") and Path(debian.APT_HELPER).exists()):
        return
    gz.unlink()
    lz4 = plain.with_name(plain.name + ".lz4")  # what Debian's container images keep
    subprocess.run(["lz4", "-q", "-f", "-", str(lz4)], input=data, check=True)
    assert debian.read_text(lz4) == PACKAGES
    report = make_index(apt_dir).ensure()
    assert (report.action, report.packages) == ("built", 7)


def test_missing_lists_say_run_apt_get_update(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    index = PackageIndex(tmp_path / "packages.db", tmp_path / "lists", tmp_path / "status")
    with pytest.raises(PackageIndexError, match="run 'apt-get update'"):
        index.ensure()
    with pytest.raises(PackageIndexError, match="apt-get update"):
        index.get("nginx")  # reading builds on demand, and fails the same clear way
    assert not (tmp_path / "packages.db").exists()


def test_a_corrupt_database_is_rebuilt(apt_dir: Path) -> None:
    db = apt_dir / "state" / "packages.db"
    db.parent.mkdir()
    db.write_bytes(b"this is not sqlite" * 100)
    index = make_index(apt_dir)
    assert index.ensure().action == "built"
    assert index.get("tree") is not None
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_control_file_parsing_edge_cases() -> None:
    text = "Package: a\nDescription: x\n more\n\n\nNoColonLine\nPackage: b\nDepends: c (>= 1) | d:any, e\n"
    rows = list(debian.stanzas(text))
    assert [r["package"] for r in rows] == ["a", "b"]
    assert rows[0]["description"] == "x\nmore"
    assert debian.dependency_names(rows[1]["depends"]) == {"c", "d", "e"}
    assert debian.long_description("sum\n line one\n .\n line two") == ("sum", "line one\n\nline two")
    assert tag_words(("implemented-in::c", "use::editing", "works-with::image:raster", "role::TODO")) == (
        "editing image raster"
    )


@pytest.mark.apt
def test_real_debian_lists_build_fast_enough_and_hold_known_packages(real_index: PackageIndex) -> None:
    assert real_index.count() > 1000
    bash = real_index.get("bash")
    assert bash is not None and bash.essential and bash.installed
    assert "apache2" in real_index.providers("httpd")
    hits = [h.package.name for h in real_index.search(["nmap"], limit=5)]
    assert "nmap" in hits


TRANSLATION = """\
Package: tree
Description-md5: 9f1b3c2d4e5f60718293a4b5c6d7e8f9
Description-en: displays an indented directory tree, in color
 Tree is a recursive directory listing command that produces a depth
 indented listing of files.

Package: tree
Description-md5: 00000000000000000000000000000000
Description-en: an older description whose md5 no list names any more
 It must not be used.
"""


def test_long_descriptions_come_from_cortexs_own_lists_by_description_md5(apt_dir: Path) -> None:
    index = make_index(apt_dir)
    index.ensure()
    assert index.get("tree").description == ""  # apt's lists carry only the summary
    assert index.search(["recursive"]) == []
    own = descriptions.descriptions_dir(apt_dir / "state")
    own.mkdir(parents=True)
    (own / "deb.example.org_debian_dists_stable_main_i18n_Translation-en").write_text(TRANSLATION, encoding="utf-8")
    assert index.ensure().action == "built"  # new description files change the lists' signature
    tree = index.get("tree")
    assert tree.description.startswith("Tree is a recursive directory listing command")
    assert [h.package.name for h in index.search(["recursive"])] == ["tree"]


def test_a_failed_description_fetch_says_what_apt_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "apt-get"
    fake.write_text("#!/bin/sh\necho 'E: Failed to fetch http://deb.debian.org/debian/InRelease' >&2\nexit 100\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    with pytest.raises(descriptions.DescriptionsError, match=r"E: Failed to fetch http://deb\.debian\.org"):
        descriptions.fetch(tmp_path / "lists")
    assert descriptions.main([str(tmp_path / "lists")]) == 1


def test_the_fetch_writes_only_into_its_own_directory(tmp_path: Path) -> None:
    command = descriptions.fetch_command(tmp_path)
    assert command[:2] == ["apt-get", "update"]
    assert f"Dir::State::Lists={tmp_path}" in command  # never the system's lists
    assert "Acquire::IndexTargets::deb::Packages::DefaultEnabled=false" in command  # translations only


def test_real_long_descriptions_are_fetched_and_indexed(real_index: PackageIndex) -> None:
    assert debian.list_files(real_index.descriptions_dir, "Translation-en")
    valgrind = real_index.get("valgrind")
    assert valgrind is not None and "memory" in valgrind.description.lower()


DEP11 = """\
---
File: DEP-11
Version: '0.16'
Origin: debian-bookworm-main
---
Type: desktop-application
ID: org.example.tree
Package: tree
Name:
  de: Baum
  C: Tree Viewer
Summary:
  de: Verzeichnisse als Baum
  C: Show folders as a tree
Categories:
- System
- FileManager
Keywords:
  de:
  - Verzeichnis
  C:
  - hierarchy
  - 'folders'
  fr:
  - arbre
---
Type: addon
ID: org.example.tree-plugin
Package: apache2
Extends:
- org.example.tree
Name:
  C: Tree web view
"""
DEP11_NAME = "deb.example.org_debian_dists_stable_main_dep11_Components-amd64.yml"


def test_appstream_components_keep_english_values_only() -> None:
    tree, addon = list(appstream.components(DEP11))
    assert (tree.type, tree.package, tree.name, tree.summary) == (
        "desktop-application",
        "tree",
        "Tree Viewer",
        "Show folders as a tree",
    )
    assert tree.keywords == ["hierarchy", "folders"]  # not "Verzeichnis", not "arbre"
    assert tree.keyword_words() == ["hierarchy", "folders", "system", "file", "manager"]
    assert (addon.type, addon.package, addon.summary) == ("addon", "apache2", "")


def test_appstream_marks_applications_and_adds_their_words_to_the_index(apt_dir: Path) -> None:
    own = descriptions.descriptions_dir(apt_dir / "state")
    own.mkdir(parents=True)
    (own / DEP11_NAME).write_text(DEP11, encoding="utf-8")
    index = make_index(apt_dir)
    index.ensure()
    tree, apache2, nginx = index.get("tree"), index.get("apache2"), index.get("nginx")
    assert tree.app and tree.app_title == "Tree Viewer: Show folders as a tree"
    assert "hierarchy" in tree.app_keywords.split()
    assert not apache2.app and apache2.app_title == "Tree web view"  # an add-on is no application
    assert not nginx.app and nginx.app_title == ""
    assert [h.package.name for h in index.search(["hierarchy"])] == ["tree"]
    (own / DEP11_NAME).unlink()
    assert index.ensure().action == "built" and not index.get("tree").app


def test_real_appstream_catalogue_is_fetched_and_indexed(real_index: PackageIndex) -> None:
    assert appstream.list_files(real_index.descriptions_dir)
    kdenlive = real_index.get("kdenlive")
    assert kdenlive is not None and kdenlive.app and "video editor" in kdenlive.app_title.lower()
    assert not real_index.get("libc6").app


CONTENTS = """\
usr/bin/tree                                            utils/tree
usr/share/doc/tree/README                               utils/tree
usr/sbin/apache2                                        httpd/apache2
usr/bin/ab                                              httpd/apache2,httpd/nginx
lib/systemd/system/apache2.service                      httpd/apache2
lib/systemd/system/apache2@.service                     httpd/apache2
lib/systemd/system/nginx.service                        httpd/nginx-common
"""


def test_contents_files_give_each_package_its_commands_and_units(apt_dir: Path) -> None:
    own = apt_dir / "state" / descriptions.DIRNAME
    own.mkdir(parents=True)
    (own / "deb.example.org_debian_dists_stable_main_Contents-amd64").write_text(CONTENTS, encoding="utf-8")
    index = make_index(apt_dir)
    index.ensure()
    assert index.get("tree").commands == ("tree",)  # the README is no command
    assert index.get("apache2").commands == ("ab", "apache2")
    assert index.get("libc6").commands == ()
    assert set(index.command_owners("ab")) == {"apache2", "nginx"}
    assert index.command_owners("a") == []  # an FTS token of no command
    assert index.search(["ab"])[0].package.name in {"apache2", "nginx"}  # commands are searchable words
    assert index.get("apache2").units == ("apache2.service",)  # not the apache2@ template
    assert index.get("nginx-common").units == ("nginx.service",)
    assert index.get("nginx-common").service == ""  # which unit a plan enables stays services.py's rule


def test_real_contents_are_fetched_and_indexed(real_index: PackageIndex) -> None:
    assert contents.list_files(real_index.descriptions_dir)
    assert real_index.command_owners("dig") == ["bind9-dnsutils"]
    assert "rg" in real_index.get("ripgrep").commands
    assert "mosquitto.service" in real_index.get("mosquitto").units  # a server, though no debtag says so
    assert real_index.command_owners("R") == real_index.command_owners("r") != []  # request words are lower-case
    assert real_index.command_owners("[") == []  # no word at all


def test_unreadable_contents_leave_the_index_without_commands(apt_dir: Path) -> None:
    own = apt_dir / "state" / descriptions.DIRNAME
    own.mkdir(parents=True)
    (own / "deb.example.org_debian_dists_stable_main_Contents-amd64.lz4").write_bytes(b"not lz4 at all")
    index = make_index(apt_dir)
    assert index.ensure().action == "built"
    assert index.get("tree").commands == () and index.get("tree").summary  # built, just without them


def test_on_path_sees_executables_only_and_a_program_installed_since_the_last_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "tool").write_text("#!/bin/sh\n")
    (bin_dir / "tool").chmod(0o755)
    (bin_dir / "notes").write_text("not a program\n")  # listed, but not executable
    monkeypatch.setattr(index_module, "COMMAND_DIRS", (str(bin_dir),))
    monkeypatch.setattr(index_module, "_commands", (float("-inf"), {}))
    assert index_module.on_path("tool") and not index_module.on_path("notes")
    assert not index_module.on_path("later") and not index_module.on_path(f"{bin_dir}/tool")  # a path is no name
    (bin_dir / "later").write_text("#!/bin/sh\n")
    (bin_dir / "later").chmod(0o755)
    monkeypatch.setattr(index_module, "COMMANDS_TTL", 0.0)  # the listing is read again once it is this old
    assert index_module.on_path("later")
