"""Property-based fuzzing of cortexd's framing and validation: >= 10,000 malformed frames, each answered."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_daemon_support import Conn, ThreadedDaemon, exchange, make_config

from cortex.protocol import MAX_FRAME, ErrorCode

CODES = {c.value for c in ErrorCode}
FRAMES = 10_000
BATCH = 10  # frames per hypothesis example: the engine's per-example cost dominates otherwise

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
not_a_string = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.lists(st.integers(), max_size=3)
)
not_an_object = st.none() | st.booleans() | st.integers() | st.text(max_size=10) | st.lists(json_values, max_size=3)


def dumps(obj: object) -> bytes:
    return json.dumps(obj).encode()


bad_utf8 = st.builds(
    lambda a, bad, b: a + bad + b,
    st.binary(max_size=30),
    st.sampled_from([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xf0\x90\x28", b"\xed\xa0\x80", b"\x80"]),
    st.binary(max_size=30),
)
deep_nesting = st.builds(
    lambda n, opener, closed: (opener * n) + ((b"]" if opener == b"[" else b"}") * n if closed else b""),
    st.integers(min_value=65, max_value=3000),
    st.sampled_from([b"[", b'{"a":']),
    st.booleans(),
).map(lambda b: b.replace(b'{"a":' + b"}", b'{"a":1}'))
huge_numbers = st.one_of(
    st.integers(min_value=4400, max_value=6000).map(lambda n: b'{"command":"ping","id":' + b"7" * n + b"}"),
    st.integers(min_value=309, max_value=5000).map(lambda e: b'{"command":"ping","id":1e' + str(e).encode() + b"}"),
    st.sampled_from([b'{"command":"ping","id":NaN}', b'{"command":"ping","id":-Infinity}', b"Infinity"]),
)
wrong_types = st.one_of(
    not_an_object.map(dumps),  # top level is not an object
    not_a_string.map(lambda c: dumps({"command": c})),
    not_a_string.map(lambda c: dumps({"method": c, "id": 1})),
    st.just(b'{"command": ""}'),
    st.dictionaries(st.text(max_size=8).filter(lambda k: k not in ("command", "method")), json_values).map(dumps),
    not_an_object.filter(lambda p: p is not None).map(lambda p: dumps({"command": "ping", "params": p})),
    st.text(min_size=1, max_size=20)
    .filter(lambda c: c not in ("ping", "version"))
    .map(lambda c: dumps({"command": "x-" + c})),
    st.dictionaries(st.text(min_size=1, max_size=8), json_values, min_size=1).map(
        lambda p: dumps({"command": "version", "params": p})
    ),
    json_values.filter(lambda v: not (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 10000)).map(
        lambda v: dumps({"command": "alerts", "params": {"limit": v}})
    ),
    json_values.filter(lambda v: v is not None and not isinstance(v, str)).map(
        lambda v: dumps({"command": "inference", "params": {"prompt": v}})
    ),
    st.dictionaries(st.sampled_from(["max_tokens", "temperature", "stop", "stream", "seed"]), st.text(), min_size=1)
    .filter(lambda p: set(p) != {"stop"})  # a string is a valid stop: that request would run
    .map(lambda p: dumps({"command": "inference", "params": {"prompt": "x", **p}})),
)
partial_lines = st.builds(
    lambda obj, cut: dumps(obj)[: max(1, cut)],
    st.fixed_dictionaries({"command": st.sampled_from(["ping", "status"]), "params": st.just({}), "id": json_values}),
    st.integers(min_value=1, max_value=12),
)
noise = st.binary(min_size=1, max_size=200)


def is_frame(data: bytes) -> bool:
    """One non-blank line: what the daemon must answer exactly once."""
    return b"\n" not in data and bool(data.strip())


malformed = st.one_of(bad_utf8, deep_nesting, huge_numbers, wrong_types, partial_lines, noise).filter(is_frame)


def test_ten_thousand_malformed_frames_each_get_an_error(tmp_path: Path) -> None:
    config, conf = make_config(tmp_path / "home", {"daemon": {"rate_limit": 1000000, "rate_burst": 1000000}})
    with ThreadedDaemon(config, tmp_path / "run" / "c.sock", conf) as d:
        conn = Conn(d.socket_path)
        sent = []

        @settings(
            max_examples=FRAMES // BATCH,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(frames=st.lists(malformed, min_size=BATCH, max_size=BATCH))
        def some_frames(frames: list[bytes]) -> None:
            conn.send(b"".join(f + b"\n" for f in frames))  # pipelined: answers come back in order
            for frame in frames:
                answer = conn.read()
                assert answer is not None, f"connection dropped after {frame[:80]!r}"
                assert answer["success"] is False, f"{frame[:80]!r} was accepted: {answer}"
                assert answer["error"]["code"] in CODES and answer["error"]["message"]
                sent.append(1)

        some_frames()
        assert len(sent) >= FRAMES
        assert conn.request({"command": "ping", "id": "after"})["data"] == {"pong": True}
        conn.close()

        # Oversized and EOF-ended partial frames: an error, then the daemon still answers others.
        for size in (MAX_FRAME + 1, 3 * MAX_FRAME):
            frames = exchange(d.socket_path, b"x" * size + b"\n")
            assert [f["error"]["code"] for f in frames] == ["too_large"]
        assert exchange(d.socket_path, b'{"command": "pi')[0]["error"]["code"] == "parse_error"
        assert exchange(d.socket_path, b'{"command":"ping"}')[0]["success"] is True
