"""CSV bytes in, records out, one chunk at a time: memory does not grow with the file.

Only the current chunk and the record being assembled are held. A record may span several
physical lines (a quoted field with line breaks); it is complete when it holds an even number of
quote marks, which is exact for CSV that doubles its quotes and bounded by ``max_record_chars``
for CSV that does not.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import aclosing
from typing import NamedTuple, overload

from commands.leads.errors import FileTooLarge, UnreadableCsv

DELIMITERS = (",", ";", "\t", "|")
"""Candidates in order of preference when two are equally frequent in the header."""
BATCH_RECORDS = 500
"""Records per batch: few enough that a batch stays a few hundred KB, enough that the work
per batch (an async generator step, a task for a worker process) is small beside its rows."""
MAX_RECORD_CHARS = 100_000
"""Longest record (all its lines); stays under ``csv.field_size_limit()``."""

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_ZIP_MAGIC = b"PK\x03\x04"


class Record(NamedTuple):
    """A tuple, not a dataclass: one is built for every row, and a tuple is built twice as fast
    and pickles small (rows go to worker processes in batches)."""

    line: int
    """Physical line (1-based) where the record starts, as a spreadsheet would number it."""
    cells: tuple[str, ...]


Piece = tuple[int, str]
"""A record's first line number and its text, not yet cut into cells."""


class TextDecoder:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.

    A file is read as UTF-8 until the first byte that is not UTF-8, and as cp1252 from there:
    legacy files are plain ASCII up to their first accented letter, so nothing before it changes.
    The switch point depends only on the bytes, never on chunk boundaries, so every pass over a
    file decodes it the same way.
    """

    def __init__(self) -> None:
        self.encoding = ""
        self.switched_at_byte: int | None = None
        self._decoder: codecs.IncrementalDecoder | None = None
        self._head = b""
        self._consumed = 0

    @property
    def note(self) -> str | None:
        if self.switched_at_byte is None:
            return None
        return (
            "The file is not UTF-8, so it was read as Windows-1252 (Western European). "
            'If names look wrong, save it as "CSV UTF-8" and upload it again.'
        )

    def decode(self, data: bytes, final: bool = False) -> str:
        if self._decoder is None:
            self._head += data
            if len(self._head) < 4 and not final:
                return ""
            data, self._head = self._head, b""
            self._decoder = self._start(data)
        consumed_before = self._consumed
        self._consumed += len(data)
        try:
            return self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            if not self.encoding.startswith("utf-8"):
                raise UnreadableCsv(f"The file is not valid {self.encoding} text.") from exc
            buffered = len(exc.object) - len(data)
            self.switched_at_byte = consumed_before - buffered + exc.start
            return self._switch_to_cp1252(exc.object, exc.start, final)

    def _start(self, head: bytes) -> codecs.IncrementalDecoder:
        if head.startswith(_ZIP_MAGIC):
            raise UnreadableCsv("This is a spreadsheet workbook, not a CSV: save it as CSV first.")
        if head.startswith(_UTF16_BOMS):
            self.encoding = "utf-16"
        elif head.startswith(codecs.BOM_UTF8):
            self.encoding = "utf-8-sig"
        else:
            self.encoding = "utf-8"
        return codecs.getincrementaldecoder(self.encoding)()

    def _switch_to_cp1252(self, data: bytes, start: int, final: bool) -> str:
        prefix = bytes(data[:start]).decode("utf-8")
        self.encoding = "cp1252"
        # cp1252 leaves five bytes undefined; a replacement character beats refusing the file.
        self._decoder = codecs.getincrementaldecoder("cp1252")(errors="replace")
        return prefix + self._decoder.decode(bytes(data[start:]), final)


class RecordSplitter:
    """Cuts decoded text into whole CSV records, each with the line number it starts on."""

    def __init__(self, max_record_chars: int = MAX_RECORD_CHARS) -> None:
        self._max = max_record_chars
        self._newline: str | None = None
        self._tail = ""
        self._pending: list[str] = []
        self._pending_chars = 0
        self._quotes = 0
        self._next_line = 1

    def feed(self, text: str) -> list[Piece]:
        self._tail += text
        if self._newline is None:
            self._newline = _detect_newline(self._tail)
        if self._newline is None:
            self._check_length(len(self._tail))
            return []
        newline = self._newline
        *lines, self._tail = self._tail.split(newline)
        self._check_length(len(self._tail))
        if not self._pending and not any([line.count('"') & 1 for line in lines]):
            # The usual chunk: every line a whole record. Numbered in one go, not line by line.
            first = self._next_line
            self._next_line += len(lines)
            texts = [line + newline for line in lines]
            return list(zip(range(first, self._next_line), texts, strict=True))
        out: list[Piece] = []
        for line in lines:
            self._add_line(line + newline, out)
        return out

    def close(self) -> list[Piece]:
        out: list[Piece] = []
        if self._tail:
            self._add_line(self._tail, out)
            self._tail = ""
        if self._pending:  # a quote left open at the end: let the lenient parser take it
            self._emit(out)
        return out

    def _add_line(self, line: str, out: list[Piece]) -> None:
        self._pending.append(line)
        self._pending_chars += len(line)
        self._quotes += line.count('"')
        if self._quotes % 2 == 0:
            self._emit(out)
        elif self._pending_chars > self._max:
            raise UnreadableCsv(
                f"Line {self._next_line}: a quote mark opens a field that never closes. "
                'Remove the stray " or put the whole field in quotes.'
            )

    def _emit(self, out: list[Piece]) -> None:
        out.append((self._next_line, "".join(self._pending)))
        self._next_line += len(self._pending)
        self._pending, self._pending_chars, self._quotes = [], 0, 0

    def _check_length(self, chars: int) -> None:
        if chars > self._max:
            raise UnreadableCsv(
                f"Line {self._next_line + len(self._pending)} is longer than {self._max:,} "
                "characters: is this really a CSV file?"
            )


def _detect_newline(text: str) -> str | None:
    """``\\n`` (also covers ``\\r\\n``), or ``\\r`` alone for old Mac files; None until known."""
    if "\n" in text:
        return "\n"
    cr = text.find("\r")
    if cr != -1 and cr + 1 < len(text):
        return "\r"
    return None


def sniff_delimiter(header: str) -> str:
    """The candidate seen most often outside quotes in the header line (``,`` if none is)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=counts.__getitem__)
    return best if counts[best] else ","


class CsvReader:
    """Reads records from a stream of bytes; ``encoding`` and ``delimiter`` are known after the
    first record (the header) has been yielded."""

    def __init__(
        self,
        chunks: AsyncGenerator[bytes, None],
        *,
        max_bytes: int,
        max_record_chars: int = MAX_RECORD_CHARS,
    ) -> None:
        self._chunks = chunks
        self._max_bytes = max_bytes
        self._decoder = TextDecoder()
        self._splitter = RecordSplitter(max_record_chars)
        self._header: str | None = None
        self.delimiter = ","

    @property
    def encoding(self) -> str:
        return self._decoder.encoding

    @property
    def encoding_note(self) -> str | None:
        return self._decoder.note

    async def records(self) -> AsyncGenerator[Record, None]:
        """Every non-blank record, header first."""
        async with aclosing(self.batches()) as batches:
            async for batch in batches:
                for record in batch:
                    yield record

    async def batches(self) -> AsyncGenerator[list[Record], None]:
        """The same records, a chunk's worth at a time (never an empty list): one step of an
        async generator per batch instead of per row."""
        async with aclosing(self.piece_batches()) as batches:
            async for pieces in batches:
                yield self.parse(pieces)

    async def piece_batches(self) -> AsyncGenerator[list[Piece], None]:
        """The records as their text, not yet cut into cells (``parse``), in batches of at most
        ``BATCH_RECORDS``, never empty: cutting them can be left to other processes."""
        size = 0
        async with aclosing(self._chunks) as chunks:  # stop a download we leave early
            async for chunk in chunks:
                size += len(chunk)
                if size > self._max_bytes:
                    raise FileTooLarge(too_large_message(self._max_bytes))
                for batch in self._batches_of(self._splitter.feed(self._decode(chunk))):
                    yield batch
        last = self._splitter.feed(self._decode(b"", final=True)) + self._splitter.close()
        for batch in self._batches_of(last):
            yield batch

    def parse(self, pieces: list[Piece]) -> list[Record]:
        """A batch's records; the first batch's first record, the header, sets ``delimiter``."""
        if self._header is None:
            self._header = pieces[0][1]
            self.delimiter = sniff_delimiter(self._header)
        return parse_records(pieces, self.delimiter)

    def _decode(self, chunk: bytes, final: bool = False) -> str:
        text = self._decoder.decode(chunk, final)
        if "\x00" in text:
            raise UnreadableCsv("The file contains binary data: upload a CSV text file.")
        return text

    def _batches_of(self, pieces: list[Piece]) -> Iterator[list[Piece]]:
        pieces = [piece for piece in pieces if not piece[1].isspace()]  # none is ""
        for start in range(0, len(pieces), BATCH_RECORDS):
            yield pieces[start : start + BATCH_RECORDS]


def parse_records(pieces: list[Piece], delimiter: str) -> list[Record]:
    """One record per piece, whichever process reads them: the same pieces always give the
    same records."""
    records = _cells(pieces, [text for _, text in pieces], delimiter)
    if len(records) != len(pieces):
        # A quote opened mid-field (``x"y,"z``) let one record run into the next: read each
        # record on its own so none takes another's cells or line number.
        records = [_cells([piece], [piece[1]], delimiter)[0] for piece in pieces]
    return records


def _cells(pieces: list[Piece], texts: list[str], delimiter: str) -> list[Record]:
    rows = csv.reader(texts, delimiter=delimiter)
    try:
        # zip stops at the shorter: fewer rows than pieces is parse_records' to handle.
        return [Record(line, tuple(cells)) for (line, _), cells in zip(pieces, rows)]  # noqa: B905
    except csv.Error as exc:
        line = pieces[min(rows.line_num, len(pieces)) - 1][0]
        raise UnreadableCsv(f"Line {line} cannot be read as CSV ({exc}).") from exc


class Batch(Sequence[Record]):
    """A batch's records, cut into cells only when first asked for: a batch checked in a worker
    process is cut there, and here only if a duplicate needs a row's cells."""

    __slots__ = ("_records", "delimiter", "pieces")

    def __init__(
        self, pieces: list[Piece], delimiter: str, records: list[Record] | None = None
    ) -> None:
        self.pieces = pieces
        self.delimiter = delimiter
        self._records = records

    @property
    def is_cut(self) -> bool:
        return self._records is not None

    @property
    def records(self) -> list[Record]:
        if self._records is None:
            self._records = parse_records(self.pieces, self.delimiter)
        return self._records

    def __len__(self) -> int:
        return len(self.pieces)

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...
    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, int) and self._records is None:
            # Cut alone: here a batch a worker checked is looked at for a row or two at most
            # (a duplicate, a listed number), and cutting the whole batch costs every row.
            return parse_records([self.pieces[index]], self.delimiter)[0]
        return self.records[index]


def too_large_message(max_bytes: int) -> str:
    return (
        f"The file is larger than {max_bytes / 1_000_000:,.1f} MB, the most one upload takes. "
        "Split it into smaller files, one campaign each."
    )
