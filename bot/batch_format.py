"""Streaming parse and validation of batch files (JSONL or CSV).

One module serves both the `python -m bot` import and chat uploads, so a coordinator gets the
same verdict on the same file whichever way it arrives. It knows nothing of Telegram or SQL.

Entry points, all streaming:

* `scan_batch_file` reads the whole file and collects every problem (the first `max_errors` of
  them, but counts all), so a bad file is refused whole with line numbers and reasons, and
  nothing of it is imported;
* `iter_batch_items` yields the items of a file and raises `BatchFormatError` on the first
  problem, so the caller's transaction rolls back;
* `scan_records` is the pass the importer uses: like `scan_batch_file` it reads everything and
  fills a `BatchScan`, but it leaves duplicate ids to the caller (the database's unique index
  finds them as the rows go in, so no map of ids is kept in memory) and yields every record's id,
  refused records included, so that a duplicate of a refused line is still reported.

Memory stays flat for files of a million lines: lines are read in binary with a bounded
`readline` (a 5 MB line is skipped, not loaded) and decoded one at a time (so a NUL byte or a bad
UTF-8 sequence is reported with its line number). `scan_batch_file` and `iter_batch_items` keep
the ids seen so far (plus one bit per line for lines whose id was generated); `scan_records`
keeps nothing per line.

Speed: a JSONL line is first decoded by msgspec straight into typed structs, which checks types,
lengths and roles in C; the few checks left are done on the result (see `_Validator.fast`).
Anything that path does not accept exactly, it hands to the plain `json` decoder and the checks
below it, which find the reason. So the fast path decides only what the careful path would
decide the same way, and every reason comes from one place.

Reasons are catalog keys with parameters (`bot.upload_problems`), worded in the reader's
language by whoever shows them, without the "line N:" prefix (`format_problem` adds it in
English); they never echo more than about 40 characters of the file's content. They are built
only for bad lines: a valid line costs nothing here.

Languages: `metadata.lang`, when given, must be an ISO 639-1 code (any case, a region suffix
such as `en-US` dropped); the item carries the code in `ParsedItem.lang`. Valid codes are the
two-letter codes CLDR names (Babel's data), which are ISO 639-1's.
"""

from __future__ import annotations

import bisect
import csv
import json
import math
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

import msgspec
from babel import Locale

from bot.upload_problems import Names, Phrase, Problem, phrase
from bot.upload_problems import plain as plain_problem

MAX_TEXT_CHARS = 32_000  # prompt, response, each message content
MAX_ID_CHARS = 128
MAX_METADATA_BYTES = 16_384  # metadata re-serialised as compact UTF-8 JSON
MAX_TURNS = 100
MAX_LINE_BYTES = 1_048_576  # one JSONL line / one CSV record (which may span several lines)

ALLOWED_KEYS: tuple[str, ...] = ("id", "prompt", "response", "messages", "metadata", "gold")
ROLES: tuple[str, ...] = ("system", "user", "assistant")
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson", ".jsonlines", ".json"})
CSV_SUFFIXES = frozenset({".csv"})

HEAD_BYTES = 8192  # enough to recognise binary, UTF-16 and ZIP files before parsing
_BOM = b"\xef\xbb\xbf"
_CLIP_CHARS = 40
_JSON_CELLS = ("messages", "metadata", "gold")
_GENERATED_ID = re.compile(r"line-([1-9][0-9]*)")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")

Format = Literal["jsonl", "csv"]


@dataclass(slots=True)  # not frozen: a frozen dataclass takes 5x longer to build, per item
class ParsedItem:
    """One valid item, ready to insert. Texts are kept exactly as given (not stripped)."""

    line: int  # 1-based line number where the record starts
    external_id: str  # the `id`, or f"line-{line}" when absent
    prompt: str  # the user turn under review (chat form: the user turn before the last answer)
    response: str  # the AI answer under review
    context: tuple[dict[str, str], ...]  # earlier chat turns before `prompt`; () for plain form
    chat_form: bool  # came as `messages` (exports keep chat-form prompts chat-form)
    metadata: dict | None
    gold: dict[str, tuple[int, int]] | None  # only criteria of the rubric; None if none remain
    # The compact JSON made while checking the size, stored as is (derived: not compared).
    metadata_json: str | None = field(default=None, compare=False)
    # The record had no "id", so `external_id` was made from the line number (derived).
    generated_id: bool = field(default=False, compare=False)
    lang: str | None = None  # ISO 639-1 code from metadata "lang", lowercase, no region


@dataclass(frozen=True, slots=True)
class IdClaim:
    """The id of a refused record: it still takes part in the duplicate check, so a later line
    with the same id is reported too (`scan_records` yields these beside the items)."""

    line: int
    external_id: str
    generated_id: bool


@dataclass
class BatchScan:
    """What a full pass found: counts for the coordinator's summary, and the problems."""

    items: int = 0
    errors: list[Problem] = field(default_factory=list)  # the first `max_errors`, by line
    error_count: int = 0  # all of them
    warnings: list[Problem] = field(default_factory=list)  # the first `max_errors`
    warning_count: int = 0
    longest_chars: int = 0  # longest prompt, response or message content
    gold_count: int = 0  # items that keep a gold expectation for at least one rubric criterion
    languages: dict[str, int] = field(default_factory=dict)  # ISO 639-1 code -> items
    chat_form_count: int = 0
    file_format: str = ""  # "jsonl" or "csv", as detected
    max_errors: int = 20

    @property
    def ok(self) -> bool:
        """True when the file may be imported: no errors and at least one item."""
        return self.error_count == 0 and self.items > 0

    def add_error(self, problem: Problem) -> None:
        """Count a problem; keep it if it is among the first `max_errors` by line.

        Problems may arrive out of order (duplicate ids are found as rows are stored, a chunk
        after the line was read), so the list is kept sorted and cut, not just appended to.
        """
        self.error_count += 1
        errors = self.errors
        if len(errors) < self.max_errors or (errors and problem.line < errors[-1].line):
            bisect.insort_right(errors, problem, key=_line_of)
            del errors[self.max_errors :]

    def add_duplicate(
        self, claim: ParsedItem | IdClaim, first_line: int | None, first_generated: bool
    ) -> None:
        """Refuse `claim` as a duplicate of the id first used on `first_line` (None: not
        found again, as when the file changed meanwhile)."""
        if isinstance(claim, ParsedItem):
            self.items -= 1  # counted when read; it is not an item after all
        reason = duplicate_reason(
            claim.external_id, claim.generated_id, first_line, first_generated
        )
        self.add_error(Problem(claim.line, reason.key, reason.params))


def _line_of(problem: Problem) -> int:
    return problem.line


class BatchFormatError(ValueError):
    """The batch file is refused; `scan` holds the problem(s) found so far."""

    def __init__(self, scan: BatchScan) -> None:
        self.scan = scan
        message = format_problem(scan.errors[0]) if scan.errors else "the batch file is not valid"
        super().__init__(message)


def format_problem(problem: Problem) -> str:
    """English one-liner for logs and the CLI: 'line 7: reason', or just the reason for line 0."""
    return plain_problem(problem, "en")


def duplicate_reason(
    external_id: str, generated: bool, first_line: int | None, first_generated: bool
) -> Phrase:
    """Why a record whose id was used before is refused (generated ids: `line-N`)."""
    shown = _quote(external_id)
    if first_line is None:
        return phrase("duplicate_id", id=shown)
    if generated:
        return phrase("duplicate_generated_id", id=shown, first=first_line)
    if first_generated:
        return phrase("id_is_generated_id", id=shown, first=first_line)
    return phrase("duplicate_id_first", id=shown, first=first_line)


# --------------------------------------------------------------------------------------------
# Public entry points


def detect_format(path: Path, head: bytes) -> Format:
    """Pick the parser: by extension first, else by the first non-blank character of `head`.

    `.json` is read as JSONL because many tools write one object per line under that name; a
    `.json` file holding one JSON array is refused by the parser with a clear reason. Only `.csv`
    means CSV by name; other names (`.tsv`, `.txt`, an upload without a name) are sniffed, and the
    CSV parser then detects a `;` or tab delimiter from the header.
    """
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in CSV_SUFFIXES:
        return "csv"
    start = head.removeprefix(_BOM).lstrip()
    return "jsonl" if start[:1] in (b"{", b"[") else "csv"


def scan_batch_file(
    path: Path,
    *,
    criteria: Collection[str],
    scale: tuple[int, int] = (1, 5),
    max_errors: int = 20,
) -> BatchScan:
    """Read the whole file once and report everything wrong with it (see `BatchScan.ok`)."""
    scan = BatchScan()
    for _ in scan_items(path, scan, criteria=criteria, scale=scale, max_errors=max_errors):
        pass
    return scan


def scan_items(
    path: Path,
    scan: BatchScan,
    *,
    criteria: Collection[str],
    scale: tuple[int, int] = (1, 5),
    max_errors: int = 20,
) -> Iterator[ParsedItem]:
    """One pass that fills `scan` as `scan_batch_file` does, yielding items until the first error.

    After an error it yields nothing more but reads on, so `scan` ends up listing every
    problem: an importer can insert as it reads and roll back if `scan.ok` is false at the end.
    Duplicate ids are found with the ids seen so far kept in memory.
    """
    seen = _SeenIds()
    records = scan_records(path, scan, criteria=criteria, scale=scale, max_errors=max_errors)
    for record in records:
        first = seen.claim(record)
        if first is not None:
            if isinstance(record, ParsedItem):
                scan.add_duplicate(record, *first)
        elif isinstance(record, ParsedItem) and not scan.error_count:
            yield record


def scan_records(
    path: Path,
    scan: BatchScan,
    *,
    criteria: Collection[str],
    scale: tuple[int, int] = (1, 5),
    max_errors: int = 20,
) -> Iterator[ParsedItem | IdClaim]:
    """Read the whole file, filling `scan` with every problem except duplicate ids.

    Yields every valid item (also after an error) and an `IdClaim` for each refused record
    whose id could be read. The caller finds duplicate ids among them, in order, and reports
    each with `scan.add_duplicate` (`first_uses` finds the lines they were first used on).
    """
    _check_args(criteria, scale)
    scan.max_errors = max_errors
    file_format, whole_file = _prepare(path)
    scan.file_format = file_format
    if whole_file is not None:
        scan.add_error(whole_file)
        return
    for event in _events(path, file_format, criteria, scale):
        if type(event) is ParsedItem:
            _count_item(scan, event)
            yield event
        elif event.error:
            scan.add_error(event.problem)
            if event.claim is not None:
                yield event.claim
        else:
            scan.warning_count += 1
            if len(scan.warnings) < max_errors:
                scan.warnings.append(event.problem)
    if scan.items == 0 and scan.error_count == 0:
        scan.add_error(Problem(0, "no_items"))


def first_uses(
    path: Path,
    external_ids: Collection[str],
    *,
    criteria: Collection[str],
    scale: tuple[int, int] = (1, 5),
    until_line: int | None = None,
) -> dict[str, tuple[int, bool]]:
    """For each of `external_ids`: the line it is first used on and whether it was generated.

    The importer's second look at a refused file, once the database found duplicates; it
    reads no further than `until_line` (the last duplicate: every first use is before it).
    """
    wanted = set(external_ids)
    found: dict[str, tuple[int, bool]] = {}
    for record in scan_records(path, BatchScan(), criteria=criteria, scale=scale):
        if until_line is not None and record.line > until_line:
            break
        if record.external_id in wanted and record.external_id not in found:
            found[record.external_id] = (record.line, record.generated_id)
            if len(found) == len(wanted):
                break
    return found


def iter_batch_items(
    path: Path,
    *,
    criteria: Collection[str],
    scale: tuple[int, int] = (1, 5),
) -> Iterator[ParsedItem]:
    """Yield the items of a file that `scan_batch_file` accepted, validating them again.

    Raises `BatchFormatError` on the first error (warnings are ignored), including "file has no
    items" at the end, so a caller that inserts as it iterates must do so in one transaction.
    """
    _check_args(criteria, scale)
    file_format, whole_file = _prepare(path)
    if whole_file is not None:
        raise BatchFormatError(_failed_scan(whole_file, 0, file_format))
    seen = _SeenIds()
    count = 0
    for event in _events(path, file_format, criteria, scale):
        if type(event) is ParsedItem:
            first = seen.claim(event)
            if first is not None:
                reason = duplicate_reason(event.external_id, event.generated_id, *first)
                problem = Problem(event.line, reason.key, reason.params)
                raise BatchFormatError(_failed_scan(problem, count, file_format))
            count += 1
            yield event
        elif event.error:
            raise BatchFormatError(_failed_scan(event.problem, count, file_format))
    if count == 0:
        raise BatchFormatError(_failed_scan(Problem(0, "no_items"), 0, file_format))


# --------------------------------------------------------------------------------------------
# Bookkeeping


@dataclass(frozen=True, slots=True)
class _Issue:
    problem: Problem
    error: bool  # False: a warning
    claim: IdClaim | None = None  # the refused record's id, if it could be read


_Event = ParsedItem | _Issue


class _Bad(Exception):
    """The first problem found in a record: a catalog key (`bot.upload_problems`) and its
    parameters."""

    def __init__(self, key: str, /, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = tuple(params.items())

    def at(self, line: int) -> Problem:
        return Problem(line, self.key, self.params)


class _TooLarge(Exception):
    """Raised by the CSV line feed when a line or a record exceeds MAX_LINE_BYTES."""


class _SeenIds:
    """The ids used so far: explicit ones by first line, generated ones as one bit per line."""

    def __init__(self) -> None:
        self.explicit: dict[str, int] = {}
        self.generated = bytearray()

    def claim(self, record: ParsedItem | IdClaim) -> tuple[int, bool] | None:
        """Register the record's id; if it was used before, (first line, generated there)."""
        external_id, line = record.external_id, record.line
        first = self.explicit.get(external_id)
        if first is not None:
            return first, False
        if record.generated_id:
            self._mark_generated(line)
            return None
        match = _GENERATED_ID.fullmatch(external_id)
        if match and self._is_generated(int(match[1])):
            return int(match[1]), True
        self.explicit[external_id] = line
        return None

    def _mark_generated(self, line: int) -> None:
        index = line >> 3
        if index >= len(self.generated):
            self.generated.extend(bytes(index - len(self.generated) + 4096))
        self.generated[index] |= 1 << (line & 7)

    def _is_generated(self, line: int) -> bool:
        index = line >> 3
        return index < len(self.generated) and bool(self.generated[index] & (1 << (line & 7)))


def _check_args(criteria: Collection[str], scale: tuple[int, int]) -> None:
    """Programming errors, raised eagerly rather than reported as file problems."""
    if isinstance(criteria, str):  # a lone name would become a set of letters
        raise TypeError("criteria must be a collection of names, not a string")
    low, high = scale
    if not (isinstance(low, int) and isinstance(high, int) and low <= high):
        raise ValueError(f"scale must be two integers low <= high, got {scale!r}")


def _failed_scan(problem: Problem, items: int, file_format: str) -> BatchScan:
    return BatchScan(items=items, errors=[problem], error_count=1, file_format=file_format)


def _count_item(scan: BatchScan, item: ParsedItem) -> None:
    scan.items += 1
    longest = max(len(item.prompt), len(item.response))
    if item.context:
        longest = max(longest, *(len(turn["content"]) for turn in item.context))
        scan.chat_form_count += 1
    elif item.chat_form:
        scan.chat_form_count += 1
    if longest > scan.longest_chars:
        scan.longest_chars = longest
    if item.gold:
        scan.gold_count += 1
    language = item.lang
    if language is not None:  # one of ISO 639-1's 184 codes: the summary stays small
        languages = scan.languages
        languages[language] = languages.get(language, 0) + 1


def _quote(value: object) -> str:
    """A value echoed in a reason: clipped, quoted, control characters escaped."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > _CLIP_CHARS:
        text = text[: _CLIP_CHARS - 1] + "…"
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> "?"
    return json.dumps(text, ensure_ascii=False)


def _number(value: int) -> str:
    """An integer echoed in a reason, clipped like any other value (JSON allows 4300 digits)."""
    text = str(value)
    return text if len(text) <= _CLIP_CHARS else text[: _CLIP_CHARS - 1] + "…"


def _names(names: list[str]) -> Names:
    return Names(tuple(_quote(name) for name in names[:5]), len(names))


def _json_type(value: object) -> Phrase:
    """The name of a JSON value's type ("a list"), as a phrase of the catalog."""
    if value is None:
        kind = "null"
    elif isinstance(value, bool):
        kind = "bool"
    elif isinstance(value, int | float):
        kind = "number"
    elif isinstance(value, str):
        kind = "string"
    elif isinstance(value, list):
        kind = "list"
    else:
        kind = "object"
    return Phrase(f"type_{kind}")


# --------------------------------------------------------------------------------------------
# Reading bytes

# Control bytes other than tab, LF, FF and CR: a text file with a NUL byte has a stray few,
# while images, databases and other binaries are full of them.
_BINARY_BYTES = bytes(set(range(32)) - {9, 10, 12, 13})
_BINARY_MIN = 16  # below this many in the head, each bad line is reported with its number
_BINARY_SHARE = 0.01


def _binary_problem(head: bytes) -> Problem | None:
    """Recognise files that are not UTF-8 text at all, so they get one reason, not thousands.

    A text file with a stray NUL byte or a bad UTF-8 sequence is not one of them: its lines are
    read, and each bad line is refused with its number like any other.
    """
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return Problem(0, "utf32")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Problem(0, "utf16")
    if head.startswith(b"PK\x03\x04"):
        return Problem(0, "zip")
    if b"\x00" in head:
        sample = head[:2048]
        half = len(sample) // 2
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if half >= 8 and max(even, odd) > 0.4 * half and min(even, odd) < 0.05 * half:
            return Problem(0, "utf16")
        controls = len(head) - len(head.translate(None, _BINARY_BYTES))
        if controls >= _BINARY_MIN and controls > _BINARY_SHARE * len(head):
            return Problem(0, "not_text")
    return None


def _prepare(path: Path) -> tuple[Format, Problem | None]:
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    file_format = detect_format(path, head)
    return file_format, _binary_problem(head)


def _raw_lines(f: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes with terminator), or None for a line longer than MAX_LINE_BYTES.

    The bounded readline keeps memory flat: an over-long line is skipped in chunks, never held.
    """
    limit = MAX_LINE_BYTES + 2  # the content plus CR LF
    readline = f.readline
    lineno = 0
    while raw := readline(limit):
        lineno += 1
        if len(raw) < MAX_LINE_BYTES:
            yield lineno, raw
        elif len(raw) == limit and not raw.endswith(b"\n"):
            while chunk := readline(65_536):
                if chunk.endswith(b"\n"):
                    break
            yield lineno, None
        elif len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
            yield lineno, None
        else:
            yield lineno, raw


def _decode(raw: bytes) -> str:
    if b"\x00" in raw:
        raise _Bad("nul_byte")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Bad("not_utf8") from None


def _too_long_line(line: int) -> Problem:
    return Problem(line, "line_too_long", (("limit", MAX_LINE_BYTES),))


def _events(
    path: Path, file_format: Format, criteria: Collection[str], scale: tuple[int, int]
) -> Iterator[_Event]:
    validator = _Validator(criteria, scale)
    with path.open("rb") as f:
        if file_format == "jsonl":
            yield from _jsonl_events(f, validator)
        else:
            yield from _csv_events(f, validator)


# --------------------------------------------------------------------------------------------
# JSON


class _JsonValueError(ValueError):
    """Raised by the decoder hooks; `bad` is the reason."""

    def __init__(self, bad: _Bad) -> None:
        super().__init__(bad.key)
        self.bad = bad


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _JsonValueError(_Bad("json_duplicate_key", key=_quote(key)))
            seen.add(key)
    return obj


def _parse_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 would come back as Infinity, which is not JSON
        raise _JsonValueError(_Bad("json_out_of_range"))
    return number


def _parse_constant(name: str) -> Any:
    raise _JsonValueError(_Bad("json_constant", name=name))


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object_pairs, parse_float=_parse_float, parse_constant=_parse_constant
)


def _loads(text: str) -> Any:
    """Strict JSON: no NaN/Infinity, no duplicate keys; raises _Bad with a short reason."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            raise _Bad("json_extra", column=exc.colno) from None
        if exc.pos >= len(text.rstrip()):
            raise _Bad("json_incomplete") from None
        raise _Bad(_json_error_key(exc.msg), column=exc.colno) from None
    except _JsonValueError as exc:
        raise exc.bad from None
    except ValueError:  # e.g. an integer with more than 4300 digits
        raise _Bad("json_number_too_long") from None
    except RecursionError:
        raise _Bad("json_too_deep") from None


# What the json module says (in English), by the start of its message: the reason's key.
_JSON_ERRORS = (
    ("Expecting value", "json_expecting_value"),
    ("Expecting ',' delimiter", "json_expecting_comma"),
    ("Expecting ':' delimiter", "json_expecting_colon"),
    ("Expecting property name", "json_expecting_name"),
    ("Unterminated string", "json_unterminated_string"),
    ("Invalid control character", "json_control_character"),
    ("Invalid \\", "json_bad_escape"),
)


def _json_error_key(message: str) -> str:
    for start, key in _JSON_ERRORS:
        if message.startswith(start):
            return key
    return "json_invalid"  # a message of a later Python: the column still says where


def _jsonl_events(f: BinaryIO, validator: _Validator) -> Iterator[_Event]:
    fast = validator.fast
    seen_content = False
    for lineno, raw in _raw_lines(f):
        if raw is None:
            yield _Issue(_too_long_line(lineno), True)
            continue
        if seen_content:
            accepted = fast(raw, lineno)
            if accepted is not None:
                item, warnings = accepted
                for warning in warnings:
                    yield _Issue(Problem(lineno, warning.key, warning.params), False)
                yield item
                continue
        try:
            # A BOM is accepted at the start of any line: files joined with `cat` carry several.
            text = _decode(raw).removeprefix("\ufeff")
        except _Bad as exc:
            yield _Issue(exc.at(lineno), True)
            continue
        if not text.strip():
            continue
        first_content, seen_content = not seen_content, True
        if first_content and text.lstrip().startswith("["):
            yield _Issue(Problem(0, "json_array"), True)
            return
        try:
            record = _loads(text)
            if not isinstance(record, dict):
                raise _Bad("not_object", found=_json_type(record))
        except _Bad as exc:
            problem = exc.at(lineno)
            if first_content and text.strip() == "{":
                problem = Problem(lineno, "json_whole_object")
            yield _Issue(problem, True)
            continue
        yield from validator.check(record, lineno)


# --------------------------------------------------------------------------------------------
# CSV


class _CsvFeed:
    """Feeds decoded lines to `csv.reader`, keeping what the reader cannot tell us.

    That is: the line a record starts on (csv.reader only knows where it ended), the byte size of
    the record so far (so an unclosed quote cannot swallow the rest of the file into memory), and
    the first undecodable line (fed on with replacement characters so the CSV structure holds).
    """

    def __init__(self, f: BinaryIO) -> None:
        self._lines = _raw_lines(f)
        self._pushed: tuple[int, bytes | None] | None = None
        self.lineno = 0
        self.start = 1
        self.record_bytes = 0
        self.problem: Problem | None = None

    def peek_text(self) -> str:
        """The first line that is not blank (decoded loosely), to sniff the delimiter."""
        skipped: list[tuple[int, bytes | None]] = []
        text = ""
        for lineno, raw in self._lines:
            if raw is not None and raw.strip():
                skipped.append((lineno, raw))
                text = raw.removeprefix(_BOM).decode("utf-8", "replace")
                break
            # Blank lines are kept as bare terminators, so this lookahead stays small.
            skipped.append((lineno, None if raw is None else b"\n"))
            if len(skipped) > 1000:
                break
        self._lines = _chain(skipped, self._lines)
        return text

    def start_record(self) -> None:
        self.start = self.lineno + 1
        self.record_bytes = 0
        self.problem = None

    def __iter__(self) -> _CsvFeed:
        return self

    def __next__(self) -> str:
        lineno, raw = next(self._lines)
        self.lineno = lineno
        if raw is None:
            raise _TooLarge
        self.record_bytes += len(raw)
        if self.record_bytes > MAX_LINE_BYTES:
            raise _TooLarge
        if lineno == 1:
            raw = raw.removeprefix(_BOM)
        try:
            return _decode(raw)
        except _Bad as exc:
            if self.problem is None:
                self.problem = exc.at(lineno)
            return raw.decode("utf-8", "replace").replace("\x00", "\ufffd")


def _chain(
    first: list[tuple[int, bytes | None]], rest: Iterator[tuple[int, bytes | None]]
) -> Iterator[tuple[int, bytes | None]]:
    yield from first
    yield from rest


def _sniff_delimiter(header: str) -> str:
    """Comma, unless `;` or tab splits the header into more known column names.

    Spreadsheets in locales with a decimal comma (Indonesian Excel among them) save CSV with `;`.
    """
    best, best_hits = ",", 0
    for delimiter in (",", ";", "\t"):
        cells = (cell.strip().strip('"').strip().lower() for cell in header.split(delimiter))
        hits = sum(cell in ALLOWED_KEYS for cell in cells)
        if hits > best_hits:
            best, best_hits = delimiter, hits
    return best


def _csv_problem(exc: csv.Error, start: int, now: int) -> Problem:
    message = str(exc)
    near: Phrase | str = phrase("near_line", line=now) if now != start else ""
    if "expected after" in message:
        return Problem(start, "csv_bad_quoting", (("near", near),))
    if "unexpected end of data" in message:
        return Problem(start, "csv_unclosed_quote")
    if "new-line character" in message:
        return Problem(start, "csv_stray_cr", (("near", near),))
    if "field larger" in message:
        return Problem(start, "csv_record_too_large", (("limit", MAX_LINE_BYTES),))
    return Problem(start, "csv_malformed", (("near", near),))


def _csv_header(row: list[str]) -> list[str]:
    names = [cell.strip().lower() for cell in row]
    if names[0].startswith("{"):
        raise _Bad("csv_looks_like_jsonl")
    unknown = [name for name in names if name and name not in ALLOWED_KEYS]
    if len(unknown) == len([name for name in names if name]):
        raise _Bad("csv_no_header")
    if unknown:
        raise _Bad("csv_unknown_columns", names=_names(unknown), count=len(unknown))
    named = [name for name in names if name]
    for name in named:
        if named.count(name) > 1:
            raise _Bad("csv_column_twice", name=_quote(name))
    if "messages" not in names:
        missing = [name for name in ("prompt", "response") if name not in names]
        if len(missing) == 1:
            raise _Bad("csv_missing_column", name=_quote(missing[0]))
        if missing:
            raise _Bad("csv_missing_columns")
    return names


def _csv_record(header: list[str], row: list[str]) -> dict[str, Any]:
    """The JSON-like record of a CSV row. An empty cell means the key is absent."""
    if len(row) != len(header):
        raise _Bad("csv_cell_count", cells=len(row), columns=len(header))
    record: dict[str, Any] = {}
    for index, (name, cell) in enumerate(zip(header, row, strict=True)):
        if not name:
            if cell.strip():
                raise _Bad("csv_unnamed_cell", cell=index + 1)
        elif name in _JSON_CELLS:
            if cell.strip():
                try:
                    value = _loads(cell)
                except _Bad as exc:
                    reason = Phrase(exc.key, exc.params)
                    raise _Bad("csv_json_cell", name=_quote(name), reason=reason) from None
                if value is not None:
                    record[name] = value
        elif cell:
            record[name] = cell
    if "messages" not in record:
        # Without messages, an empty prompt/response cell is an empty text, not an absent key.
        for name in ("prompt", "response"):
            if name in header:
                record.setdefault(name, "")
    return record


def _csv_events(f: BinaryIO, validator: _Validator) -> Iterator[_Event]:
    feed = _CsvFeed(f)
    # Never smaller than our own bound, which the feed enforces per record (csv's limit is global).
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))
    reader = csv.reader(feed, delimiter=_sniff_delimiter(feed.peek_text()), strict=True)
    header: list[str] | None = None
    while True:
        feed.start_record()
        try:
            row = next(reader)
        except StopIteration:
            return
        except _TooLarge:
            if feed.lineno == feed.start:
                yield _Issue(_too_long_line(feed.start), True)
                continue
            # A multi-line record this large is almost surely an unclosed quote; whatever follows
            # would be parsed out of step, so later "errors" would be noise.
            limit = (("limit", MAX_LINE_BYTES),)
            yield _Issue(Problem(feed.start, "csv_record_too_large_stopped", limit), True)
            return
        except csv.Error as exc:
            # A bad byte read as U+FFFD can break the quoting around it: the byte is the cause.
            problem = feed.problem or _csv_problem(exc, feed.start, feed.lineno)
            yield _Issue(problem, True)
            continue
        if feed.problem is not None:
            yield _Issue(feed.problem, True)
            if header is None:
                return
            continue
        if not any(cell.strip() for cell in row):
            continue  # blank line, or an empty spreadsheet row like ",,,"
        if header is None:
            try:
                header = _csv_header(row)
            except _Bad as exc:
                yield _Issue(exc.at(0), True)
                return
            continue
        try:
            record = _csv_record(header, row)
        except _Bad as exc:
            yield _Issue(exc.at(feed.start), True)
            continue
        yield from validator.check(record, feed.start)


# --------------------------------------------------------------------------------------------
# Record validation (shared by both formats)

# The fast path's types: msgspec checks these in C while decoding. Absent and null differ
# (`UNSET` vs None) because the careful path treats them differently for some keys.
_UNSET = msgspec.UNSET
_Unset = msgspec.UnsetType
_FastText = Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)]


class _FastTurn(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["system", "user", "assistant"]
    content: _FastText


class _FastRecord(msgspec.Struct, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(max_length=MAX_ID_CHARS)] | int | _Unset | None = _UNSET
    prompt: _FastText | _Unset = _UNSET
    response: _FastText | _Unset = _UNSET
    messages: (
        Annotated[list[_FastTurn], msgspec.Meta(min_length=2, max_length=MAX_TURNS)] | _Unset
    ) = _UNSET
    metadata: dict[str, Any] | _Unset | None = _UNSET
    gold: dict[str, tuple[int, int]] | _Unset | None = _UNSET


_FAST_DECODE = msgspec.json.Decoder(_FastRecord).decode
_ENCODE = msgspec.json.encode
# The end of a key is a quote, maybe blanks, and a colon. In a string that can only appear after
# a `\"` or at the start of a value, so counting key ends never finds fewer keys than there are.
# Files almost never put blanks before the colon: count `":` (fast), unless a line does.
_KEY_END = b'":'
_SPACED_KEY_END = re.compile(rb'"\s+:')
_FAST_MAX_DEPTH = 100  # deeper metadata goes the careful way, which knows the exact limits
_FAST_MAX_INT = 1 << 64  # larger integer ids too


def _nested_keys(value: dict | list, depth: int) -> int:
    """Keys in all objects inside `value`, or -1 when it nests deeper than the fast path goes."""
    if depth > _FAST_MAX_DEPTH:
        return -1
    keys = 0
    if type(value) is dict:
        keys = len(value)
        value = value.values()  # type: ignore[assignment]
    for inner in value:
        if type(inner) is dict or type(inner) is list:
            inner_keys = _nested_keys(inner, depth + 1)
            if inner_keys < 0:
                return -1
            keys += inner_keys
    return keys


class _Validator:
    """Checks one record at a time; it keeps no state between records."""

    def __init__(self, criteria: Collection[str], scale: tuple[int, int]) -> None:
        self.criteria = frozenset(criteria)
        self.scale = scale

    def fast(self, raw: bytes, line: int) -> tuple[ParsedItem, list[Phrase]] | None:
        """The item of a JSONL line and its warnings, or None: "ask the careful path".

        Returns an item only where `check` would return the same item; anything unusual (an
        error, a null where a text belongs, an id that needs a closer look) returns None.
        """
        try:
            record = _FAST_DECODE(raw)
        except (msgspec.DecodeError, RecursionError):
            return None
        # Duplicate keys: msgspec keeps the last one silently, json (with our hook) refuses
        # them. Count the keys decoded and compare with the key ends in the raw line.
        keys = 0
        value = record.id
        if value is _UNSET or value is None:
            keys += value is None
            external_id, generated = f"line-{line}", True
        else:
            keys += 1
            generated = False
            if type(value) is int:
                if not -_FAST_MAX_INT < value < _FAST_MAX_INT:
                    return None
                external_id = str(value)
            elif not value.strip() or (not value.isprintable() and _CONTROL.search(value)):
                return None
            else:
                external_id = value
        messages = record.messages
        if messages is _UNSET:
            prompt, response = record.prompt, record.response
            if prompt is _UNSET or response is _UNSET:
                return None
            if not prompt.strip() or not response.strip() or "\x00" in prompt or "\x00" in response:
                return None
            keys += 2
            context: tuple[dict[str, str], ...] = ()
            chat = False
        else:
            if record.prompt is not _UNSET or record.response is not _UNSET:
                return None
            for turn in messages:
                if not turn.content.strip() or "\x00" in turn.content:
                    return None
            last, before = messages[-1], messages[-2]
            if last.role != "assistant" or before.role != "user":
                return None
            keys += 1 + 2 * len(messages)
            prompt, response = before.content, last.content
            context = tuple([{"role": t.role, "content": t.content} for t in messages[:-2]])
            chat = True
        metadata, metadata_json, lang = record.metadata, None, None
        if metadata is _UNSET:
            metadata = None
        else:
            keys += 1
            if metadata is not None:
                nested = _nested_keys(metadata, 0)
                if nested < 0:
                    return None
                keys += nested
                encoded = _ENCODE(metadata)
                if len(encoded) > MAX_METADATA_BYTES:
                    return None
                metadata_json = encoded.decode()
                lang = metadata.get("lang")
                if lang is not None:
                    if type(lang) is not str:
                        return None
                    lang = _KNOWN_LANGUAGES.get(lang) or _language_code(lang)
                    if lang is None:
                        return None
        gold_value = record.gold
        gold: dict[str, tuple[int, int]] | None = None
        warnings: list[Phrase] = []
        if gold_value is not _UNSET:
            keys += 1
            if gold_value is not None:
                if not gold_value:
                    return None
                keys += len(gold_value)
                low_end, high_end = self.scale
                gold = {}
                for name, (low, high) in gold_value.items():
                    if not name.strip() or low > high or low < low_end or high > high_end:
                        return None
                    if name in self.criteria:
                        gold[name] = (low, high)
                    else:
                        warnings.append(_unknown_criterion(name))
                gold = gold or None
        if raw.count(_KEY_END) != keys or _SPACED_KEY_END.search(raw):
            return None
        item = ParsedItem(
            line,
            external_id,
            prompt,
            response,
            context,
            chat,
            metadata,
            gold,
            metadata_json,
            generated,
            lang,
        )
        return item, warnings

    def check(self, record: dict[str, Any], line: int) -> Iterator[_Event]:
        """Yield the item and its warnings, or one error (the first problem found)."""
        unknown = [key for key in record if key not in ALLOWED_KEYS]
        try:
            if unknown:
                raise _Bad("unknown_keys", names=_names(unknown), count=len(unknown))
            external_id, generated = _record_id(record.get("id"), line)
        except _Bad as exc:
            yield _Issue(exc.at(line), True)
            return
        try:
            item, warnings = self._item(record, line, external_id, generated)
        except _Bad as exc:
            claim = IdClaim(line, external_id, generated)
            yield _Issue(exc.at(line), True, claim)
            return
        for warning in warnings:
            yield _Issue(Problem(line, warning.key, warning.params), False)
        yield item

    def _item(
        self, record: dict[str, Any], line: int, external_id: str, generated: bool
    ) -> tuple[ParsedItem, list[Phrase]]:
        plain = "prompt" in record or "response" in record
        chat = "messages" in record
        if plain and chat:
            raise _Bad("both_forms")
        if chat:
            prompt, response, context = _messages(record["messages"])
        elif plain:
            prompt = _text(record, "prompt")
            response = _text(record, "response")
            context = ()
        else:
            raise _Bad("no_texts")
        metadata, metadata_json = _metadata(record.get("metadata"))
        lang = _language(metadata)
        gold, warnings = self._gold(record.get("gold"))
        item = ParsedItem(
            line=line,
            external_id=external_id,
            prompt=prompt,
            response=response,
            context=context,
            chat_form=chat,
            metadata=metadata,
            gold=gold,
            metadata_json=metadata_json,
            generated_id=generated,
            lang=lang,
        )
        return item, warnings

    def _gold(self, value: object) -> tuple[dict[str, tuple[int, int]] | None, list[Phrase]]:
        if value is None:
            return None, []
        if not isinstance(value, dict):
            raise _Bad("gold_type")
        if not value:
            raise _Bad("gold_empty")
        low_end, high_end = self.scale
        gold: dict[str, tuple[int, int]] = {}
        warnings: list[Phrase] = []
        for name, bounds in value.items():
            if not name.strip():
                raise _Bad("gold_empty_name")
            label = f"gold {_quote(name)}"
            if (
                not isinstance(bounds, list)
                or len(bounds) != 2
                or any(isinstance(b, bool) or not isinstance(b, int) for b in bounds)
            ):
                raise _Bad("gold_bounds", label=label)
            low, high = bounds
            if low > high:
                raise _Bad("gold_low_above_high", label=label, low=_number(low), high=_number(high))
            if low < low_end or high > high_end:
                raise _Bad(
                    "gold_outside_scale",
                    label=label,
                    low=_number(low),
                    high=_number(high),
                    scale_low=low_end,
                    scale_high=high_end,
                )
            if name not in self.criteria:
                warnings.append(_unknown_criterion(name))
                continue
            gold[name] = (low, high)
        return (gold or None), warnings


def _unknown_criterion(name: str) -> Phrase:
    return phrase("unknown_criterion", name=_quote(name))


def _record_id(value: object, line: int) -> tuple[str, bool]:
    """The record's id and whether it was generated (from the line number, when absent)."""
    if value is None:
        return f"line-{line}", True
    if isinstance(value, bool) or not isinstance(value, str | int):
        found = Phrase("type_decimal") if isinstance(value, float) else _json_type(value)
        raise _Bad("id_type", found=found)
    external_id = value if isinstance(value, str) else str(value)
    if not external_id.strip():
        raise _Bad("id_empty")
    if len(external_id) > MAX_ID_CHARS:
        raise _Bad("id_too_long", limit=MAX_ID_CHARS, length=len(external_id))
    if _CONTROL.search(external_id):
        raise _Bad("id_control")
    if _SURROGATE.search(external_id):
        raise _Bad("id_surrogate")
    return external_id, False


def _text(record: dict[str, Any], name: str) -> str:
    if name not in record:
        raise _Bad("missing_key", key=f'"{name}"')
    return _check_text(record[name], f'"{name}"')


def _check_text(value: object, label: str) -> str:
    if not isinstance(value, str):
        raise _Bad("text_type", label=label, found=_json_type(value))
    if not value.strip():
        raise _Bad("text_empty", label=label)
    if len(value) > MAX_TEXT_CHARS:
        raise _Bad("text_too_long", label=label, limit=MAX_TEXT_CHARS, length=len(value))
    if "\x00" in value:
        raise _Bad("text_nul", label=label)
    if _SURROGATE.search(value):
        raise _Bad("text_surrogate", label=label)
    return value


def _messages(value: object) -> tuple[str, str, tuple[dict[str, str], ...]]:
    """Split the chat form: last assistant turn = response, the user turn before it = prompt."""
    if not isinstance(value, list):
        raise _Bad("messages_type")
    if not value:
        raise _Bad("messages_empty")
    if len(value) > MAX_TURNS:
        raise _Bad("messages_too_many", turns=len(value), limit=MAX_TURNS)
    turns: list[dict[str, str]] = []
    for index, turn in enumerate(value):
        where = f"messages[{index}]"
        if not isinstance(turn, dict):
            raise _Bad("turn_type", turn=where)
        extra = [key for key in turn if key not in ("role", "content")]
        if extra:
            raise _Bad("turn_unknown_keys", turn=where, names=_names(extra), count=len(extra))
        if "role" not in turn:
            raise _Bad("turn_no_role", turn=where)
        role = turn["role"]
        if role not in ROLES:
            shown = _quote(role) if isinstance(role, str) else _json_type(role)
            raise _Bad("turn_bad_role", turn=where, found=shown)
        if "content" not in turn:
            raise _Bad("turn_no_content", turn=where)
        content = _check_text(turn["content"], f'{where} "content"')
        turns.append({"role": role, "content": content})
    if turns[-1]["role"] != "assistant":
        raise _Bad("messages_last")
    if len(turns) < 2 or turns[-2]["role"] != "user":
        raise _Bad("messages_user_before")
    return turns[-2]["content"], turns[-1]["content"], tuple(turns[:-2])


def _metadata(value: object) -> tuple[dict | None, str | None]:
    """The metadata and its compact JSON (measured here, stored later: serialised once)."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise _Bad("metadata_type", found=_json_type(value))
    try:
        encoded = _ENCODE(value)
    except UnicodeEncodeError:
        raise _Bad("metadata_surrogate") from None
    except RecursionError:
        raise _Bad("metadata_too_deep") from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise _Bad("metadata_too_large", limit=MAX_METADATA_BYTES, size=len(encoded))
    return value, encoded.decode()


def _language(metadata: dict | None) -> str | None:
    """The item's language: metadata "lang" as an ISO 639-1 code, or None when not given."""
    value = None if metadata is None else metadata.get("lang")
    if value is None:
        return None
    code = _language_code(value) if isinstance(value, str) else None
    if code is None:
        shown = _quote(value) if isinstance(value, str) else _json_type(value)
        raise _Bad("lang_invalid", value=shown)
    return code


# A language tag: two letters, then maybe subtags such as a region ("en-US", "zh_Hant_TW").
_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2})(?:[-_][A-Za-z0-9]{1,8})*")
_KNOWN_LANGUAGES: dict[str, str] = {}  # tags seen valid -> their code: one lookup per item
_MAX_KNOWN_LANGUAGES = 1_000


@cache
def iso_639_1_codes() -> frozenset[str]:
    """The ISO 639-1 codes: the two-letter language codes CLDR names (Babel's data). These are
    ISO 639-1's 183 codes and the deprecated "sh" (Serbo-Croatian), which is still found in
    data sets."""
    return frozenset(code for code in Locale("en").languages if len(code) == 2)


def _language_code(tag: str) -> str | None:
    """The code of a language tag ("en-US" gives "en", "ID" gives "id"), or None if it is not
    an ISO 639-1 code."""
    match = _LANGUAGE_TAG.fullmatch(tag)
    if match is None:
        return None
    code = match[1].lower()
    if code not in iso_639_1_codes():
        return None
    if len(_KNOWN_LANGUAGES) < _MAX_KNOWN_LANGUAGES:
        _KNOWN_LANGUAGES[tag] = code
    return code
