"""Building Arrow columns from numpy arrays quickly: ids, picks from small lists, timestamps.

Strings are the slow part of generating millions of rows, so every string column is built by
Arrow kernels (take from a small list, cast numbers to text, join element-wise), never by a
Python loop over rows.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DAY = 86_400
EPOCH = dt.datetime(1970, 1, 1)


def ids(prefix: str, start: int, count: int, width: int) -> pa.Array:
    """``prefix`` followed by the zero-padded numbers ``start .. start + count - 1``."""
    return numbered(prefix, np.arange(start, start + count, dtype=np.int64), width)


@functools.cache
def _five_digits() -> npt.NDArray[np.uint8]:
    """Row ``k`` holds the ASCII digits of ``k`` zero-padded to five places."""
    numbers = np.arange(100_000, dtype=np.int64)
    table = np.empty((100_000, 5), dtype=np.uint8)
    for place in range(4, -1, -1):
        table[:, place] = numbers % 10 + ord("0")
        numbers //= 10
    return table


def numbered(prefix: str, numbers: IntArray, width: int) -> pa.Array:
    """``prefix`` followed by each number, zero-padded to ``width`` digits (wider ones are cut
    to their last ``width`` digits).

    Built as one fixed-width byte buffer from a table of five-digit groups: much faster than
    formatting each number.
    """
    count = len(numbers)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    groups = -(-width // 5)
    digits = np.empty((count, groups * 5), dtype=np.uint8)
    rest = numbers.astype(np.int64) % (10 ** (groups * 5))
    table = _five_digits()
    for group in range(groups - 1, -1, -1):
        digits[:, group * 5 : group * 5 + 5] = table[rest % 100_000]
        rest //= 100_000
    size = len(head) + width
    data = np.empty((count, size), dtype=np.uint8)
    data[:, : len(head)] = head
    data[:, len(head) :] = digits[:, groups * 5 - width :]
    offsets = np.arange(0, (count + 1) * size, size, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(data.reshape(-1))]
    )


def pick(
    choices: Sequence[str] | pa.Array, index: IntArray, mask: BoolArray | None = None
) -> pa.DictionaryArray:
    """``choices[index]`` per row, dictionary-encoded; rows where ``mask`` is True are null.

    Dictionary columns are cheap to build and to write: the Parquet writer stores the small
    dictionary once per row group instead of hashing every value.
    """
    codes = index.astype(np.int32)
    if isinstance(choices, pa.Array):
        values = plain(choices)  # callers pass distinct values
    else:
        # A dictionary must not repeat a value: the Parquet writer would not be deterministic.
        distinct = list(dict.fromkeys(choices))
        if len(distinct) < len(choices):
            codes = np.array([distinct.index(c) for c in choices], dtype=np.int32)[codes]
        values = pa.array(distinct, pa.string())
    indices = pa.array(codes, type=pa.int32(), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, values)


def plain(column: pa.Array) -> pa.Array:
    """A dictionary column decoded to plain values (other columns unchanged)."""
    if isinstance(column, pa.DictionaryArray):
        return column.dictionary_decode()
    return column


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string columns and constants."""
    decoded = [part if isinstance(part, str) else plain(part) for part in parts]
    return pc.binary_join_element_wise(*decoded, "")


def either(condition: BoolArray, when_true: pa.Array, when_false: pa.Array) -> pa.Array:
    """Row-wise choice between two string columns."""
    return pc.if_else(pa.array(condition), plain(when_true), plain(when_false))


def text_numbers(numbers: IntArray) -> pa.Array:
    return pc.cast(pa.array(numbers, type=pa.int64()), pa.string())


def null_where(column: pa.Array, mask: BoolArray) -> pa.Array:
    column = plain(column)
    if not mask.any():
        return column
    return pc.if_else(pa.array(mask), pa.scalar(None, column.type), column)


def timestamps(seconds: IntArray, mask: BoolArray | None = None) -> pa.Array:
    """Naive UTC timestamps (microseconds) from seconds since 1970; masked rows are null."""
    micros = seconds.astype(np.int64) * 1_000_000
    return pa.array(micros, type=pa.timestamp("us"), mask=mask)


def dates(days: IntArray, mask: BoolArray | None = None) -> pa.Array:
    """Dates from days since 1970."""
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=mask)


def epoch_seconds(moment: dt.datetime) -> int:
    return int((moment - EPOCH).total_seconds())


def weighted(rng: np.random.Generator, weights: Sequence[float], size: int) -> IntArray:
    """Indices drawn with the given (unnormalised) weights."""
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    drawn = np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")
    index: IntArray = np.minimum(drawn, len(cumulative) - 1).astype(np.int64)
    return index


def segment_positions(counts: IntArray) -> IntArray:
    """For segments of the given lengths laid end to end, each row's position in its segment."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
