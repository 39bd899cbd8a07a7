"""The compiled tokeniser: words of UTF-8 texts and of example JSON, hashed as they are read.

One loop (``_split``) splits a text into words under a ``WordRules``' tables (which characters
are word characters, digits, capitals; how ASCII is case-folded; how non-ASCII characters read
once normalised) and hashes each word from its bytes as it goes, so no Python object is made per
word. ``split_texts`` runs it over a string column's bytes, ``walk_examples`` over the content
strings of example JSON (escapes decoded in place, no polars decoding). Both mark the texts whose
characters the tables cannot read without the text around them (a combining mark, capital
sigma, anything past the reading table): the caller normalises those with polars first, or takes
them through the reference (``curate.stages.words.reference``).

Everything compiled that reads words is in this one file: numba's cache only notices a change to
the file of the function it compiled, not to a function it calls from another file, so the
stages take arrays from here rather than calling these loops from their own kernels. Arithmetic
is on ``uint64`` explicitly: numba would otherwise promote a mix of signed and unsigned integers
to float.
"""

# ruff: noqa: SIM109, SIM110  (plain comparisons and loops: what numba compiles well; no generators)

from __future__ import annotations

from typing import Final

import numpy as np
from numba import njit

# Class flags per code point (``tables.classes``).
WORD: Final = 1
DIGIT: Final = 2  # \d: starts a number where the rules read numbers
UPPER: Final = 4  # \p{Lu}: what masking tells a name by
SLOW: Final = -1  # reading length of a character the compiled loop leaves to the caller

ROLES: Final = ("system", "user", "assistant", "tool")
OTHER_ROLE: Final = len(ROLES)  # a role outside ROLES (never chosen by a role filter)

_WORD_OFFSET: Final = np.uint64(0xCBF29CE484222325)
_WORD_PRIME: Final = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it is a bijection
_DOT, _COMMA_BYTE = 0x2E, 0x2C


@njit(cache=True, nogil=True, inline="always")
def mix64(x: np.uint64) -> np.uint64:
    """splitmix64 finaliser: turns structured sums into uniform 64-bit hashes."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, nogil=True, inline="always")
def word_start(seed: np.uint64) -> np.uint64:
    """The state every word's hash starts from, moved by the seed."""
    return _WORD_OFFSET ^ mix64(seed)


@njit(cache=True, nogil=True, inline="always")
def _add_byte(h: np.uint64, packed: np.uint64, filled: int, c: np.uint64) -> tuple[np.uint64, np.uint64, int]:
    """Feed one byte of a word: bytes are packed eight to a 64-bit lane and each full lane is
    folded in with one multiply, so the chain of dependent multiplies is an eighth as long as
    hashing byte by byte. Word bytes are never 0, so packing is unambiguous."""
    packed = (packed << np.uint64(8)) | c
    filled += 1
    if filled == 8:
        return (h ^ packed) * _WORD_PRIME, np.uint64(0), 0
    return h, packed, filled


@njit(cache=True, nogil=True, inline="always")
def _finish(h: np.uint64, packed: np.uint64) -> np.uint64:
    return mix64((h ^ packed) * _WORD_PRIME)


@njit(cache=True, nogil=True)
def hash_strings(data: np.ndarray, offsets: np.ndarray, seed: np.uint64) -> np.ndarray:
    """The word hash of each whole string ``data[offsets[i]:offsets[i + 1]]``: what ``_split``
    gives a word with those (case-folded) bytes."""
    start = word_start(seed)
    out = np.empty(len(offsets) - 1, dtype=np.uint64)
    for i in range(len(offsets) - 1):
        h, packed, filled = start, np.uint64(0), 0
        for k in range(offsets[i], offsets[i + 1]):
            h, packed, filled = _add_byte(h, packed, filled, np.uint64(data[k]))
        out[i] = _finish(h, packed)
    return out


@njit(cache=True, nogil=True, inline="always")
def _decode(text: np.ndarray, k: int) -> tuple[int, int]:
    """(code point, byte length) of the non-ASCII UTF-8 character at ``k`` (valid UTF-8)."""
    b = int(text[k])
    if b < 0xE0:
        return ((b & 0x1F) << 6) | (int(text[k + 1]) & 0x3F), 2
    if b < 0xF0:
        return ((b & 0x0F) << 12) | ((int(text[k + 1]) & 0x3F) << 6) | (int(text[k + 2]) & 0x3F), 3
    return (
        ((b & 0x07) << 18)
        | ((int(text[k + 1]) & 0x3F) << 12)
        | ((int(text[k + 2]) & 0x3F) << 6)
        | (int(text[k + 3]) & 0x3F)
    ), 4


@njit(cache=True, nogil=True, inline="always")
def _class_at(
    text: np.ndarray, k: int, classes: np.ndarray, read_length: np.ndarray, normalise: bool
) -> tuple[int, int, int]:
    """(class flags, byte width, code point) of the character at ``k``; class -1 where the
    character must be normalised with its neighbours (the caller's slow path)."""
    b = int(text[k])
    if b < 0x80:
        return int(classes[b]), 1, b
    cp, width = _decode(text, k)
    if not normalise:
        return int(classes[cp]), width, cp
    if cp >= len(read_length) or read_length[cp] < 0:
        return -1, width, cp
    return (WORD if read_length[cp] > 0 else 0), width, cp


@njit(cache=True, nogil=True)
def _split(
    text: np.ndarray,
    start: int,
    stop: int,
    classes: np.ndarray,
    fold: np.ndarray,
    read_length: np.ndarray,
    read_bytes: np.ndarray,
    normalise: bool,
    numbers: bool,
    seed_start: np.uint64,
    hashes: np.ndarray,
    chars: np.ndarray,
    flags: np.ndarray,
    count: int,
) -> int:
    """Append the words of ``text[start:stop]`` at ``count``: their hashes, and where ``chars``
    is not empty each word's length in characters and its first character's class flags.
    Returns the new count, or -1 for a text the caller must normalise first.

    A word is a run of word characters; where ``numbers`` is set, a run that starts with a
    digit is a number instead: digits with ``[.,]digits`` groups (``\\d+(?:[.,]\\d+)*``, then
    the next word starts right after it, as a regex's leftmost-first alternation takes it).
    ASCII bytes are hashed through ``fold``; with ``normalise``, a non-ASCII character is
    hashed as its reading (``read_bytes``, packed first byte lowest), else as its own bytes.
    """
    details = len(chars) > 0
    h, packed, filled = seed_start, np.uint64(0), 0
    in_word = False
    number = False
    n_chars = 0
    k = start
    while k < stop:
        cls, width, cp = _class_at(text, k, classes, read_length, normalise)
        if cls < 0:
            return -1
        if in_word and number and not cls & DIGIT:
            if (text[k] == _DOT or text[k] == _COMMA_BYTE) and k + 1 < stop:
                after, _, _ = _class_at(text, k + 1, classes, read_length, normalise)
                if after < 0:
                    return -1
                if after & DIGIT:  # a group separator inside the number: part of it
                    h, packed, filled = _add_byte(h, packed, filled, np.uint64(text[k]))
                    n_chars += 1
                    k += 1
                    continue
            hashes[count] = _finish(h, packed)  # the number ends here; this character is read afresh
            if details:
                chars[count] = n_chars
            count += 1
            in_word = False
        if not cls & WORD:
            if in_word:
                hashes[count] = _finish(h, packed)
                if details:
                    chars[count] = n_chars
                count += 1
                in_word = False
            k += width
            continue
        if not in_word:
            in_word = True
            number = numbers and (cls & DIGIT) != 0
            h, packed, filled = seed_start, np.uint64(0), 0
            n_chars = 0
            if details:
                flags[count] = cls
        n_chars += 1
        if width == 1:
            h, packed, filled = _add_byte(h, packed, filled, fold[cp])
        elif normalise:
            word_bytes = read_bytes[cp]
            for j in range(read_length[cp]):
                byte = (word_bytes >> np.uint64(8 * j)) & np.uint64(0xFF)
                h, packed, filled = _add_byte(h, packed, filled, byte)
                if j > 0 and byte & np.uint64(0xC0) != np.uint64(0x80):
                    n_chars += 1  # the reading has more than one character ("ﬁ" reads "fi")
        else:
            for j in range(k, k + width):
                h, packed, filled = _add_byte(h, packed, filled, np.uint64(text[j]))
        k += width
    if in_word:
        hashes[count] = _finish(h, packed)
        if details:
            chars[count] = n_chars
        count += 1
    return count


@njit(cache=True, nogil=True, inline="always")
def _most_words(size: int, texts: int, numbers: bool) -> int:
    """The most words ``texts`` texts of ``size`` bytes in all can hold. A word takes a byte and
    ends at a separator or the text's end; only a number can end at a word character, and the
    word starting there runs to a separator: at most two words per three bytes with numbers,
    one per two bytes without, plus the last word of each text."""
    return (2 * size // 3 if numbers else (size + 1) // 2) + texts + 1


@njit(cache=True, nogil=True)
def split_texts(
    data: np.ndarray,
    offsets: np.ndarray,
    classes: np.ndarray,
    fold: np.ndarray,
    read_length: np.ndarray,
    read_bytes: np.ndarray,
    normalise: bool,
    numbers: bool,
    seed: np.uint64,
    details: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Words of each text ``data[offsets[i]:offsets[i + 1]]`` (see ``_split``): flat hashes,
    per-text offsets into them, per word (where ``details``) its length in characters and class
    flags, and the texts left to the caller, which have no words here."""
    n = len(offsets) - 1
    size = _most_words(len(data), n, numbers)
    hashes = np.empty(size, dtype=np.uint64)
    chars = np.empty(size if details else 0, dtype=np.int32)
    flags = np.empty(size if details else 0, dtype=np.uint8)
    word_offsets = np.zeros(n + 1, dtype=np.int64)
    slow = np.zeros(n, dtype=np.bool_)
    start = word_start(seed)
    count = 0
    for i in range(n):
        got = _split(
            data, offsets[i], offsets[i + 1], classes, fold, read_length, read_bytes, normalise, numbers,
            start, hashes, chars, flags, count,
        )  # fmt: skip
        if got < 0:
            slow[i] = True  # whatever it appended is dropped
        else:
            count = got
        word_offsets[i + 1] = count
    return hashes[:count].copy(), word_offsets, chars[:count].copy(), flags[:count].copy(), slow


# --- The walk over example JSON: each message's role and the words of its content, no decoding
# into polars. Decoding a million examples into polars structs and tokenising the strings
# afterwards costs more than the tokenising itself, so this walks the canonical JSON bytes
# ({"messages":[{"role":..,"content":..},..],..}) once, decodes each content string's escapes
# into a buffer and splits it there. A row whose JSON is not that shape, or whose text the
# tables cannot read, is left to the caller.

_QUOTE, _BACKSLASH, _COLON, _COMMA = 0x22, 0x5C, 0x3A, 0x2C
_OPEN_OBJECT, _CLOSE_OBJECT, _OPEN_ARRAY, _CLOSE_ARRAY = 0x7B, 0x7D, 0x5B, 0x5D
_MESSAGES = np.frombuffer(b"messages", dtype=np.uint8)
_ROLE = np.frombuffer(b"role", dtype=np.uint8)
_CONTENT = np.frombuffer(b"content", dtype=np.uint8)
_SYSTEM, _USER, _ASSISTANT, _TOOL = (np.frombuffer(name.encode(), dtype=np.uint8) for name in ROLES)
_NULL = np.frombuffer(b"null", dtype=np.uint8)


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
def _decode_string(data: np.ndarray, pos: int, end: int, out: np.ndarray) -> tuple[int, int]:
    """The JSON string at ``pos`` (its opening quote) decoded into ``out`` as UTF-8: (position
    after it, length), or length -1 where it is malformed or escapes a surrogate (an astral
    character spelled as two escapes: the caller's slow path reads it)."""
    n = 0
    pos += 1
    while pos < end:
        b = data[pos]
        if b == _QUOTE:
            return pos + 1, n
        if b != _BACKSLASH:
            out[n] = b
            n += 1
            pos += 1
            continue
        if pos + 1 >= end:
            return pos, -1
        e = data[pos + 1]
        if e == 0x75:  # \uXXXX
            if pos + 5 >= end:
                return pos, -1
            code = 0
            for k in range(pos + 2, pos + 6):
                digit = _hex(data[k])
                if digit < 0:
                    return pos, -1
                code = code * 16 + digit
            if 0xD800 <= code <= 0xDFFF:
                return pos, -1
            if code < 0x80:
                out[n] = code
                n += 1
            elif code < 0x800:
                out[n] = 0xC0 | (code >> 6)
                out[n + 1] = 0x80 | (code & 0x3F)
                n += 2
            else:
                out[n] = 0xE0 | (code >> 12)
                out[n + 1] = 0x80 | ((code >> 6) & 0x3F)
                out[n + 2] = 0x80 | (code & 0x3F)
                n += 3
            pos += 6
            continue
        if e == 0x6E:
            out[n] = 0x0A
        elif e == 0x74:
            out[n] = 0x09
        elif e == 0x72:
            out[n] = 0x0D
        elif e == 0x62:
            out[n] = 0x08
        elif e == 0x66:
            out[n] = 0x0C
        elif e == _QUOTE or e == _BACKSLASH or e == 0x2F:
            out[n] = e
        else:
            return pos, -1
        n += 1
        pos += 2
    return pos, -1


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
    text: np.ndarray,
    classes: np.ndarray,
    fold: np.ndarray,
    read_length: np.ndarray,
    read_bytes: np.ndarray,
    normalise: bool,
    numbers: bool,
    strict: bool,
    start_hash: np.uint64,
    hashes: np.ndarray,
    chars: np.ndarray,
    flags: np.ndarray,
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
                    pos, length = _decode_string(data, pos, end, text)
                    if length < 0:
                        return count, messages, False
                    count = _split(
                        text, 0, length, classes, fold, read_length, read_bytes, normalise, numbers,
                        start_hash, hashes, chars, flags, count,
                    )  # fmt: skip
                    if count < 0:
                        return count, messages, False
                elif strict and _equals(data, key_start, key_stop, _CONTENT):
                    if not _equals(data, pos, min(pos + 4, end), _NULL):
                        return count, messages, False  # a list or number a decoder reads otherwise
                    pos += 4
                else:
                    pos = _value_end(data, pos, end)
                    if pos < 0:
                        return count, messages, False
            message_roles[messages] = role
            message_ends[messages] = count
            messages += 1


@njit(cache=True, nogil=True)
def walk_examples(
    data: np.ndarray,
    offsets: np.ndarray,
    classes: np.ndarray,
    fold: np.ndarray,
    read_length: np.ndarray,
    read_bytes: np.ndarray,
    normalise: bool,
    numbers: bool,
    seed: np.uint64,
    details: bool,
    strict: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Walk every example in ``data[offsets[i]:offsets[i + 1]]``, splitting each content string
    as ``split_texts`` does. The tables are passed in, not read as globals, because numba would
    bake a global table into its cache unnoticed. With ``strict``, a content that is neither a
    string nor null leaves its row to the caller (else it has no words).

    Returns the flat word hashes, and (where ``details``) each word's characters and class
    flags; per message, its role (index into ROLES) and the end of its words in the flat
    hashes; per row, the end of its messages; and the rows the walk left to the caller, which
    have no messages here.
    """
    n = len(offsets) - 1
    longest = 0
    for i in range(n):
        longest = max(longest, offsets[i + 1] - offsets[i])
    text = np.empty(longest, dtype=np.uint8)  # a decoded string is never longer than its JSON
    size = _most_words(len(data), n, numbers)  # a content's words are fewer than its JSON's bytes allow
    hashes = np.empty(size, dtype=np.uint64)
    chars = np.empty(size if details else 0, dtype=np.int32)
    flags = np.empty(size if details else 0, dtype=np.uint8)
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
            data, offsets[i], offsets[i + 1], text, classes, fold, read_length, read_bytes, normalise,
            numbers, strict, start_hash, hashes, chars, flags, count, message_roles, message_ends, messages,
        )  # fmt: skip
        if ok:
            count, messages = new_count, new_messages
        else:
            failed[i] = True  # roll back whatever the walk appended before it gave up
        row_ends[i] = messages
    return (
        hashes[:count].copy(),
        chars[:count].copy(),
        flags[:count].copy(),
        message_roles[:messages].copy(),
        message_ends[:messages].copy(),
        row_ends,
        failed,
    )


@njit(cache=True, nogil=True)
def role_words(
    counts: np.ndarray, roles: np.ndarray, rows: np.ndarray, n_rows: int, role: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which flat words are those of each row's messages of ``role`` (positions, in order), and
    per-row offsets into them; ``rows`` (each message's row) ascend. A negative ``role`` takes
    every message: the positions are then all of them and come back empty (the caller keeps
    its arrays as they are)."""
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    total = 0
    for m in range(len(counts)):
        total += counts[m]
    take = np.empty(0 if role < 0 else total, dtype=np.int64)
    at = 0
    start = 0
    for m in range(len(counts)):
        stop = start + counts[m]
        if role < 0 or roles[m] == role:
            if role >= 0:
                for k in range(start, stop):
                    take[at] = k
                    at += 1
            offsets[rows[m] + 1] += counts[m]
        start = stop
    for i in range(n_rows):
        offsets[i + 1] += offsets[i]
    return take[:at].copy(), offsets
