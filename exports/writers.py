"""File writers for export rows: JSON Lines, Parquet and CSV, fed one column batch at a time."""

from __future__ import annotations

import csv
import json
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

# A spreadsheet runs a cell that starts with one of these as a formula (or as a DDE call).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading formula character gets a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


class JsonlWriter:
    """One JSON object per line, keys in schema order, UTF-8, no ASCII escaping."""

    def __init__(self, fh: IO[bytes], schema: pa.Schema):
        self._fh = fh
        self._names = schema.names
        self._types = schema.types
        # Rows are rendered with one %-format per line (C speed); keys are fixed per schema.
        self._template = "{" + ",".join(json.dumps(n).replace("%", "%%") + ":%s" for n in schema.names) + "}\n"
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def _column(self, values: list, type_: pa.DataType):
        encode = self._encode
        if pa.types.is_integer(type_):
            return ["null" if v is None else str(v) for v in values] if None in values else map(str, values)
        if pa.types.is_boolean(type_):
            return map(_JSON_BOOL.__getitem__, values)
        if pa.types.is_string(type_):
            # Preference rows repeat each prompt and sample across pairs: encode each distinct
            # string once; hashing and lookups run in C.
            table = {v: encode(v) for v in set(values)}
            return map(table.__getitem__, values)
        # Nested values (chat messages, samples): encode each live object once per batch
        # (ids are unique while the batch holds them).
        cache: dict[int, str] = {}
        out = []
        for v in values:
            frag = cache.get(id(v))
            if frag is None:
                frag = cache[id(v)] = encode(v)
            out.append(frag)
        return out

    def write(self, columns: dict[str, list]) -> None:
        frags = [self._column(columns[name], t) for name, t in zip(self._names, self._types)]
        self._fh.write("".join(map(self._template.__mod__, zip(*frags))).encode("utf-8"))

    def close(self) -> None:
        pass


_JSON_BOOL = {True: "true", False: "false", None: "null"}


class ParquetWriter:
    """One row group per batch, with the export's fixed schema."""

    def __init__(self, fh: IO[bytes], schema: pa.Schema):
        self._schema = schema
        self._writer = pq.ParquetWriter(fh, schema, compression="snappy")

    def write(self, columns: dict[str, list]) -> None:
        self._writer.write_batch(pa.RecordBatch.from_pydict(columns, schema=self._schema))

    def close(self) -> None:
        self._writer.close()


class CsvWriter:
    """Flat rows with a header; every cell neutralised against formula injection."""

    def __init__(self, fh: IO[bytes], schema: pa.Schema):
        import io

        self._text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=True)
        self._csv = csv.writer(self._text)
        self._names = schema.names
        self._csv.writerow(self._names)

    def write(self, columns: dict[str, list]) -> None:
        cols = [columns[name] for name in self._names]
        self._csv.writerows([[csv_safe(v) for v in row] for row in zip(*cols)])

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


WRITERS = {"jsonl": JsonlWriter, "parquet": ParquetWriter, "csv": CsvWriter}
