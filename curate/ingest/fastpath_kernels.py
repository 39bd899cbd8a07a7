"""Compiled reading of plain chat JSONL: validate, canonicalise and key records on their bytes.

Most lines of a big chat file are plain records: an object with ``messages`` (role/content
pairs, system first if at all, then user and assistant alternating) and perhaps an ``id``. For
those lines ``scan_lines`` does in one compiled pass what the Python path (curate.ingest.validate and
curate.core.records) does with several: it checks the record, writes its canonical messages JSON
(exactly the bytes ``orjson.dumps`` gives for the parsed messages) and its exact-dedup text
(roles and whitespace-collapsed contents joined by U+001F). Any line it is not sure of (other
keys, escapes it does not canonicalise, characters NFC might change, any defect at all) is
marked for the Python path, which is the reference and says what is wrong. ``canonical_spans``
writes the canonical messages again from a line's bytes, so a build can leave the text in its
input file and read it back slice by slice.

Code points are judged by a table (``char_table``): bit 1 whitespace (Python's ``str.split``),
bit 2 "NFC might change a string holding it" (combining marks, composition seconds, characters
NFC rewrites), conservative by construction. Characters above U+FFFF take the Python path.

All kernels live in this file: numba's cache does not notice a change to a function called
from another file.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Final

import numba
import numpy as np

KIND_BLANK: Final = 0
KIND_FAST: Final = 1
KIND_SLOW: Final = 2

ID_NONE: Final = 0
ID_STRING: Final = 1
ID_INTEGER: Final = 2

WHITESPACE: Final = 1
UNSTABLE: Final = 2

_ROLE_SYSTEM: Final = 1
_ROLE_USER: Final = 2
_ROLE_ASSISTANT: Final = 3

# Per line: kind, line start/end, raw messages start/end, canonical start/end, key start/end,
# id kind/start/end, messages, assistant turns, content bytes (decoded UTF-8, all messages).
FIELDS: Final = 15
(
    F_KIND,
    F_LINE_START,
    F_LINE_END,
    F_RAW_START,
    F_RAW_END,
    F_CANON_START,
    F_CANON_END,
    F_KEY_START,
    F_KEY_END,
    F_ID_KIND,
    F_ID_START,
    F_ID_END,
    F_MESSAGES,
    F_ASSISTANT,
    F_CONTENT_BYTES,
) = range(FIELDS)

# The scan's constants travel in one array, the ``table`` argument every kernel takes: code point
# flags, then what each character after a backslash stands for (0: not a short escape), then
# the byte strings it compares and writes, each named by its (start, length). A global array
# costs a kernel an allocation at every use, and these are used several times a line.
_ESCAPES_AT: Final = 0x10000
_LITERALS_AT: Final = _ESCAPES_AT + 256
_LITERALS: Final = (
    b'"messages"',
    b'"id"',
    b'"role"',
    b'"content"',
    b'"user"',
    b'"assistant"',
    b'"system"',
    b'{"role":"user","content":',
    b'{"role":"assistant","content":',
    b'{"role":"system","content":',
    b"user",
    b"assistant",
    b"system",
    b'{"messages":',
    b"}",
)
_K_MESSAGES: Final = (65792, 10)
_K_ID: Final = (65802, 4)
_K_ROLE: Final = (65806, 6)
_K_CONTENT: Final = (65812, 9)
_V_USER: Final = (65821, 6)
_V_ASSISTANT: Final = (65827, 11)
_V_SYSTEM: Final = (65838, 8)
_OPEN_USER: Final = (65846, 25)
_OPEN_ASSISTANT: Final = (65871, 30)
_OPEN_SYSTEM: Final = (65901, 27)
_USER: Final = (65928, 4)
_ASSISTANT: Final = (65932, 9)
_SYSTEM: Final = (65941, 6)
_PREFIX: Final = (65947, 12)
_SUFFIX: Final = (65959, 1)


@cache
def char_table() -> np.ndarray:
    """The scan's constants: flags for every code point of the Basic Multilingual Plane (see the
    module docstring), the short escapes and the byte strings."""
    table = np.zeros(_LITERALS_AT + sum(len(text) for text in _LITERALS), dtype=np.uint8)
    table[_LITERALS_AT:] = np.frombuffer(b"".join(_LITERALS), dtype=np.uint8)
    seconds: set[int] = set()
    for cp in range(0x10000):
        parts = unicodedata.decomposition(chr(cp)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            seconds.add(int(parts[1], 16))
    for cp in range(0x10000):
        char = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            table[cp] = UNSTABLE  # a lone surrogate: never valid text
            continue
        if char.isspace():
            table[cp] |= WHITESPACE
        if (
            unicodedata.combining(char)
            or cp in seconds
            or 0x1100 <= cp <= 0x11FF  # Hangul jamo compose algorithmically
            or 0xAC00 <= cp <= 0xD7A3  # Hangul syllables take trailing jamo
            or unicodedata.normalize("NFC", char) != char
        ):
            table[cp] |= UNSTABLE
    escapes = table[_ESCAPES_AT : _ESCAPES_AT + 256]
    for letter, meaning in zip(b'"\\/bfnrt', b'"\\/\b\f\n\r\t', strict=True):
        escapes[letter] = meaning
    return table


@numba.njit(cache=True, nogil=True)
def _skip_ws(buf: np.ndarray, i: int, end: int) -> int:
    while i < end:
        c = buf[i]
        if c == 0x20 or c == 0x0A or c == 0x0D or c == 0x09:
            i += 1
        else:
            break
    return i


@numba.njit(cache=True, nogil=True)
def _hex(c: int) -> int:
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    if 65 <= c <= 70:
        return c - 55
    return -1


@numba.njit(cache=True, nogil=True)
def _put_char(out: np.ndarray, o: int, cp: int) -> int:
    """Write a code point as UTF-8."""
    if cp < 0x80:
        out[o] = cp
        return o + 1
    if cp < 0x800:
        out[o] = 0xC0 | (cp >> 6)
        out[o + 1] = 0x80 | (cp & 0x3F)
        return o + 2
    if cp < 0x10000:
        out[o] = 0xE0 | (cp >> 12)
        out[o + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[o + 2] = 0x80 | (cp & 0x3F)
        return o + 3
    out[o] = 0xF0 | (cp >> 18)
    out[o + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[o + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[o + 3] = 0x80 | (cp & 0x3F)
    return o + 4


@numba.njit(cache=True, nogil=True)
def _put_json_char(out: np.ndarray, o: int, cp: int) -> int:
    """Write a code point inside a JSON string as orjson does: short escapes, \\u00xx for other
    control characters, everything else as UTF-8."""
    if cp == 0x22 or cp == 0x5C:
        out[o] = 0x5C
        out[o + 1] = cp
        return o + 2
    if cp < 0x20:
        out[o] = 0x5C
        if cp == 0x08:
            out[o + 1] = 98  # b
        elif cp == 0x09:
            out[o + 1] = 116  # t
        elif cp == 0x0A:
            out[o + 1] = 110  # n
        elif cp == 0x0C:
            out[o + 1] = 102  # f
        elif cp == 0x0D:
            out[o + 1] = 114  # r
        else:
            out[o + 1] = 117  # u
            out[o + 2] = 48
            out[o + 3] = 48
            out[o + 4] = 48 + (cp >> 4)  # 0 or 1
            low = cp & 15
            out[o + 5] = 48 + low if low < 10 else 87 + low
            return o + 6
        return o + 2
    return _put_char(out, o, cp)


@numba.njit(cache=True, nogil=True)
def _content(
    buf: np.ndarray,
    i: int,
    end: int,
    out: np.ndarray,
    o: int,
    key: np.ndarray,
    k: int,
    table: np.ndarray,
) -> tuple[int, int, int, int, int]:
    """Read a JSON string whose opening quote is at ``i - 1``; write it canonically to ``out``
    (quotes included) and its whitespace-collapsed text to ``key``.

    Returns (next index or -1 when the Python path must judge, out end, key end, decoded UTF-8
    bytes, non-whitespace code points seen).
    """
    out[o] = 0x22
    o += 1
    decoded = 0
    visible = 0
    pending_space = False
    while True:
        if i >= end:
            return -1, o, k, decoded, visible
        c = buf[i]
        if 0x20 < c < 0x7F and c != 0x22 and c != 0x5C:  # visible ASCII, most of any text
            out[o] = c
            o += 1
            if pending_space:
                key[k] = 0x20
                k += 1
                pending_space = False
            key[k] = c
            k += 1
            visible += 1
            decoded += 1
            i += 1
            continue
        if c == 0x20:
            out[o] = c
            o += 1
            decoded += 1
            pending_space = visible > 0
            i += 1
            continue
        if c == 0x22:
            i += 1
            break
        cp = 0
        if c == 0x5C:
            if i + 1 >= end:
                return -1, o, k, decoded, visible
            e = buf[i + 1]
            if e != 117:
                cp = table[_ESCAPES_AT + e]
                if cp == 0:
                    return -1, o, k, decoded, visible
                i += 2
            else:
                if i + 6 > end:
                    return -1, o, k, decoded, visible
                cp = 0
                for j in range(i + 2, i + 6):
                    h = _hex(buf[j])
                    if h < 0:
                        return -1, o, k, decoded, visible
                    cp = cp * 16 + h
                i += 6
                if 0xD800 <= cp <= 0xDFFF:
                    return -1, o, k, decoded, visible  # surrogate pairs: astral, Python path
        elif c < 0x20:
            return -1, o, k, decoded, visible  # a raw control character: invalid JSON
        elif c < 0x80:
            cp = c
            i += 1
        elif 0xC2 <= c <= 0xDF:
            if i + 1 >= end or (buf[i + 1] & 0xC0) != 0x80:
                return -1, o, k, decoded, visible
            cp = ((c & 0x1F) << 6) | (buf[i + 1] & 0x3F)
            i += 2
        elif 0xE0 <= c <= 0xEF:
            if i + 2 >= end or (buf[i + 1] & 0xC0) != 0x80 or (buf[i + 2] & 0xC0) != 0x80:
                return -1, o, k, decoded, visible
            cp = ((c & 0x0F) << 12) | ((buf[i + 1] & 0x3F) << 6) | (buf[i + 2] & 0x3F)
            if cp < 0x800:
                return -1, o, k, decoded, visible  # overlong
            i += 3
        else:
            return -1, o, k, decoded, visible  # astral or invalid: Python path
        if cp == 0:
            return -1, o, k, decoded, visible  # NUL: the Python path rejects it with its reason
        if cp >= 0x80:
            flags = table[cp]
            if flags & UNSTABLE:
                return -1, o, k, decoded, visible
            space = (flags & WHITESPACE) != 0
        else:
            space = cp == 0x20 or (0x09 <= cp <= 0x0D) or (0x1C <= cp <= 0x1F)
        o = _put_json_char(out, o, cp)
        if cp < 0x80:
            decoded += 1
        elif cp < 0x800:
            decoded += 2
        else:
            decoded += 3
        if space:
            pending_space = visible > 0
        else:
            if pending_space:
                key[k] = 0x20
                k += 1
                pending_space = False
            k = _put_char(key, k, cp)
            visible += 1
    out[o] = 0x22
    o += 1
    return i, o, k, decoded, visible


@numba.njit(cache=True, nogil=True)
def _literal(buf: np.ndarray, i: int, end: int, table: np.ndarray, text: tuple[int, int]) -> bool:
    at, n = text
    if i + n > end:
        return False
    for j in range(n):  # noqa: SIM110 (numba compiles no generator)
        if buf[i + j] != table[at + j]:
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _put_literal(out: np.ndarray, o: int, table: np.ndarray, text: tuple[int, int]) -> int:
    at, n = text
    for j in range(n):
        out[o + j] = table[at + j]
    return o + n


@numba.njit(cache=True, nogil=True)
def _role(buf: np.ndarray, i: int, end: int, table: np.ndarray) -> tuple[int, int]:
    """A role string (opening quote at ``i``) written without escapes: (role code or 0, next)."""
    if _literal(buf, i, end, table, _V_USER):
        return _ROLE_USER, i + 6
    if _literal(buf, i, end, table, _V_ASSISTANT):
        return _ROLE_ASSISTANT, i + 11
    if _literal(buf, i, end, table, _V_SYSTEM):
        return _ROLE_SYSTEM, i + 8
    return 0, i


@numba.njit(cache=True, nogil=True)
def _messages(
    buf: np.ndarray,
    i: int,
    end: int,
    out: np.ndarray,
    o: int,
    key: np.ndarray,
    k: int,
    table: np.ndarray,
) -> tuple[int, int, int, int, int, int]:
    """Read a plain messages array (``[`` at ``i``) and check it as ``is_plain_valid_chat`` does.

    Returns (next index or -1, out end, key end, messages, assistant turns, content bytes).
    """
    i += 1
    out[o] = 0x5B
    o += 1
    count = 0
    assistant = 0
    content_bytes = 0
    expected = _ROLE_USER
    while True:
        i = _skip_ws(buf, i, end)
        if i >= end or buf[i] != 0x7B:
            return -1, o, k, count, assistant, content_bytes
        i = _skip_ws(buf, i + 1, end)
        if not _literal(buf, i, end, table, _K_ROLE):
            return -1, o, k, count, assistant, content_bytes
        i = _skip_ws(buf, i + 6, end)
        if i >= end or buf[i] != 0x3A:
            return -1, o, k, count, assistant, content_bytes
        i = _skip_ws(buf, i + 1, end)
        role, i = _role(buf, i, end, table)
        if role == 0:
            return -1, o, k, count, assistant, content_bytes
        if role == _ROLE_SYSTEM:
            if count != 0:
                return -1, o, k, count, assistant, content_bytes
        elif role != expected:
            return -1, o, k, count, assistant, content_bytes
        else:
            expected = _ROLE_USER if role == _ROLE_ASSISTANT else _ROLE_ASSISTANT
        if role == _ROLE_ASSISTANT:
            assistant += 1
        i = _skip_ws(buf, i, end)
        if i >= end or buf[i] != 0x2C:
            return -1, o, k, count, assistant, content_bytes
        i = _skip_ws(buf, i + 1, end)
        if not _literal(buf, i, end, table, _K_CONTENT):
            return -1, o, k, count, assistant, content_bytes
        i = _skip_ws(buf, i + 9, end)
        if i >= end or buf[i] != 0x3A:
            return -1, o, k, count, assistant, content_bytes
        i = _skip_ws(buf, i + 1, end)
        if i >= end or buf[i] != 0x22:
            return -1, o, k, count, assistant, content_bytes
        if count:
            out[o] = 0x2C
            o += 1
            key[k] = 0x1F
            k += 1
        if role == _ROLE_USER:
            o = _put_literal(out, o, table, _OPEN_USER)
            k = _put_literal(key, k, table, _USER)
        elif role == _ROLE_ASSISTANT:
            o = _put_literal(out, o, table, _OPEN_ASSISTANT)
            k = _put_literal(key, k, table, _ASSISTANT)
        else:
            o = _put_literal(out, o, table, _OPEN_SYSTEM)
            k = _put_literal(key, k, table, _SYSTEM)
        key[k] = 0x1F
        k += 1
        i, o, k, decoded, visible = _content(buf, i + 1, end, out, o, key, k, table)
        if i < 0 or visible == 0:
            return -1, o, k, count, assistant, content_bytes
        content_bytes += decoded
        out[o] = 0x7D
        o += 1
        count += 1
        i = _skip_ws(buf, i, end)
        if i >= end or buf[i] != 0x7D:
            return -1, o, k, count, assistant, content_bytes
        i = _skip_ws(buf, i + 1, end)
        if i >= end:
            return -1, o, k, count, assistant, content_bytes
        if buf[i] == 0x2C:
            i += 1
            continue
        if buf[i] == 0x5D:
            i += 1
            break
        return -1, o, k, count, assistant, content_bytes
    out[o] = 0x5D
    o += 1
    if assistant == 0:
        return -1, o, k, count, assistant, content_bytes
    return i, o, k, count, assistant, content_bytes


@numba.njit(cache=True, nogil=True)
def _id_value(buf: np.ndarray, i: int, end: int) -> tuple[int, int, int, int]:
    """A plain id: a string without escapes or control characters, or an integer of at most 18
    digits without a leading zero or minus zero. Returns (kind, start, end, next) or kind 0."""
    if i >= end:
        return ID_NONE, 0, 0, -1
    if buf[i] == 0x22:
        j = i + 1
        while j < end and buf[j] != 0x22:
            c = buf[j]
            if c == 0x5C or c < 0x20 or c >= 0x80:
                return ID_NONE, 0, 0, -1  # escapes and non-ASCII ids: the Python path
            j += 1
        if j >= end:
            return ID_NONE, 0, 0, -1
        return ID_STRING, i + 1, j, j + 1
    j = i
    if buf[j] == 0x2D:
        j += 1
    first = j
    while j < end and 48 <= buf[j] <= 57:
        j += 1
    digits = j - first
    if digits == 0 or digits > 18 or (digits > 1 and buf[first] == 48):
        return ID_NONE, 0, 0, -1
    if first > i and digits == 1 and buf[first] == 48:
        return ID_NONE, 0, 0, -1  # -0 reads back as 0
    if j < end and (buf[j] == 0x2E or buf[j] == 0x65 or buf[j] == 0x45):
        return ID_NONE, 0, 0, -1  # a float
    return ID_INTEGER, i, j, j


@numba.njit(cache=True, nogil=True)
def _line(
    buf: np.ndarray,
    start: int,
    end: int,
    out: np.ndarray,
    o: int,
    key: np.ndarray,
    k: int,
    table: np.ndarray,
    row: np.ndarray,
) -> tuple[bool, int, int]:
    """Judge one line; fill ``row`` and return (fast, out end, key end)."""
    i = _skip_ws(buf, start, end)
    if i >= end or buf[i] != 0x7B:
        return False, o, k
    seen_id = False
    seen_messages = False
    o0, k0 = o, k
    i += 1
    while True:
        i = _skip_ws(buf, i, end)
        if _literal(buf, i, end, table, _K_MESSAGES) and not seen_messages:
            i = _skip_ws(buf, i + 10, end)
            if i >= end or buf[i] != 0x3A:
                return False, o0, k0
            i = _skip_ws(buf, i + 1, end)
            if i >= end or buf[i] != 0x5B:
                return False, o0, k0
            raw_start = i
            i, o, k, count, assistant, content_bytes = _messages(buf, i, end, out, o, key, k, table)
            if i < 0:
                return False, o0, k0
            seen_messages = True
            row[F_RAW_START] = raw_start
            row[F_RAW_END] = i
            row[F_CANON_START] = o0
            row[F_CANON_END] = o
            row[F_KEY_START] = k0
            row[F_KEY_END] = k
            row[F_MESSAGES] = count
            row[F_ASSISTANT] = assistant
            row[F_CONTENT_BYTES] = content_bytes
        elif _literal(buf, i, end, table, _K_ID) and not seen_id:
            i = _skip_ws(buf, i + 4, end)
            if i >= end or buf[i] != 0x3A:
                return False, o0, k0
            i = _skip_ws(buf, i + 1, end)
            kind, id_start, id_end, i = _id_value(buf, i, end)
            if kind == ID_NONE:
                return False, o0, k0
            seen_id = True
            row[F_ID_KIND] = kind
            row[F_ID_START] = id_start
            row[F_ID_END] = id_end
        else:
            return False, o0, k0  # any other key (meta, tools, ...): the Python path
        i = _skip_ws(buf, i, end)
        if i >= end:
            return False, o0, k0
        if buf[i] == 0x2C:
            i += 1
            continue
        if buf[i] == 0x7D:
            i += 1
            break
        return False, o0, k0
    if _skip_ws(buf, i, end) != end or not seen_messages:
        return False, o0, k0
    if not seen_id:
        row[F_ID_KIND] = ID_NONE
    return True, o, k


@numba.njit(cache=True, nogil=True)
def scan_lines(
    buf: np.ndarray, max_line_bytes: int, table: np.ndarray, fast_ok: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every line of ``buf`` (a run of whole JSONL lines): one row of FIELDS per line, the
    canonical messages of fast lines, and their dedup texts. ``fast_ok`` False sends every
    non-blank line to the Python path (format overrides, general data)."""
    lines = 0
    for j in range(len(buf)):
        if buf[j] == 0x0A:
            lines += 1
    if len(buf) and buf[len(buf) - 1] != 0x0A:
        lines += 1
    rows = np.zeros((lines, FIELDS), dtype=np.int64)
    out = np.empty(len(buf) + 16, dtype=np.uint8)
    key = np.empty(len(buf) + 16, dtype=np.uint8)
    o = 0
    k = 0
    start = 0
    n = 0
    size = len(buf)
    while start < size:
        stop = start
        while stop < size and buf[stop] != 0x0A:
            stop += 1
        row = rows[n]
        row[F_LINE_START] = start
        row[F_LINE_END] = stop
        end = stop
        while end > start and (buf[end - 1] == 0x0D or buf[end - 1] == 0x0A):
            end -= 1
        blank = True
        for j in range(start, end):
            c = buf[j]
            if not (c == 0x20 or (0x09 <= c <= 0x0D)):
                blank = False
                break
        if blank:
            row[F_KIND] = KIND_BLANK
        elif not fast_ok or end - start > max_line_bytes:
            row[F_KIND] = KIND_SLOW
        else:
            fast, o, k = _line(buf, start, end, out, o, key, k, table, row)
            row[F_KIND] = KIND_FAST if fast else KIND_SLOW
        n += 1
        start = stop + 1
    return rows, out[:o], key[:k]


@numba.njit(cache=True, nogil=True)
def _utf8(buf: np.ndarray, a: int, b: int) -> bool:
    """Whether ``buf[a:b]`` is valid UTF-8 with no raw control byte: a verbatim span is copied
    into a string column as it is, so bytes that changed since the scan must not get there."""
    i = a
    while i < b:
        c = buf[i]
        if c < 0x80:
            if c < 0x20:
                return False
            i += 1
            continue
        if 0xC2 <= c <= 0xDF:
            n = 1
        elif 0xE0 <= c <= 0xEF:
            n = 2
        elif 0xF0 <= c <= 0xF4:
            n = 3
        else:
            return False
        if i + n >= b:
            return False
        for j in range(i + 1, i + 1 + n):
            if (buf[j] & 0xC0) != 0x80:
                return False
        if c == 0xE0 and buf[i + 1] < 0xA0:
            return False  # overlong
        if c == 0xED and buf[i + 1] >= 0xA0:
            return False  # a surrogate
        if c == 0xF0 and buf[i + 1] < 0x90:
            return False
        if c == 0xF4 and buf[i + 1] >= 0x90:
            return False
        i += 1 + n
    return True


@numba.njit(cache=True, nogil=True)
def canonical_spans(
    buf: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    verbatim: np.ndarray,
    table: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The canonical messages of each span ``buf[starts[r]:ends[r]]`` (spans ``scan_lines``
    judged fast), each as an example (``{"messages":...}``): copied where ``verbatim[r]``,
    written anew otherwise. Returns bytes and offsets; offsets[-1] is -1 where a span no longer
    reads as it did (its input changed)."""
    n = len(starts)
    total = 0
    for r in range(n):
        total += ends[r] - starts[r] + _PREFIX[1] + _SUFFIX[1]
    out = np.empty(total + 16, dtype=np.uint8)
    key = np.empty(1 << 16, dtype=np.uint8)
    offsets = np.zeros(n + 1, dtype=np.int64)
    o = 0
    for r in range(n):
        o = _put_literal(out, o, table, _PREFIX)
        a = starts[r]
        b = ends[r]
        if verbatim[r]:
            if b <= a or buf[a] != 0x5B or buf[b - 1] != 0x5D or not _utf8(buf, a, b):
                offsets[n] = -1
                return out[:o], offsets
            out[o : o + b - a] = buf[a:b]
            o += b - a
        else:
            if b - a + 16 > len(key):
                key = np.empty(2 * (b - a) + 16, dtype=np.uint8)
            i, o, _, _, _, _ = _messages(buf, a, b, out, o, key, 0, table)
            if i != b:
                offsets[n] = -1
                return out[:o], offsets
        o = _put_literal(out, o, table, _SUFFIX)
        offsets[r + 1] = o
    return out[:o], offsets


@numba.njit(cache=True, nogil=True)
def gather(buf: np.ndarray, starts: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``buf[starts[r]:starts[r] + length r]`` back to back, lengths from ``offsets``."""
    out = np.empty(offsets[-1], dtype=np.uint8)
    for r in range(len(starts)):
        a = offsets[r]
        n = offsets[r + 1] - a
        out[a : a + n] = buf[starts[r] : starts[r] + n]
    return out


@numba.njit(cache=True, nogil=True)
def same_bytes(
    a: np.ndarray,
    a_starts: np.ndarray,
    a_ends: np.ndarray,
    b: np.ndarray,
    b_starts: np.ndarray,
    b_ends: np.ndarray,
) -> np.ndarray:
    """Whether each span of ``a`` holds the same bytes as the matching span of ``b``."""
    same = np.zeros(len(a_starts), dtype=np.bool_)
    for r in range(len(a_starts)):
        n = a_ends[r] - a_starts[r]
        if n != b_ends[r] - b_starts[r]:
            continue
        x = a_starts[r]
        y = b_starts[r]
        equal = True
        for j in range(n):
            if a[x + j] != b[y + j]:
                equal = False
                break
        same[r] = equal
    return same


@numba.njit(cache=True, nogil=True)
def place(
    data: np.ndarray, offsets: np.ndarray, rows: np.ndarray, text: np.ndarray, text_offsets: np.ndarray
) -> None:
    """Copy text ``i`` (``text[text_offsets[i]:text_offsets[i + 1]]``) to ``data`` at row ``rows[i]``."""
    for i in range(len(rows)):
        a = text_offsets[i]
        n = text_offsets[i + 1] - a
        o = offsets[rows[i]]
        data[o : o + n] = text[a : a + n]
