"""Each mailbox's IMAP INBOX read from the mock's store (`store.MailStore`) instead of pymap's memory.

pymap's ``dict`` backend keeps every appended message parsed in memory (~50 KiB each, without bound)
and forgets everything at a restart. Here the INBOX keeps only its index in memory (UID, date,
flags); a message's bytes are read from the store and parsed when a client fetches it (with a small
LRU of parsed messages, as clients fetch the same message several times in a row). Flag changes
(``\\Seen``, ``\\Deleted``…) and EXPUNGE are written to the store; UIDs and UIDVALIDITY come from it,
so a client's cached UIDs stay valid across a restart.

On a store several processes share (PostgreSQL, `store_pg`), each command that reads the INBOX (SELECT,
STATUS, NOOP, FETCH…) first indexes what the other processes stored meanwhile (one query); an IDLE waiting
in one process is not woken by a delivery through another until the client's next command.

Not kept across a restart (pymap's memory as before): mailboxes other than INBOX that a client
creates, and what it copies or appends into them; the \\Recent flag (RFC 3501 allows losing it).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime

from pymap.backend.dict.mailbox import MailboxData, MailboxSet, Message
from pymap.flags import FlagOp
from pymap.interfaces.message import CachedMessage
from pymap.mime import MessageContent
from pymap.parsing.message import AppendMessage
from pymap.parsing.specials import ObjectId
from pymap.parsing.specials.flag import Flag

from segur.mocks.mssante.store import MailStore

PARSED_CACHE = 64  # parsed messages kept in memory at most…
PARSED_CACHE_BYTES = 16 * 1024 * 1024  # …and this many message bytes at most (parsed: ~3 times more)


class ParsedCache:
    """The last parsed messages, by (mailbox, UID): bounded, so memory does not grow with the store."""

    def __init__(self, store: MailStore, size: int = PARSED_CACHE, max_bytes: int = PARSED_CACHE_BYTES):
        self.store = store
        self.size = size
        self.max_bytes = max_bytes
        self._parsed: OrderedDict[tuple[str, int], tuple[MessageContent, int]] = OrderedDict()
        self._bytes = 0

    def get(self, mailbox: str, uid: int) -> MessageContent:
        key = (mailbox, uid)
        cached = self._parsed.get(key)
        if cached is not None:
            self._parsed.move_to_end(key)
            return cached[0]
        raw = self.store.raw(mailbox, uid) or b""
        content = MessageContent.parse(raw)
        self._parsed[key] = (content, len(raw))
        self._bytes += len(raw)
        while len(self._parsed) > 1 and (len(self._parsed) > self.size or self._bytes > self.max_bytes):
            self._bytes -= self._parsed.popitem(last=False)[1][1]  # the least recently used goes first
        return content

    def clear(self) -> None:
        self._parsed.clear()
        self._bytes = 0


class StoredImapMessage(Message):
    """A message of a stored INBOX: its content is read from the store when pymap asks for it."""

    __slots__ = ["_cache", "_mailbox"]

    def __init__(self, uid: int, internal_date: datetime, permanent_flags: Iterable[Flag], *,
                 cache: ParsedCache, mailbox: str, **kwargs):
        self._cache = cache
        self._mailbox = mailbox
        super().__init__(uid, internal_date, permanent_flags, **kwargs)

    @property
    def _content(self) -> MessageContent:  # pymap's Message reads (and copies) this attribute
        return self._cache.get(self._mailbox, self.uid)

    @_content.setter
    def _content(self, value) -> None:  # set by pymap's __init__ (None here): the store has the content
        pass

    @classmethod
    def copy(cls, msg, *, uid=None, recent=False, expunged=False) -> Message:
        """pymap copies a message (MOVE/COPY, or an expunged view): a plain in-memory message then."""
        return Message.copy(msg, uid=uid, recent=recent, expunged=expunged)


class StoredInbox(MailboxData):
    """pymap's dict INBOX, whose messages, flags, UIDs and UIDVALIDITY live in the store."""

    def __init__(self, store: MailStore, mailbox: str, cache: ParsedCache, mailbox_set: MailboxSet):
        super().__init__(mailbox_set._content_cache, mailbox_set._thread_cache)
        self.store = store
        self.mailbox = mailbox.lower()
        self.cache = cache
        self._uid_validity = store.uid_validity()
        self._synced_uid = 0
        self.sync(recent=False)

    # pymap's code sets destination._max_uid itself (COPY/MOVE into the INBOX): reserve the UID in the store
    @property
    def _max_uid(self) -> int:
        return self.store.last_uid(self.mailbox) if hasattr(self, "store") else 100

    @_max_uid.setter
    def _max_uid(self, value: int) -> None:
        if hasattr(self, "store"):
            self.store.reserve_uid(self.mailbox, value)

    def sync(self, recent: bool = True) -> None:
        """Index the copies stored since the last sync (a delivery, or everything at first use)."""
        new = []
        for uid, received, flags in self.store.inbox_index(self.mailbox, self._synced_uid):
            message = StoredImapMessage(uid, datetime.fromtimestamp(received, UTC),
                                        frozenset(Flag(f.encode()) for f in flags.split()),
                                        cache=self.cache, mailbox=self.mailbox, recent=recent,
                                        email_id=ObjectId.random_email_id(),
                                        thread_id=ObjectId.random_thread_id())
            self._messages[uid] = message
            new.append(uid)
            self._synced_uid = uid
        if new:
            self._mod_sequences.update(new)
            self._updated.set()

    async def _catch_up(self) -> None:
        """On a store other processes write too (PostgreSQL): the copies they stored since the last sync,
        and, after a reset through another process (a new UIDVALIDITY), the INBOX emptied first."""
        if not self.store.shared:
            return  # one process owns the store: its deliveries call `sync` themselves
        async with self.messages_lock.write_lock():
            validity = self.store.uid_validity()
            if validity != self._uid_validity:
                gone = list(self._messages)
                self._messages.clear()
                self._mod_sequences.expunge(gone)
                self._uid_validity, self._synced_uid = validity, 0
                self.cache.clear()  # UIDs start over after a reset: a parsed message of the old ones is stale
            self.sync()

    async def snapshot(self):
        await self._catch_up()
        return await super().snapshot()

    async def update_selected(self, selected, *, wait_on=None):
        await self._catch_up()
        return await super().update_selected(selected, wait_on=wait_on)

    async def append(self, append_msg: AppendMessage, *, recent: bool = False) -> Message:
        """IMAP APPEND into the INBOX: stored like a delivery (without a verdict record)."""
        [uid] = self.store.add_copies([(self.mailbox, None, "imap-append", None, bytes(append_msg.literal))])
        flags = [f.value.decode() for f in append_msg.flag_set]
        if flags:
            self.store.set_flags(self.mailbox, uid, flags)
        async with self.messages_lock.write_lock():
            self.sync(recent=recent)
        return self._messages[uid]

    async def update(self, uid: int, cached_msg: CachedMessage, flag_set: frozenset[Flag],
                     mode: FlagOp) -> Message:
        message = await super().update(uid, cached_msg, flag_set, mode)
        if not message.expunged:
            self.store.set_flags(self.mailbox, uid, [f.value.decode() for f in message.permanent_flags])
        return message

    async def delete(self, uids: Iterable[int]) -> None:
        uids = list(uids)
        await super().delete(uids)
        self.store.expunge(self.mailbox, uids)


def stored_mailbox_set(store: MailStore, mailbox: str, cache: ParsedCache) -> MailboxSet:
    """pymap's dict mailbox set for one user, with its INBOX read from the store."""
    mailbox_set = MailboxSet()
    mailbox_set._inbox = StoredInbox(store, mailbox, cache, mailbox_set)
    return mailbox_set
