"""Compiled walk over example JSON: the word hashes of every message's content, no decoding.

Near dedup only needs each message's role and the hashes of its words. Decoding a million
examples into polars structs and tokenising the strings afterwards costs more than the
hashing itself, so this walks the canonical JSON bytes (``{"messages":[{"role":..,
"content":..},..],..}``) once and tokenises content strings in place, escapes included.
A row whose content holds a non-ASCII character (raw or ``\\u`` escaped) is left to the
caller, which normalises it with polars first; so is a row whose JSON is not the shape above.
"""

# ruff: noqa: SIM109, SIM110  (plain comparisons and loops: what numba compiles well; no generators)

from __future__ import annotations

from typing import Final

import numpy as np
from numba import njit

from curate.minhash_kernels import ASCII_WORD_BYTES, add_byte, feed, finish_word, word_start

ROLES: Final = ("system", "user", "assistant", "tool")
OTHER_ROLE: Final = len(ROLES)  # a role outside ROLES (never chosen by a role filter)

_QUOTE, _BACKSLASH, _COLON, _COMMA = 0x22, 0x5C, 0x3A, 0x2C
_OPEN_OBJECT, _CLOSE_OBJECT, _OPEN_ARRAY, _CLOSE_ARRAY = 0x7B, 0x7D, 0x5B, 0x5D
_MESSAGES = np.frombuffer(b"messages", dtype=np.uint8)
_ROLE = np.frombuffer(b"role", dtype=np.uint8)
_CONTENT = np.frombuffer(b"content", dtype=np.uint8)
_SYSTEM, _USER, _ASSISTANT, _TOOL = (np.frombuffer(name.encode(), dtype=np.uint8) for name in ROLES)


@njit(cache=True, nogil=True, inline="always")
def _skip_space(data: np.ndarray, pos: int, end: int) -> int:
    while pos < end and (data[pos] == 0x20 or data[pos] == 0x0A or data[pos] == 0x0D or data[pos] == 0x09):
        pos += 1
    return pos


@njit(cache=True, nogil=True)
def _string_end(data: np.ndarray, pos: int, end: int) -> int:
    """Position just after the string starting at ``pos`` (its opening quote); -1 if unterminated."""
    pos += 1
    while pos < end:
        b = data[pos]
        if b == _BACKSLASH:
            pos += 2
        elif b == _QUOTE:
            return pos + 1
        else:
            pos += 1
    return -1


@njit(cache=True, nogil=True)
def _value_end(data: np.ndarray, pos: int, end: int) -> int:
    """Position just after the JSON value starting at ``pos``; -1 if malformed."""
    b = data[pos]
    if b == _QUOTE:
        return _string_end(data, pos, end)
    if b == _OPEN_OBJECT or b == _OPEN_ARRAY:
        depth = 0
        while pos < end:
            b = data[pos]
            if b == _QUOTE:
                pos = _string_end(data, pos, end)
                if pos < 0:
                    return -1
                continue
            if b == _OPEN_OBJECT or b == _OPEN_ARRAY:
                depth += 1
            elif b == _CLOSE_OBJECT or b == _CLOSE_ARRAY:
                depth -= 1
                if depth == 0:
                    return pos + 1
            pos += 1
        return -1
    while pos < end and data[pos] != _COMMA and data[pos] != _CLOSE_OBJECT and data[pos] != _CLOSE_ARRAY:
        pos += 1  # a number, true, false or null
    return pos


@njit(cache=True, nogil=True)
def _equals(data: np.ndarray, start: int, stop: int, word: np.ndarray) -> bool:
    if stop - start != len(word):
        return False
    for k in range(len(word)):
        if data[start + k] != word[k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _hex(b: int) -> int:
    if 0x30 <= b <= 0x39:
        return b - 0x30
    if 0x61 <= b <= 0x66:
        return b - 0x61 + 10
    if 0x41 <= b <= 0x46:
        return b - 0x41 + 10
    return -1


@njit(cache=True, nogil=True)
def _tokenise_string(
    data: np.ndarray, pos: int, end: int, start_hash: np.uint64, hashes: np.ndarray, count: int
) -> tuple[int, int, bool]:
    """Hash the words of the JSON string at ``pos`` into ``hashes[count:]``.

    Returns (position after the string, new count, ok); not ok for a non-ASCII character or a
    malformed string, which the caller hands to the slow path.
    """
    table = ASCII_WORD_BYTES
    h, packed, filled = start_hash, np.uint64(0), 0
    in_word = False
    pos += 1
    while pos < end:
        b = np.int64(data[pos])
        c = table[b]
        if c != 0:  # the common case first: a letter or digit
            h, packed, filled = add_byte(h, packed, filled, c)
            in_word = True
            pos += 1
            continue
        if b == _QUOTE:
            if in_word:
                hashes[count] = finish_word(h, packed)
                count += 1
            return pos + 1, count, True
        if b >= 0x80:
            return pos, count, False
        if b == _BACKSLASH:
            if pos + 1 >= end:
                return pos, count, False
            if data[pos + 1] == 0x75:  # \uXXXX: an ASCII character spelled out, or a non-ASCII one
                if pos + 5 >= end:
                    return pos, count, False
                code = 0
                for k in range(pos + 2, pos + 6):
                    digit = _hex(data[k])
                    if digit < 0:
                        return pos, count, False
                    code = code * 16 + digit
                if code >= 0x80:
                    return pos, count, False
                c = table[code]
                pos += 6
            else:
                pos += 2  # \n, \t, \", \\, \/ and the rest are all separators
        else:
            pos += 1
        h, packed, filled, in_word, count = feed(c, h, packed, filled, in_word, start_hash, hashes, count)
    return pos, count, False


@njit(cache=True, nogil=True)
def _role_code(data: np.ndarray, start: int, stop: int) -> int:
    """The role string between the quotes at ``start``..``stop`` as an index into ROLES."""
    if _equals(data, start, stop, _USER):
        return 1
    if _equals(data, start, stop, _ASSISTANT):
        return 2
    if _equals(data, start, stop, _SYSTEM):
        return 0
    if _equals(data, start, stop, _TOOL):
        return 3
    return OTHER_ROLE


_MALFORMED, _CLOSED, _MEMBER = -1, 0, 1


@njit(cache=True, nogil=True)
def _next_member(data: np.ndarray, pos: int, end: int, close: int) -> tuple[int, int, int, int]:
    """The next member of an object (``close`` = ``}``) or array (``close`` = ``]``) whose
    opening bracket is behind ``pos``. Returns (kind, key start, key stop, value position):
    _MEMBER with the key's bytes (objects only) and where its value starts; _CLOSED with the
    position after the closing bracket; or _MALFORMED."""
    pos = _skip_space(data, pos, end)
    if pos < end and data[pos] == close:
        return _CLOSED, 0, 0, pos + 1
    if pos < end and data[pos] == _COMMA:
        pos = _skip_space(data, pos + 1, end)
    if pos >= end:
        return _MALFORMED, 0, 0, pos
    if close == _CLOSE_ARRAY:
        return _MEMBER, 0, 0, pos
    if data[pos] != _QUOTE:
        return _MALFORMED, 0, 0, pos
    key_end = _string_end(data, pos, end)
    if key_end < 0:
        return _MALFORMED, 0, 0, pos
    value = _skip_space(data, key_end, end)
    if value >= end or data[value] != _COLON:
        return _MALFORMED, 0, 0, value
    value = _skip_space(data, value + 1, end)
    if value >= end:
        return _MALFORMED, 0, 0, value
    return _MEMBER, pos + 1, key_end - 1, value


@njit(cache=True, nogil=True)
def _walk_row(
    data: np.ndarray,
    pos: int,
    end: int,
    start_hash: np.uint64,
    hashes: np.ndarray,
    count: int,
    message_roles: np.ndarray,
    message_ends: np.ndarray,
    messages: int,
) -> tuple[int, int, bool]:
    """One example: appends each message's words and role. Returns (words, messages, ok)."""
    pos = _skip_space(data, pos, end)
    if pos >= end or data[pos] != _OPEN_OBJECT:
        return count, messages, False
    pos += 1
    while True:  # the top-level object
        kind, key_start, key_stop, pos = _next_member(data, pos, end, _CLOSE_OBJECT)
        if kind == _CLOSED:
            return count, messages, True
        if kind == _MALFORMED:
            return count, messages, False
        if not _equals(data, key_start, key_stop, _MESSAGES):
            pos = _value_end(data, pos, end)
            if pos < 0:
                return count, messages, False
            continue
        if data[pos] != _OPEN_ARRAY:
            return count, messages, False
        pos += 1
        while True:  # the messages array
            kind, _, _, pos = _next_member(data, pos, end, _CLOSE_ARRAY)
            if kind == _CLOSED:
                break
            if kind == _MALFORMED or data[pos] != _OPEN_OBJECT:
                return count, messages, False
            pos += 1
            role = OTHER_ROLE
            while True:  # one message object
                kind, key_start, key_stop, pos = _next_member(data, pos, end, _CLOSE_OBJECT)
                if kind == _CLOSED:
                    break
                if kind == _MALFORMED:
                    return count, messages, False
                if _equals(data, key_start, key_stop, _ROLE) and data[pos] == _QUOTE:
                    value_end = _string_end(data, pos, end)
                    if value_end < 0:
                        return count, messages, False
                    role = _role_code(data, pos + 1, value_end - 1)
                    pos = value_end
                elif _equals(data, key_start, key_stop, _CONTENT) and data[pos] == _QUOTE:
                    pos, count, ok = _tokenise_string(data, pos, end, start_hash, hashes, count)
                    if not ok:
                        return count, messages, False
                else:
                    pos = _value_end(data, pos, end)
                    if pos < 0:
                        return count, messages, False
            message_roles[messages] = role
            message_ends[messages] = count
            messages += 1


@njit(cache=True, nogil=True)
def message_words(
    data: np.ndarray, offsets: np.ndarray, seed: np.uint64
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Walk every example in ``data[offsets[i]:offsets[i + 1]]``.

    Returns the flat word hashes; per message, its role (index into ROLES) and the end of its
    words in the flat hashes; per row, the end of its messages; and the rows the walk could not
    take (non-ASCII text or another JSON shape), which have no messages here.
    """
    n = len(offsets) - 1
    hashes = np.empty((len(data) + 1) // 2 + n, dtype=np.uint64)
    # A message object takes at least 2 bytes ("{}") plus a comma.
    message_roles = np.empty(len(data) // 3 + 1, dtype=np.int8)
    message_ends = np.empty(len(data) // 3 + 1, dtype=np.int64)
    row_ends = np.zeros(n, dtype=np.int64)
    failed = np.zeros(n, dtype=np.bool_)
    start_hash = word_start(seed)
    count = 0
    messages = 0
    for i in range(n):
        new_count, new_messages, ok = _walk_row(
            data, offsets[i], offsets[i + 1], start_hash, hashes, count, message_roles, message_ends, messages
        )
        if ok:
            count, messages = new_count, new_messages
        else:
            failed[i] = True  # roll back whatever the walk appended before it gave up
        row_ends[i] = messages
    return (
        hashes[:count].copy(),
        message_roles[:messages].copy(),
        message_ends[:messages].copy(),
        row_ends,
        failed,
    )
