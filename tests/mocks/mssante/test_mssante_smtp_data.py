"""The chunked DATA reader (`segur.mocks.mssante.smtp_data`) behaves exactly as aiosmtpd's line loop.

Two plain SMTP servers on loopback, aiosmtpd's stock `SMTP` and the same class with `ChunkedData`,
receive the same bytes on a raw socket (DATA sent without waiting, then whatever follows, then
QUIT); their replies and the message content their handler receives must be identical. Bodies
are built from the awkward pieces of RFC 5321 §4.5.2 (dots at line starts, bare CR and LF, the
end-of-data line in the middle, empty lines) and §4.5.3.1.6 (lines around the 1001-byte limit),
with and without a small size limit, and long enough to cross the reader's chunk boundaries.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segur.mocks.mssante import smtp_data
from segur.mocks.mssante.smtp_data import ChunkedData, _has_long_line


class _Recorder:
    def __init__(self):
        self.contents: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.contents.append(envelope.original_content)
        return f"250 OK {len(envelope.original_content)} bytes"


class _Chunked(ChunkedData, SMTP):
    pass


class _Pair:
    """A stock and a chunked server on one background loop, both with `size_limit`."""

    def __init__(self, size_limit: int):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers = {}
        for name, cls in (("stock", SMTP), ("chunked", _Chunked)):
            recorder = _Recorder()

            def factory(cls=cls, recorder=recorder):
                return cls(recorder, hostname="test", data_size_limit=size_limit, loop=self.loop)

            server = asyncio.run_coroutine_threadsafe(
                self.loop.create_server(factory, host="127.0.0.1", port=0), self.loop).result(10)
            self.servers[name] = (server, recorder, server.sockets[0].getsockname()[1])

    def exchange(self, name: str, payload: bytes) -> tuple[bytes, list[bytes]]:
        server, recorder, port = self.servers[name]
        recorder.contents.clear()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"EHLO client\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n"
                         + payload + b"QUIT\r\n")
            replies = b""
            while chunk := sock.recv(65536):
                replies += chunk
        return replies, list(recorder.contents)

    def close(self):
        for server, _, _ in self.servers.values():
            self.loop.call_soon_threadsafe(server.close)

        async def cancel_rest():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_rest(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def unlimited():
    pair = _Pair(size_limit=0)
    yield pair
    pair.close()


@pytest.fixture(scope="module")
def limited():
    pair = _Pair(size_limit=2500)
    yield pair
    pair.close()


def _same(pair: _Pair, payload: bytes) -> tuple[bytes, list[bytes]]:
    stock = pair.exchange("stock", payload)
    chunked = pair.exchange("chunked", payload)
    assert chunked == stock
    return chunked


def _whole_session(replies: bytes) -> bool:
    """Greeting, DATA accepted (the body really streamed in), last reply complete: two empty or cut
    answers would also be equal, and prove nothing."""
    return replies.startswith(b"220 ") and b"\r\n354 " in replies and replies.endswith(b"\r\n")


PIECES = [b".", b"..", b"\r", b"\n", b"\r\n", b"\r\n.\r\n", b"\n.\r\n", b".\r\n", b"\r\r\n", b"a",
          b"Subject: x", b"x" * 997, b"y" * 999, b"z" * 1000, b"w" * 1001, b"v" * 1500, b"=" * 300,
          b"MAIL FROM:<c@example.org>"]
bodies = st.lists(st.sampled_from(PIECES), max_size=30).map(b"".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_body_gets_the_same_replies_and_content_as_stock_aiosmtpd(unlimited, body):
    replies, _ = _same(unlimited, body + b"\r\n.\r\n")
    assert _whole_session(replies)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_with_a_size_limit_the_same_refusals_as_stock_aiosmtpd(limited, body):
    replies, _ = _same(limited, body + b"\r\n.\r\n")
    assert _whole_session(replies)


@pytest.mark.parametrize("payload, content", [
    (b".\r\n", b""),  # an empty message
    (b"\r\n.\r\n", b"\r\n"),
    (b"..\r\n.\r\n", b".\r\n"),  # a stuffed lone dot
    (b".\r\r\n.\r\n", b"\r\r\n"),
    (b"a\n.\r\n.\r\n", b"a\n.\r\n"),  # LF "." CRLF does not end DATA
    (b"a\r.\r\n.\r\n", b"a\r.\r\n"),
    (b"Subject: x\r\n\r\n..hidden\r\n.\r\nRSET\r\n", b"Subject: x\r\n\r\n.hidden\r\n"),  # next command kept
])
def test_dot_stuffing_and_the_end_of_data_line(unlimited, payload, content):
    replies, contents = _same(unlimited, payload)
    assert contents == [content]
    assert replies.count(b"250 OK") >= 1


def test_a_large_message_crosses_chunk_boundaries_unchanged(unlimited, monkeypatch):
    monkeypatch.setattr(smtp_data, "CHUNK", 4096)
    lines = [(b"." if i % 7 == 0 else b"") + bytes([65 + i % 26]) * 76 for i in range(3000)]
    body = b"\r\n".join(lines) + b"\r\n"
    _, contents = _same(unlimited, body + b".\r\n")
    assert contents == [body.replace(b"\r\n.", b"\r\n")[1:] if body.startswith(b".") else body]


@pytest.mark.parametrize("body, reply", [
    (b"a" * 2600 + b"\r\n", b"500 Line too long"),  # over both limits: refused as too long, read first
    (b"a\r\n" * 900, b"552 Error: Too much mail data"),
    (b"b" * 1000 + b"\r\n", b"500 Line too long"),  # 1002 bytes with CRLF, within the size limit
    (b"c" * 998 + b"\r\n" + b"d" * 1500 + b"\r\n", b"500 Line too long"),
    (b"x\r\n" * 500 + b"e" * 1001 + b"\r\n", b"552"),  # counted first: over the limit before its length
    (b"x\r\n" * 499 + b"e" * 1001 + b"\r\nmore\r\n", b"500"),  # ends exactly at the limit: its length is seen
    (b"x\r\n" * 830 + b"f" * 1100 + b"\r\n", b"500"),  # starts within the limit, 1004+: refused as too long
])
def test_limits_give_aiosmtpd_refusals(limited, body, reply):
    replies, contents = _same(limited, body + b".\r\n")
    assert contents == []
    assert reply[:3] in replies


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from([b"\r\n", b"\r", b"\n", b"a", b"b" * 499, b"c" * 997, b"d" * 998,
                                        b"e" * 999, b"f" * 1000, b"g" * 1500]), max_size=12))
def test_the_long_line_check_agrees_with_counting_every_line(pieces):
    data = b"".join(pieces)
    assert _has_long_line(data, 1001) == (max(map(len, data.split(b"\r\n"))) + 2 > 1001)


# ---------------------------------------------------------------- the whole-buffer path (`_read_whole`)
def _read(stream: bytes, cuts, size_limit: int, chunked: bool):
    """`read_data` (or the chunked reader alone) on a stream whose bytes arrive in pieces cut at `cuts`:
    its result, or the exception it raised, and the bytes it left in the stream (the next commands)."""

    async def run():
        reader = asyncio.StreamReader(limit=1001)
        if chunked:
            read = smtp_data._read_chunked(reader, smtp_data._Collector(size_limit, 1001))
        else:
            read = smtp_data.read_data(reader, size_limit)
        task = asyncio.ensure_future(read)
        last = 0
        for cut in [*sorted(set(cuts)), len(stream)]:
            reader.feed_data(stream[last:cut])
            last = max(last, cut)
            for _ in range(3):  # let the reader look at what arrived before the next piece comes
                await asyncio.sleep(0)
        reader.feed_eof()
        try:
            result = await task
        except asyncio.IncompleteReadError as exc:
            result = ("incomplete", exc.partial[-20:])
        return result, bytes(reader._buffer)

    return asyncio.run(run())


def _both(stream: bytes, cuts=(), size_limit: int = 0):
    whole = _read(stream, cuts, size_limit, chunked=False)
    assert whole == _read(stream, cuts, size_limit, chunked=True)
    return whole


@settings(max_examples=300, deadline=None)
@given(body=bodies, tail=st.sampled_from([b"", b"QUIT\r\n", b"MAIL FROM:<c@example.org>\r\n.\r\n"]),
       cuts=st.lists(st.integers(0, 46000), max_size=6), size_limit=st.sampled_from([0, 2500]))
def test_the_whole_buffer_reader_agrees_with_the_chunked_one_however_the_bytes_arrive(body, tail, cuts,
                                                                                     size_limit):
    stream = body + b"\r\n.\r\n" + tail
    whole = _read(stream, cuts, size_limit, chunked=False)
    assert whole == _read(stream, cuts, size_limit, chunked=True)


@pytest.mark.parametrize("stream, content, rest", [
    (b"a\r\n..b\r\n.\r\nQUIT\r\n", b"a\r\n.b\r\n", b"QUIT\r\n"),  # a dot-stuffed line, the next command kept
    (b"..\r\n.\r\n", b".\r\n", b""),  # the first line stuffed
    (b".a\r\n\r\n.\r\n", b"a\r\n\r\n", b""),
    (b".\r\nRSET\r\n", b"", b"RSET\r\n"),  # an empty message
    (b"a\r\n.\r\r\n.\r\n", b"a\r\n\r\r\n", b""),  # CRLF "." CR is not the end
    (b"a\n.\r\nb\r\n.\r\n", b"a\n.\r\nb\r\n", b""),  # LF "." CRLF is not the end
])
def test_the_whole_buffer_reader_ends_data_and_undoes_dots(stream, content, rest):
    for cut in range(len(stream) + 1):  # the bytes arrive in two pieces, cut anywhere
        assert _both(stream, [cut]) == ((smtp_data.DataState.NOMINAL, content), rest)


def test_a_message_ending_exactly_at_a_read_boundary_or_with_its_crlf_split():
    body = b"".join(bytes([65 + i % 26]) * 76 + b"\r\n" for i in range(2000))
    stream = body + b".\r\nQUIT\r\n"
    end = len(body)
    for cut in range(end - 4, end + 5):  # around "\r\n" "." "\r\n": every split of the end-of-data line
        assert _both(stream, [cut]) == ((smtp_data.DataState.NOMINAL, body), b"QUIT\r\n")
    for cut in range(76, len(body), 78 * 97):  # CRLFs split across reads inside the message
        assert _both(stream, [cut + 1, cut + 2]) == ((smtp_data.DataState.NOMINAL, body), b"QUIT\r\n")


def test_past_its_bound_the_reader_goes_on_by_chunks_from_the_first_byte(monkeypatch):
    monkeypatch.setattr(smtp_data, "CHUNK", 4096)  # whole-buffer bound: 8 chunks, 32 KiB
    lines = [(b"." if i % 7 == 0 else b"") + bytes([65 + i % 26]) * 76 for i in range(3000)]
    body = b"\r\n".join(lines) + b"\r\n"
    expected = (b"\r\n" + body).replace(b"\r\n.", b"\r\n")[2:]
    cuts = range(0, len(body), 30000)  # pieces smaller than the bound: it is passed while waiting
    assert _both(body + b".\r\nNOOP\r\n", cuts) == ((smtp_data.DataState.NOMINAL, expected), b"NOOP\r\n")
    assert _both(body + b".\r\n", cuts, size_limit=100_000)[0] == (smtp_data.DataState.TOO_MUCH, None)


def test_a_stream_ending_before_the_end_of_data_line_is_an_incomplete_read():
    result, rest = _both(b"a\r\nb\r\n.", [3])
    assert result[0] == "incomplete" and rest == b""
