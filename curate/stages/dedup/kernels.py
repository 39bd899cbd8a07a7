"""Compiled loops behind near dedup: walking example JSON, tokenising, shingling, signatures.

These are the per-byte and per-shingle loops that numpy and polars can only express with large
intermediates (a regex match list per text, a window-start array per shingle, a scatter-min over
``rows * num_perm``). numba compiles them once and caches the machine code next to this file,
so a build pays the compile only the first time. They live in one file because numba's cache
only notices a change to the file of the function it compiled, not to a function it calls from
another file. All arithmetic is on ``uint64``/``uint32`` explicitly: numba would otherwise
promote a mix of signed and unsigned integers to float.
"""

# ruff: noqa: SIM109, SIM110  (plain comparisons and loops: what numba compiles well; no generators)

from __future__ import annotations

from typing import Final

import numpy as np
from numba import njit

_EMPTY: Final = np.uint32(0xFFFFFFFF)
_WORD_OFFSET: Final = np.uint64(0xCBF29CE484222325)
_WORD_PRIME: Final = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it is a bijection
_FILL_STEP: Final = np.uint32(0x9E3779B1)


@njit(cache=True, nogil=True, inline="always")
def mix64(x: np.uint64) -> np.uint64:
    """splitmix64 finaliser (the same as ``minhash.mix``)."""
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
def add_byte(h: np.uint64, packed: np.uint64, filled: int, c: np.uint64) -> tuple[np.uint64, np.uint64, int]:
    """Feed one byte of a word: bytes are packed eight to a 64-bit lane and each full lane is
    folded in with one multiply, so the chain of dependent multiplies is an eighth as long as
    hashing byte by byte. Word bytes are never 0, so packing is unambiguous."""
    packed = (packed << np.uint64(8)) | c
    filled += 1
    if filled == 8:
        return (h ^ packed) * _WORD_PRIME, np.uint64(0), 0
    return h, packed, filled


@njit(cache=True, nogil=True, inline="always")
def finish_word(h: np.uint64, packed: np.uint64) -> np.uint64:
    return mix64((h ^ packed) * _WORD_PRIME)


@njit(cache=True, nogil=True, inline="always")
def feed(
    c: np.uint64,
    h: np.uint64,
    packed: np.uint64,
    filled: int,
    in_word: bool,
    start: np.uint64,
    hashes: np.ndarray,
    count: int,
) -> tuple[np.uint64, np.uint64, int, bool, int]:
    """One byte into the tokeniser (``c`` = 0 for a separator): a word byte extends the word,
    a separator ends it and stores its hash at ``hashes[count]``. Returns the new state."""
    if c != 0:
        h, packed, filled = add_byte(h, packed, filled, c)
        return h, packed, filled, True, count
    if in_word:
        hashes[count] = finish_word(h, packed)
        return start, np.uint64(0), 0, False, count + 1
    return h, packed, filled, False, count


def _word_bytes() -> np.ndarray:
    """Byte -> the byte a word is hashed with (ASCII letters lower-cased), or 0 for a separator.
    Bytes >= 0x80 are parts of non-ASCII characters: letters, once the caller has normalised the text."""
    table = np.zeros(256, dtype=np.uint64)
    for b in range(256):
        if chr(b).isascii() and chr(b).isalnum():
            table[b] = ord(chr(b).lower())
        elif b >= 0x80:
            table[b] = b
    return table


WORD_BYTES: Final = _word_bytes()
ASCII_WORD_BYTES: Final = np.where(np.arange(256) < 0x80, WORD_BYTES, 0).astype(np.uint64)


@njit(cache=True, nogil=True)
def word_hashes(
    data: np.ndarray, offsets: np.ndarray, seed: np.uint64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes of the words of each ASCII text in ``data[offsets[i]:offsets[i + 1]]``.

    A word is a run of ASCII letters and digits, compared lower-cased. Each word is hashed from
    a seeded start (``add_byte``) and finished with splitmix64. A text holding any byte >= 0x80
    gets no words and is marked in the third result, for the caller to normalise and pass to
    ``letter_word_hashes``. Returns the flat hashes, per-text offsets into them and the marks.
    """
    return _word_hashes(data, offsets, seed, True)


@njit(cache=True, nogil=True)
def letter_word_hashes(
    data: np.ndarray, offsets: np.ndarray, seed: np.uint64
) -> tuple[np.ndarray, np.ndarray]:
    """Like ``word_hashes`` for texts already normalised (lower case, punctuation as spaces):
    bytes >= 0x80 are parts of letters and count as word bytes."""
    hashes, word_offsets, _ = _word_hashes(data, offsets, seed, False)
    return hashes, word_offsets


@njit(cache=True, nogil=True)
def _word_hashes(
    data: np.ndarray, offsets: np.ndarray, seed: np.uint64, ascii_only: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(offsets) - 1
    table = WORD_BYTES
    # At most one word per two bytes (a word and its separator), plus a final word per text.
    hashes = np.empty((len(data) + 1) // 2 + n, dtype=np.uint64)
    word_offsets = np.zeros(n + 1, dtype=np.int64)
    non_ascii = np.zeros(n, dtype=np.bool_)
    start = word_start(seed)
    count = 0
    for i in range(n):
        h, packed, filled = start, np.uint64(0), 0
        in_word = False
        for k in range(offsets[i], offsets[i + 1]):
            b = data[k]
            if ascii_only and b >= 0x80:
                non_ascii[i] = True
                break
            h, packed, filled, in_word, count = feed(
                table[b], h, packed, filled, in_word, start, hashes, count
            )
        if non_ascii[i]:
            count = word_offsets[i]  # drop the words taken before the first non-ASCII byte
        elif in_word:
            hashes[count] = finish_word(h, packed)
            count += 1
        word_offsets[i + 1] = count
    return hashes[:count].copy(), word_offsets, non_ascii


@njit(cache=True, nogil=True)
def splice_words(
    hashes: np.ndarray, offsets: np.ndarray, rows: np.ndarray, row_hashes: np.ndarray, row_offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Replace the words of texts ``rows`` (ascending) with ``row_hashes``/``row_offsets``."""
    n = len(offsets) - 1
    counts = np.diff(offsets)
    for j in range(len(rows)):
        counts[rows[j]] = row_offsets[j + 1] - row_offsets[j]
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        out_offsets[i + 1] = out_offsets[i] + counts[i]
    out = np.empty(out_offsets[n], dtype=np.uint64)
    j = 0
    for i in range(n):
        if j < len(rows) and rows[j] == i:
            out[out_offsets[i] : out_offsets[i + 1]] = row_hashes[row_offsets[j] : row_offsets[j + 1]]
            j += 1
        else:
            out[out_offsets[i] : out_offsets[i + 1]] = hashes[offsets[i] : offsets[i + 1]]
    return out, out_offsets


@njit(cache=True, nogil=True)
def shingle_hashes(
    hashes: np.ndarray, offsets: np.ndarray, n: int, multipliers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mixed hashes of the word n-grams of each text (the weighted sum of its words, one odd
    multiplier per position), and the text each belongs to. A text shorter than ``n`` words
    gives one shingle of all its words."""
    texts = len(offsets) - 1
    total = 0
    for i in range(texts):
        length = offsets[i + 1] - offsets[i]
        if length >= n:
            total += length - n + 1
        elif length > 0:
            total += 1
    out = np.empty(total, dtype=np.uint64)
    rows = np.empty(total, dtype=np.int64)
    at = 0
    for i in range(texts):
        first, length = offsets[i], offsets[i + 1] - offsets[i]
        if length == 0:
            continue
        windows = length - n + 1 if length >= n else 1
        width = n if length >= n else length
        for w in range(windows):
            acc = np.uint64(0)
            for j in range(width):
                acc += hashes[first + w + j] * multipliers[j]
            out[at] = mix64(acc)
            rows[at] = i
            at += 1
    return out, rows


@njit(cache=True, nogil=True)
def oph_signatures(
    shingles: np.ndarray,
    rows: np.ndarray,
    n_rows: int,
    num_perm: int,
    seed: np.uint64,
    shift: np.uint64,
    go_right: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One-permutation MinHash: each shingle picks a bin from its top bits (``64 - shift`` of
    them) and keeps the minimum of its low 32 bits there; then empty bins of each non-empty text
    are densified."""
    moved = mix64(seed)
    signatures = np.full((n_rows, num_perm), _EMPTY, dtype=np.uint32)
    has_any = np.zeros(n_rows, dtype=np.bool_)
    for k in range(len(shingles)):
        mixed = shingles[k] ^ moved
        row = rows[k]
        b = np.int64(mixed >> shift)
        value = np.uint32(mixed & np.uint64(0xFFFFFFFF))
        if value < signatures[row, b]:
            signatures[row, b] = value
        has_any[row] = True
    filled = np.empty(num_perm, dtype=np.int64)
    for row in range(n_rows):
        if has_any[row]:
            _densify_row(signatures[row], num_perm, go_right, filled)
    return signatures, has_any


@njit(cache=True, nogil=True)
def _densify_row(bins: np.ndarray, num_perm: int, go_right: np.ndarray, filled: np.ndarray) -> None:
    """Improved densification (Shrivastava and Li, ICML 2014): an empty bin borrows the nearest
    non-empty bin in its fixed direction (circularly) and adds a multiple of the distance, so a
    borrowed value only matches one borrowed from the same distance."""
    count = 0
    for p in range(num_perm):
        if bins[p] != _EMPTY:
            filled[count] = p
            count += 1
    if count == num_perm or count == 0:  # none: every shingle's value was the empty marker itself
        return
    # Walk each gap between consecutive non-empty bins (the last gap wraps past the end).
    for j in range(count):
        before = filled[j]
        after = filled[j + 1] if j + 1 < count else filled[0] + num_perm
        for q in range(before + 1, after):
            p = q - num_perm if q >= num_perm else q
            right = np.int64(go_right[p])  # arithmetic, not a branch: the direction is a coin flip
            donor = before + right * (after - before)
            distance = (q - before) + right * ((after - q) - (q - before))
            if donor >= num_perm:
                donor -= num_perm
            bins[p] = bins[donor] + np.uint32(distance) * _FILL_STEP


@njit(cache=True, nogil=True)
def band_keys(signatures: np.ndarray, bands: int, rows_per_band: int, weights: np.ndarray) -> np.ndarray:
    """One 32-bit key per band: the mixed weighted sum of the band's bins, salted by the band."""
    n_rows = signatures.shape[0]
    keys = np.empty((n_rows, bands), dtype=np.uint32)
    for row in range(n_rows):
        for band in range(bands):
            total = np.uint64(band)
            for j in range(band * rows_per_band, (band + 1) * rows_per_band):
                total += np.uint64(signatures[row, j]) * weights[j]
            keys[row, band] = np.uint32(mix64(total) >> np.uint64(32))
    return keys


@njit(cache=True, nogil=True)
def index_rows(
    hashes: np.ndarray,
    offsets: np.ndarray,
    n: int,
    multipliers: np.ndarray,
    seed: np.uint64,
    shift: np.uint64,
    go_right: np.ndarray,
    rows_per_band: int,
    weights: np.ndarray,
    small: np.ndarray,
    keys: np.ndarray,
    valid: np.ndarray,
) -> None:
    """``shingle_hashes``, ``oph_signatures`` and ``band_keys`` for each text at once, written to
    row i of ``small`` (low byte of each bin), ``keys`` and ``valid``: one text's bins stay in
    cache while its shingles land in them, where a batch's signature matrix would not."""
    num_perm = small.shape[1]
    moved = mix64(seed)
    bins = np.empty(num_perm, dtype=np.uint32)
    filled = np.empty(num_perm, dtype=np.int64)
    for i in range(len(offsets) - 1):
        first, length = offsets[i], offsets[i + 1] - offsets[i]
        valid[i] = length > 0
        bins[:] = _EMPTY  # a text with no words keeps its empty bins, as oph_signatures leaves them
        windows = 0 if length == 0 else length - n + 1 if length >= n else 1
        width = n if length >= n else length
        for w in range(windows):
            acc = np.uint64(0)
            for j in range(width):
                acc += hashes[first + w + j] * multipliers[j]
            mixed = mix64(acc) ^ moved
            b = np.int64(mixed >> shift)
            value = np.uint32(mixed & np.uint64(0xFFFFFFFF))
            if value < bins[b]:
                bins[b] = value
        _densify_row(bins, num_perm, go_right, filled)
        for p in range(num_perm):
            small[i, p] = np.uint8(bins[p] & np.uint32(0xFF))
        for band in range(keys.shape[1]):
            total = np.uint64(band)
            for j in range(band * rows_per_band, (band + 1) * rows_per_band):
                total += np.uint64(bins[j]) * weights[j]
            keys[i, band] = np.uint32(mix64(total) >> np.uint64(32))


@njit(cache=True, nogil=True)
def role_words(
    hashes: np.ndarray, counts: np.ndarray, roles: np.ndarray, rows: np.ndarray, n_rows: int, role: int
) -> tuple[np.ndarray, np.ndarray]:
    """The words of each row's messages of ``role`` (every message for a negative ``role``), and
    per-row offsets into them; ``rows`` (each message's row) ascend."""
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    out = hashes if role < 0 else np.empty(len(hashes), dtype=np.uint64)
    at = 0
    start = 0
    for m in range(len(counts)):
        stop = start + counts[m]
        if role < 0 or roles[m] == role:
            if role >= 0:
                out[at : at + counts[m]] = hashes[start:stop]
            at += counts[m]
            offsets[rows[m] + 1] += counts[m]
        start = stop
    for i in range(n_rows):
        offsets[i + 1] += offsets[i]
    return (out if role < 0 else out[:at].copy()), offsets


@njit(cache=True, nogil=True)
def sequence_keys(hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """One 64-bit key per text for its exact word sequence (0 for a text with no words): the
    wrapping sum of each word hash mixed with its position."""
    keys = np.zeros(len(offsets) - 1, dtype=np.uint64)
    for i in range(len(offsets) - 1):
        total = np.uint64(0)
        for k in range(offsets[i], offsets[i + 1]):
            total += mix64(hashes[k] ^ mix64(np.uint64(k - offsets[i] + 1)))
        keys[i] = total
    return keys


@njit(cache=True, nogil=True)
def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@njit(cache=True, nogil=True)
def _union(parent: np.ndarray, a: int, b: int) -> bool:
    """Join the sets of a and b under the smaller root; False when already one set."""
    ra, rb = _root(parent, a), _root(parent, b)
    if ra == rb:
        return False
    if ra < rb:
        parent[rb] = ra
    else:
        parent[ra] = rb
    return True


@njit(cache=True, nogil=True)
def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union-find over edges: each node's label is the smallest node of its component."""
    parent = np.arange(n, dtype=np.int64)
    for k in range(len(a)):
        _union(parent, a[k], b[k])
    for i in range(n):
        parent[i] = _root(parent, i)
    return parent


@njit(cache=True, nogil=True)
def similar_pairs(
    keys: np.ndarray, valid: np.ndarray, small: np.ndarray, passes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a spanning forest of the verified LSH candidates. In each band, every row whose
    key an earlier row holds is a candidate with the first such row (a star per bucket); a pair
    whose count of equal signature bytes ``passes`` is joined. A pair already in one component
    is skipped unverified: it would add nothing to the components."""
    n, bands = keys.shape
    size = 1
    while size < 2 * n:
        size *= 2
    mask = size - 1
    # A slot holds a band key (32 bits) and its first row (-1: empty; ``n`` < 2**31): 8 bytes a
    # slot, where two 64-bit arrays took 32 MB on a million rows.
    table_keys = np.empty(size, dtype=np.uint32)
    table_rows = np.empty(size, dtype=np.int32)
    parent = np.arange(n, dtype=np.int64)
    out_a = np.empty(n, dtype=np.int64)
    out_b = np.empty(n, dtype=np.int64)
    edges = 0
    for band in range(bands):
        table_rows[:] = -1
        for row in range(n):
            if not valid[row]:
                continue
            key = keys[row, band]
            slot = np.int64(mix64(np.uint64(key)) & np.uint64(mask))
            while table_rows[slot] != -1 and table_keys[slot] != key:
                slot = (slot + 1) & mask
            if table_rows[slot] == -1:
                table_keys[slot] = key
                table_rows[slot] = row
                continue
            first = int(table_rows[slot])
            if _root(parent, first) == _root(parent, row):
                continue
            agree = 0
            for p in range(small.shape[1]):
                agree += small[first, p] == small[row, p]
            if passes[agree] and _union(parent, first, row):
                out_a[edges] = first
                out_b[edges] = row
                edges += 1
    return out_a[:edges].copy(), out_b[:edges].copy()


@njit(cache=True, nogil=True)
def kept_rows(group: np.ndarray, priority: np.ndarray, score: np.ndarray) -> np.ndarray:
    """For each row of a group (``group`` >= 0, a row number), the row its group keeps: the
    least (priority, score, row), a NaN score after every number, as a sort on them would give;
    -1 for rows in no group. One pass, where a sort of every grouped row costs far more."""
    n = len(group)
    best = np.full(n, -1, dtype=np.int64)
    for row in range(n):
        g = group[row]
        if g < 0:
            continue
        b = best[g]
        if b < 0 or _before(priority[row], score[row], priority[b], score[b]):
            best[g] = row  # rows ascend, so a tie keeps the earlier row
    kept = np.full(n, -1, dtype=np.int64)
    for row in range(n):
        if group[row] >= 0:
            kept[row] = best[group[row]]
    return kept


@njit(cache=True, nogil=True, inline="always")
def _before(priority_a: int, score_a: float, priority_b: int, score_b: float) -> bool:
    if priority_a != priority_b:
        return priority_a < priority_b
    nan_a, nan_b = score_a != score_a, score_b != score_b
    if nan_a or nan_b:
        return nan_b and not nan_a
    return score_a < score_b


# --- The walk over example JSON: each message's role and the hashes of its words, no decoding.
# Near dedup only needs those. Decoding a million examples into polars structs and tokenising the
# strings afterwards costs more than the hashing itself, so this walks the canonical JSON bytes
# ({"messages":[{"role":..,"content":..},..],..}) once and tokenises content strings in place,
# escapes included. Common non-ASCII characters read through the ``unicode_words`` table; a row
# holding any other is left to the caller, which normalises it with polars first; so is a row
# whose JSON is not the shape above.

ROLES: Final = ("system", "user", "assistant", "tool")
OTHER_ROLE: Final = len(ROLES)  # a role outside ROLES (never chosen by a role filter)

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
def _utf8_code(data: np.ndarray, pos: int, end: int) -> tuple[int, int]:
    """(code point, byte length) of the 2- or 3-byte UTF-8 character at ``pos``; (-1, 0) for
    anything else (4-byte characters take the slow path anyway)."""
    b = data[pos]
    if 0xC2 <= b <= 0xDF and pos + 1 < end and (data[pos + 1] & 0xC0) == 0x80:
        return ((b & 0x1F) << 6) | (data[pos + 1] & 0x3F), 2
    if (
        0xE0 <= b <= 0xEF
        and pos + 2 < end
        and (data[pos + 1] & 0xC0) == 0x80
        and (data[pos + 2] & 0xC0) == 0x80
    ):
        return ((b & 0x0F) << 12) | ((data[pos + 1] & 0x3F) << 6) | (data[pos + 2] & 0x3F), 3
    return -1, 0


@njit(cache=True, nogil=True)
def _tokenise_string(
    data: np.ndarray,
    pos: int,
    end: int,
    start_hash: np.uint64,
    hashes: np.ndarray,
    count: int,
    read_length: np.ndarray,
    read_bytes: np.ndarray,
) -> tuple[int, int, bool]:
    """Hash the words of the JSON string at ``pos`` into ``hashes[count:]``.

    Returns (position after the string, new count, ok); not ok for a character the table in
    ``unicode_words`` leaves to the slow path, or a malformed string.
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
        code = -1
        if b >= 0x80:
            code, width = _utf8_code(data, pos, end)
            if code < 0:
                return pos, count, False
            pos += width
        elif b == _BACKSLASH:
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
                pos += 6
                if code < 0x80:
                    c = table[code]
                    code = -1
            else:
                pos += 2  # \n, \t, \", \\, \/ and the rest are all separators
        else:
            pos += 1
        if code < 0:
            h, packed, filled, in_word, count = feed(c, h, packed, filled, in_word, start_hash, hashes, count)
            continue
        # A non-ASCII character: its word bytes (a letter, lower-cased), a separator, or the slow path.
        if code >= len(read_length):
            return pos, count, False
        length = read_length[code]
        if length < 0:
            return pos, count, False
        if length == 0:
            h, packed, filled, in_word, count = feed(
                np.uint64(0), h, packed, filled, in_word, start_hash, hashes, count
            )
        word_bytes = read_bytes[code]
        for j in range(length):
            byte = (word_bytes >> np.uint64(8 * j)) & np.uint64(0xFF)
            h, packed, filled = add_byte(h, packed, filled, byte)
            in_word = True
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
    read_length: np.ndarray,
    read_bytes: np.ndarray,
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
                    pos, count, ok = _tokenise_string(
                        data, pos, end, start_hash, hashes, count, read_length, read_bytes
                    )
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
    data: np.ndarray, offsets: np.ndarray, seed: np.uint64, read_length: np.ndarray, read_bytes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Walk every example in ``data[offsets[i]:offsets[i + 1]]``. Non-ASCII characters read
    through ``read_length``/``read_bytes`` (``unicode_words``, indexed by code point): passed in,
    not read as globals, because numba would bake a global table into its cache unnoticed.

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
            data,
            offsets[i],
            offsets[i + 1],
            start_hash,
            hashes,
            count,
            message_roles,
            message_ends,
            messages,
            read_length,
            read_bytes,
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


# --- Leakage tokens: the same walk, with the leakage tokeniser (``curate.stages.leakage.words.TOKEN``:
# a number with its separators, or a run of word characters) instead of near dedup's words. Here
# because numba's cache would not notice a change to the walk's helpers made in another file.
# Only ASCII text is read; a row with any other character is left to the caller (it needs NFKC).

_TOKEN_OFFSET: Final = np.uint64(0xCBF29CE484222325)
_TOKEN_PRIME: Final = np.uint64(0x100000001B3)


@njit(cache=True, nogil=True, inline="always")
def _is_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


@njit(cache=True, nogil=True, inline="always")
def _is_word(c: int) -> bool:
    return (0x30 <= c <= 0x39) or (0x41 <= c <= 0x5A) or (0x61 <= c <= 0x7A) or c == 0x5F


@njit(cache=True, nogil=True)
def token_hash(data: np.ndarray, start: int, stop: int) -> np.uint64:
    """64-bit hash of a token's bytes, ASCII letters lower-cased (a token is never empty)."""
    h = _TOKEN_OFFSET
    for k in range(start, stop):
        c = data[k]
        if 0x41 <= c <= 0x5A:
            c += 0x20
        h = (h ^ np.uint64(c)) * _TOKEN_PRIME
    return mix64(h)


@njit(cache=True, nogil=True)
def string_hashes(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``token_hash`` of each string ``data[offsets[i]:offsets[i + 1]]``."""
    out = np.empty(len(offsets) - 1, dtype=np.uint64)
    for i in range(len(offsets) - 1):
        out[i] = token_hash(data, offsets[i], offsets[i + 1])
    return out


@njit(cache=True, nogil=True)
def _decode_ascii(data: np.ndarray, pos: int, end: int, out: np.ndarray) -> tuple[int, int]:
    """The JSON string at ``pos`` decoded into ``out``: (position after it, length), or length
    -1 where it holds a non-ASCII character or is malformed."""
    n = 0
    pos += 1
    while pos < end:
        b = data[pos]
        if b == _QUOTE:
            return pos + 1, n
        if b >= 0x80:
            return pos, -1
        if b == _BACKSLASH:
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
                if code >= 0x80:
                    return pos, -1
                out[n] = code
                pos += 6
            else:  # \n, \t, \", \/ and the rest: never part of a token
                out[n] = 0x20
                pos += 2
            n += 1
            continue
        out[n] = b
        n += 1
        pos += 1
    return pos, -1


@njit(cache=True, nogil=True)
def _tokens_of(
    text: np.ndarray,
    length: int,
    plain: np.ndarray,
    masked: np.ndarray,
    weak: np.ndarray,
    masked_weak: np.ndarray,
    count: int,
    special: np.ndarray,
) -> int:
    """Append the tokens of ``text[:length]``: a digit run with ``[.,]digits`` groups, else a run
    of ASCII letters, digits and underscores, as the regex's leftmost-first alternation takes
    them. ``special`` holds the hashes of <num>, <name>, <pron> and then the pronouns."""
    i = 0
    while i < length:
        c = text[i]
        if not _is_word(c):
            i += 1
            continue
        start = i
        if _is_digit(c):
            while i < length and _is_digit(text[i]):
                i += 1
            while i + 1 < length and (text[i] == 0x2E or text[i] == 0x2C) and _is_digit(text[i + 1]):
                i += 1
                while i < length and _is_digit(text[i]):
                    i += 1
        else:
            while i < length and _is_word(text[i]):
                i += 1
        h = token_hash(text, start, i)
        short = i - start <= 1
        plain[count] = h
        weak[count] = short
        if _is_digit(c):
            masked[count], masked_weak[count] = special[0], True
        elif 0x41 <= c <= 0x5A:
            masked[count], masked_weak[count] = special[1], True
        else:
            pronoun = False
            for k in range(3, len(special)):
                pronoun = pronoun or h == special[k]
            masked[count] = special[2] if pronoun else h
            masked_weak[count] = short or pronoun
        count += 1
    return count


@njit(cache=True, nogil=True)
def leak_tokens(
    data: np.ndarray, offsets: np.ndarray, role: int, special: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Leakage tokens of the turns of ``role`` (every turn for a negative ``role``) of each
    example JSON: plain and masked hashes, whether each is weak (one character; or, masked, a
    placeholder), per-row offsets, and the rows left to the caller (non-ASCII text, a content
    that is not a string, or another JSON shape), which have no tokens here."""
    n = len(offsets) - 1
    longest = 0
    for i in range(n):
        longest = max(longest, offsets[i + 1] - offsets[i])
    text = np.empty(longest, dtype=np.uint8)
    size = (len(data) + 1) // 2 + n  # at most one token per two bytes, plus one per text
    plain = np.empty(size, dtype=np.uint64)
    masked = np.empty(size, dtype=np.uint64)
    weak = np.empty(size, dtype=np.bool_)
    masked_weak = np.empty(size, dtype=np.bool_)
    row_offsets = np.zeros(n + 1, dtype=np.int64)
    failed = np.zeros(n, dtype=np.bool_)
    count = 0
    for i in range(n):
        ok = _leak_row(
            data, offsets[i], offsets[i + 1], role, special, text, plain, masked, weak, masked_weak, count
        )
        if ok >= 0:
            count = ok
        else:
            failed[i] = True  # whatever it appended is dropped
        row_offsets[i + 1] = count
    return (
        plain[:count].copy(),
        masked[:count].copy(),
        weak[:count].copy(),
        masked_weak[:count].copy(),
        row_offsets,
        failed,
    )


@njit(cache=True, nogil=True)
def _leak_row(
    data: np.ndarray,
    pos: int,
    end: int,
    role: int,
    special: np.ndarray,
    text: np.ndarray,
    plain: np.ndarray,
    masked: np.ndarray,
    weak: np.ndarray,
    masked_weak: np.ndarray,
    count: int,
) -> int:
    """One example's tokens appended at ``count``: the new count, or -1 where it is left to the caller."""
    pos = _skip_space(data, pos, end)
    if pos >= end or data[pos] != _OPEN_OBJECT:
        return -1
    pos += 1
    while True:  # the top-level object
        kind, key_start, key_stop, pos = _next_member(data, pos, end, _CLOSE_OBJECT)
        if kind == _CLOSED:
            return count
        if kind == _MALFORMED:
            return -1
        if not _equals(data, key_start, key_stop, _MESSAGES):
            pos = _value_end(data, pos, end)
            if pos < 0:
                return -1
            continue
        if data[pos] != _OPEN_ARRAY:
            return -1
        pos += 1
        while True:  # the messages array
            kind, _, _, pos = _next_member(data, pos, end, _CLOSE_ARRAY)
            if kind == _CLOSED:
                break
            if kind == _MALFORMED or data[pos] != _OPEN_OBJECT:
                return -1
            pos += 1
            message_start = count
            message_role = OTHER_ROLE
            while True:  # one message object
                kind, key_start, key_stop, pos = _next_member(data, pos, end, _CLOSE_OBJECT)
                if kind == _CLOSED:
                    break
                if kind == _MALFORMED:
                    return -1
                if _equals(data, key_start, key_stop, _ROLE) and data[pos] == _QUOTE:
                    value_end = _string_end(data, pos, end)
                    if value_end < 0:
                        return -1
                    message_role = _role_code(data, pos + 1, value_end - 1)
                    pos = value_end
                elif _equals(data, key_start, key_stop, _CONTENT):
                    if data[pos] != _QUOTE:
                        if not _equals(data, pos, min(pos + 4, end), _NULL):
                            return -1  # a list or number the decoder would read otherwise
                        pos += 4
                        continue
                    pos, length = _decode_ascii(data, pos, end, text)
                    if length < 0:
                        return -1
                    count = _tokens_of(text, length, plain, masked, weak, masked_weak, count, special)
                else:
                    pos = _value_end(data, pos, end)
                    if pos < 0:
                        return -1
            if role >= 0 and message_role != role:
                count = message_start  # another role's turn: its tokens are not this text's


_FILTER_BITS: Final = 22  # a 512 KB bit filter in front of the set: most windows miss it


@njit(cache=True, nogil=True, inline="always")
def _spread(key: np.uint64, bits: int) -> np.int64:
    """The top ``bits`` of a multiplicative hash: one multiply, where splitmix64 takes four steps."""
    return np.int64((key * _WORD_PRIME) >> np.uint64(64 - bits))


@njit(cache=True, nogil=True)
def key_table(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An open-addressing set of ``keys`` (distinct): slots, which slots are used, and a bit
    filter (one bit per ``_spread`` value, set for each key)."""
    bits = 4
    while (1 << bits) < 2 * len(keys):
        bits += 1
    slots = np.zeros(1 << bits, dtype=np.uint64)
    used = np.zeros(1 << bits, dtype=np.bool_)
    seen = np.zeros(1 << (_FILTER_BITS - 6), dtype=np.uint64)
    mask = (1 << bits) - 1
    for key in keys:
        f = _spread(key, _FILTER_BITS)
        seen[f >> 6] |= np.uint64(1) << np.uint64(f & 63)
        slot = _spread(key, bits)
        while used[slot] and slots[slot] != key:
            slot = (slot + 1) & mask
        slots[slot] = key
        used[slot] = True
    return slots, used, seen


@njit(cache=True, nogil=True)
def window_hits(
    hashes: np.ndarray,
    offsets: np.ndarray,
    n: int,
    base: np.uint64,
    base_inverse: np.uint64,
    slots: np.ndarray,
    used: np.ndarray,
    seen: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The n-word windows inside each document whose hash is in the ``key_table`` set:
    (document, start within it, hash), in document and position order. A window's hash is
    sum(hash[start + i] * base**i) modulo 2**64 (``Words.windows``), rolled along each document."""
    bits = 0
    while (1 << bits) < len(slots):
        bits += 1
    mask = len(slots) - 1
    top = np.uint64(1)
    for _ in range(n - 1):
        top *= base  # base ** (n - 1)
    docs = np.empty(16, dtype=np.int64)
    starts = np.empty(16, dtype=np.int64)
    found = np.empty(16, dtype=np.uint64)
    count = 0
    for d in range(len(offsets) - 1):
        first, last = offsets[d], offsets[d + 1] - n  # window starts first..last
        if last < first or n <= 0:
            continue
        window = np.uint64(0)
        power = np.uint64(1)
        for i in range(n):
            window += hashes[first + i] * power
            power *= base
        for start in range(first, last + 1):
            if start > first:  # drop the word before, shift down one power, add the new last word
                window = (window - hashes[start - 1]) * base_inverse + hashes[start + n - 1] * top
            f = _spread(window, _FILTER_BITS)
            if not (seen[f >> 6] >> np.uint64(f & 63)) & np.uint64(1):
                continue
            slot = _spread(window, bits)
            while used[slot]:
                if slots[slot] == window:
                    if count == len(docs):
                        docs, starts, found = _grown(docs), _grown(starts), _grown(found)
                    docs[count], starts[count], found[count] = d, start - first, window
                    count += 1
                    break
                slot = (slot + 1) & mask
    return docs[:count].copy(), starts[:count].copy(), found[:count].copy()


@njit(cache=True, nogil=True)
def _grown(values: np.ndarray) -> np.ndarray:
    out = np.empty(2 * len(values), dtype=values.dtype)
    out[: len(values)] = values
    return out
