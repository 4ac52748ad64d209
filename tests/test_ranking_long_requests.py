"""Long descriptions of what a tool does are ranked with their own weights (``search.long_request``), on a
small real index with the bundled embedder: a description of a client names the server it talks to, and a
request that short names a server asks for the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from cortex.packages.index import PackageIndex
from cortex.packages.search import build_query, long_request, rank

PACKAGES = """\
Package: redis-server
Version: 5:7.0.15-1
Section: database
Priority: optional
Tag: implemented-in::c, role::program, network::server
Description: Persistent key-value database with network interface
 Redis is a key-value database in a similar vein to memcache but the dataset is non-volatile.

Package: redis-tools
Version: 5:7.0.15-1
Section: database
Priority: optional
Description: Persistent key-value database with network interface (client)
 Redis is a key-value database in a similar vein to memcache but the dataset is non-volatile.

Package: slapd
Version: 2.5.13+dfsg-5
Section: net
Priority: optional
Tag: interface::daemon, network::server, protocol::ldap, role::program
Description: OpenLDAP server (slapd)
 This is the OpenLDAP (Lightweight Directory Access Protocol) server (slapd). The server can be used to
 provide a standalone directory service.

Package: ldap-utils
Version: 2.5.13+dfsg-5
Section: net
Priority: optional
Tag: interface::commandline, network::client, protocol::ldap, role::program
Description: OpenLDAP utilities
 This package provides utilities from the OpenLDAP (Lightweight Directory Access Protocol) package. These
 utilities can access a local or remote LDAP server and contain all the client programs required.

Package: mariadb-server
Version: 1:10.11.6-0+deb12u1
Section: database
Priority: optional
Tag: interface::daemon, network::server, protocol::db:mysql, role::program
Description: MariaDB database server binaries
 MariaDB is a fast, stable and true multi-user, multi-threaded SQL database server.

Package: mariadb-client
Version: 1:10.11.6-0+deb12u1
Section: database
Priority: optional
Tag: interface::commandline, network::client, protocol::db:mysql, role::program
Description: MariaDB database client binaries
 MariaDB is a fast, stable and true multi-user, multi-threaded SQL database server.

Package: cowsay
Version: 3.03+dfsg2-8
Section: games
Priority: optional
Description: configurable talking cow
 Cowsay will turn text into happy ASCII cows, with speech balloons.
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder_dir: Path) -> PackageIndex:
    root = tmp_path_factory.mktemp("long-requests")
    lists = root / "lists"
    lists.mkdir()
    (lists / "deb.example.org_debian_dists_stable_main_binary-amd64_Packages").write_text(PACKAGES, "utf-8")
    (root / "status").write_text("", encoding="utf-8")
    built = PackageIndex(root / "state" / "packages.db", lists, root / "status", models_dir=embedder_dir)
    built.ensure()
    return built


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("interactive shell that sends commands to a redis key-value store server and prints what it answers",
         "redis-tools"),
        ("search a remote directory server over the network for the entries matching a filter and print them",
         "ldap-utils"),
        ("connect from a terminal to a remote SQL database server, run queries on it and print the resulting tables",
         "mariadb-client"),
    ],
)  # fmt: skip
def test_a_long_description_of_a_client_is_the_client_not_the_server_it_names(
    index: PackageIndex, request_text: str, expected: str
) -> None:
    assert long_request(build_query(request_text)) == 1.0
    assert rank(request_text, index, limit=1)[0].package.name == expected


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [("a redis server", "redis-server"), ("an ldap server", "slapd"), ("a mariadb database server", "mariadb-server")],
)
def test_a_short_request_naming_a_server_still_gets_the_server(
    index: PackageIndex, request_text: str, expected: str
) -> None:
    assert long_request(build_query(request_text)) == 0.0
    assert rank(request_text, index, limit=1)[0].package.name == expected


def test_how_long_a_request_is_grows_with_its_concepts() -> None:
    shares = [long_request(build_query(text)) for text in (
        "a web server",
        "show disk usage of each directory",
        "show which processes are doing the most disk reads and writes",
        "query a directory server for entries matching a filter, e.g. to look up users in Active Directory",
    )]  # fmt: skip
    assert shares == sorted(shares) and shares[0] == 0.0 and shares[-1] == 1.0 and 0.0 < shares[2] < 1.0
