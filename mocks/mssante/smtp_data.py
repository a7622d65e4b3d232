"""Read SMTP DATA in large chunks instead of line by line, with aiosmtpd's exact semantics.

aiosmtpd's ``smtp_DATA`` awaits ``readuntil(b"\\r\\n")`` once per line: a 1.4 MB message (an
MSSanté message with a 1 MB IHE_XDM.ZIP in base64) is ~19,000 lines, ~70 ms of CPU on the
server's event loop. `ChunkedData.smtp_DATA` finds the end-of-data line in the stream's own buffer
as the bytes come in (`_read_whole`: one search in C for CRLF ``.``, which finds the end-of-data line
and the dot-stuffed lines together, resumed where it stopped at each arrival), takes the message out
with one copy and undoes the dot-stuffing, when there is any, with one ``bytes.replace``. DATA longer
than `WHOLE_CHUNKS` × `CHUNK` bytes (or than the size limit) is read by chunks instead, with the
stream's ``readuntil`` on ``b"\\n.\\r\\n"``, so the excess over the limit is discarded as it comes.

What stays exactly as aiosmtpd does it (RFC 5321 §4.5.2, §4.5.3.1.6, RFC 1870), and is tested
against the stock class in ``tests/mocks/mssante/test_mssante_smtp_data.py``:
- lines are delimited by CRLF only; data ends at a line that is exactly ``.`` (also as the very
  first line: an empty message); a bare LF or CR never ends a line;
- a line starting with ``.`` loses that first character (dot-stuffing undone);
- over ``data_size_limit`` bytes (counted line by line, CRLFs included, the final ``.`` line not):
  the rest is read and discarded, then ``552 Error: Too much mail data``; a line longer than
  ``line_length_limit`` (1001 with its CRLF): ``500 Line too long (see RFC5321 4.5.3.1.6)``; when
  both happen, the first in the stream wins, with aiosmtpd's rule for lines of 1002-1003 bytes
  (counted before their length is checked) and of 1004 bytes or more (refused before being counted);
- memory: at most ``data_size_limit`` (or `WHOLE_CHUNKS` × `CHUNK`) plus one chunk is held; the excess is
  discarded as it comes.
Bytes after the end-of-data line (a pipelining client's next command) stay in the stream.
"""

from __future__ import annotations

import asyncio
import enum

from aiosmtpd.smtp import MISSING, syntax

#: Largest piece read at once; the stream buffer pauses the socket at twice this.
CHUNK = 1024 * 1024
#: DATA up to this many chunks (and within the size limit) is found whole in the stream's buffer.
WHOLE_CHUNKS = 8
#: The end-of-data marker without its leading CR: a match counts only when the byte before it is CR.
_SEPARATOR = b"\n.\r\n"
#: A line starting with a dot: the end-of-data line, or a dot-stuffed line (RFC 5321 §4.5.2).
_DOT_LINE = b"\r\n."


class DataState(enum.Enum):
    NOMINAL = enum.auto()
    TOO_LONG = enum.auto()
    TOO_MUCH = enum.auto()


class _Collector:
    """The raw bytes of DATA (still dot-stuffed) while they are within the limits, and the verdict."""

    def __init__(self, size_limit: int | None, line_limit: int):
        self.size_limit = size_limit or None
        self.line_limit = line_limit
        self.pieces: list[bytes] = []
        self.count = 0
        self.state = DataState.NOMINAL
        self.last = b"\n"  # last byte consumed (the virtual CRLF before the first line)

    def feed(self, piece: bytes) -> None:
        if not piece:
            return
        self.last = piece[-1:]
        if self.state is not DataState.NOMINAL:
            return  # discarded: only the end-of-data line matters now
        self.pieces.append(piece)
        self.count += len(piece)
        if self.size_limit and self.count > self.size_limit:
            data = b"".join(self.pieces)
            self.pieces = [data]
            self.state = _over_limit(data, self.size_limit, self.line_limit)
            if self.state is not DataState.NOMINAL:
                self.pieces = []

    def finish(self, dotted: bool | None = None) -> tuple[DataState, bytes | None]:
        """At the end-of-data line: the state, and the message (dot-stuffing undone) when NOMINAL.
        `dotted`: whether a line of the data starts with a dot, when the reader already knows."""
        data = b"".join(self.pieces)
        self.pieces = []
        if self.state is DataState.NOMINAL and self.size_limit and self.count > self.size_limit:
            self.state = _over_limit(data, self.size_limit, self.line_limit)  # every line is complete now
        elif self.state is DataState.NOMINAL and _has_long_line(data, self.line_limit):
            self.state = DataState.TOO_LONG
        if self.state is not DataState.NOMINAL:
            return self.state, None
        if dotted is None:
            dotted = data.startswith(b".") or _DOT_LINE in data
        if dotted:  # the same as (CRLF + data).replace(CRLF ".", CRLF)[2:], one copy less
            data = data.replace(_DOT_LINE, b"\r\n")
            data = data[1:] if data.startswith(b".") else data
        return DataState.NOMINAL, data


def _has_long_line(data: bytes, line_limit: int) -> bool:
    """Whether a CRLF-delimited line of `data` is longer than `line_limit` with its CRLF (the last
    line counted as if it had one).

    Splitting 1.4 MB into its ~19,000 lines costs ~5 ms; instead, from each CRLF jump to the farthest
    CRLF that still ends a short enough line (`rfind` in C): ~1,500 jumps, well under a millisecond."""
    end_of_line = -2  # where the previous line's CRLF starts (a virtual one before the data)
    if len(data) - end_of_line <= line_limit:  # what is left is short enough even as one line
        return False
    while True:
        found = data.rfind(b"\r\n", end_of_line + 2, end_of_line + line_limit + 2)
        if found < 0:
            return True
        end_of_line = found
        if len(data) - end_of_line <= line_limit:
            return False


def _over_limit(data: bytes, limit: int, line_limit: int) -> DataState:
    """The refusal aiosmtpd's line loop reaches first in `data` (over `limit` bytes), or NOMINAL while
    the line that crossed the limit is too short yet to tell. aiosmtpd counts a line, then refuses it
    when longer than `line_limit` (1002-1003 bytes with CRLF); longer lines overrun its stream
    buffer and are refused before being counted."""
    lines = data.split(b"\r\n")
    start = 0
    for index, line in enumerate(lines):
        if index == len(lines) - 1:  # the line being read, no CRLF yet (a last CR may be half of it)
            if len(line) - line.endswith(b"\r") > line_limit:  # will be 1004+ with its CRLF
                return DataState.TOO_LONG if start <= limit else DataState.TOO_MUCH
            return DataState.NOMINAL  # wait for its end (a few bytes at most)
        length = len(line) + 2
        if length > line_limit + 2 and start <= limit:
            return DataState.TOO_LONG
        if length > line_limit and start + length <= limit:
            return DataState.TOO_LONG
        start += length
        if start > limit:
            return DataState.TOO_MUCH
    return DataState.TOO_MUCH  # not reached: split() always yields a last element


async def _until(reader: asyncio.StreamReader, separator: bytes) -> tuple[bytes, bool]:
    """Up to and including `separator` (True), or the next chunk that cannot contain its start (False)."""
    try:
        return await reader.readuntil(separator), True
    except asyncio.LimitOverrunError as overrun:
        return await reader.readexactly(overrun.consumed), False


async def _read_whole(reader: asyncio.StreamReader, bound: int) -> tuple[bytes, bool] | None:
    """The DATA bytes before the end-of-data line (still dot-stuffed) and whether a line of them starts
    with a dot, found in the stream's buffer as the bytes arrive; the end-of-data line is consumed, what
    follows it stays. None, with nothing consumed, when the buffer holds more than `bound` bytes without
    it, or the stream ended or failed first: the chunked reader then takes over (and raises as usual).

    The buffer is read as if a CRLF preceded it (data ends at a line that is exactly "."): its first
    three bytes are looked at once, then CRLF "." is searched for, each search resuming where the last
    one could not have matched. A CRLF "." followed by CRLF is the end; any other is a stuffed dot."""
    buffer = reader._buffer
    dotted, started, searched = False, False, 0
    while True:
        end = None
        if not started and len(buffer) >= 3:
            started = True
            if buffer.startswith(b".\r\n"):
                end = -2  # the very first line is ".": an empty message
            dotted = buffer.startswith(b".")
        while started and end is None:
            found = buffer.find(_DOT_LINE, searched)
            if found < 0:
                searched = max(searched, len(buffer) - 2)  # a CR LF at the very end may be followed by "."
                break
            if len(buffer) < found + 5:
                searched = found  # wait for the two bytes after the dot
                break
            if buffer[found + 3:found + 5] == b"\r\n":
                end = found
            else:
                dotted, searched = True, found + 3
        if end is not None:
            with memoryview(buffer) as view:
                data = bytes(view[:end + 2])  # the last line's CRLF belongs to the data
            del buffer[:end + 5]
            reader._maybe_resume_transport()
            return data, dotted
        if len(buffer) > bound or reader._eof or reader._exception is not None:
            return None
        await reader._wait_for_data("readuntil")


async def read_data(reader: asyncio.StreamReader, size_limit: int | None,
                    line_limit: int = 1001) -> tuple[DataState, bytes | None]:
    """Read DATA up to and including its end-of-data line; see the module docstring.

    Raises `asyncio.IncompleteReadError` when the stream ends first (aiosmtpd cancels the
    command on EOF, so this is a belt-and-braces path)."""
    collector = _Collector(size_limit, line_limit)
    if isinstance(getattr(reader, "_buffer", None), bytearray) and hasattr(reader, "_wait_for_data"):
        whole = await _read_whole(reader, min(size_limit or WHOLE_CHUNKS * CHUNK, WHOLE_CHUNKS * CHUNK))
        if whole is not None:
            collector.feed(whole[0])
            return collector.finish(dotted=whole[1])
    return await _read_chunked(reader, collector)


async def _read_chunked(reader: asyncio.StreamReader,
                        collector: _Collector) -> tuple[DataState, bytes | None]:
    """`read_data` by chunks of at most `CHUNK` bytes, each handed to `collector` as it comes."""
    saved_limit = reader._limit  # the stream's line limit (1001 for commands), raised while DATA streams in
    reader._limit = max(CHUNK, saved_limit)
    try:
        at_line_start = True  # the previous line's CRLF was consumed: a "." here may be the end
        while True:
            if at_line_start:
                first = await reader.readexactly(1)
                if first != b".":
                    collector.feed(first)
                    at_line_start = False
                    continue
                piece, found = first, False
                while not found:  # this line, up to its first CR
                    more, found = await _until(reader, b"\r")
                    piece += more
                    if not found:
                        collector.feed(piece)
                        piece = b""
                if piece == b".\r":  # "." then CR at the start of a line: the end if LF follows
                    following = await reader.readexactly(1)
                    if following == b"\n":
                        return collector.finish()
                    piece += following
                collector.feed(piece)
                at_line_start = False
                continue
            piece, found = await _until(reader, _SEPARATOR)
            if not found:
                collector.feed(piece)
                continue
            before = piece[-5:-4] if len(piece) >= 5 else collector.last
            if before == b"\r":  # CRLF "." CRLF: the end; the CRLF before the dot ends the last line
                collector.feed(piece[:-3])
                return collector.finish()
            collector.feed(piece)  # LF "." CRLF inside a line: keep going, now at a line start
            at_line_start = True
    finally:
        reader._limit = saved_limit


class ChunkedData:
    """Mixin for `aiosmtpd.smtp.SMTP`: DATA read by `read_data` instead of line by line."""

    #: a text line of DATA: 1000 octets with its CRLF (RFC 5321 §4.5.3.1.6), whatever the command lines allow
    data_line_limit = 1001

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if self._decode_data or not hasattr(self._reader, "_limit"):  # not the bytes path this mixin is for
            return await super().smtp_DATA(arg)
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            state, content = await read_data(self._reader, self.data_size_limit, self.data_line_limit)
        except asyncio.CancelledError:
            self._writer.close()  # the connection was reset during DATA, as aiosmtpd does
            raise
        except asyncio.IncompleteReadError:
            self._writer.close()
            return
        if state is DataState.TOO_LONG:
            await self.push("500 Line too long (see RFC5321 4.5.3.1.6)")
            self._set_post_data_state()
            return
        if state is DataState.TOO_MUCH:
            await self.push("552 Error: Too much mail data")
            self._set_post_data_state()
            return
        self.envelope.content = content
        self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)
