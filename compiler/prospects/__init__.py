"""Prospect data: read CSV/JSON/JSONL files, compile the `prospect` block to a JSON Schema and a fast validator.

Prospect values are untrusted data. They are read, converted to the declared type and
validated here, and never evaluated: text stays a plain `str`. Escaping for the output a
value lands in (HTML, CSV formula prefixes, email headers) is the job of that output.

Pipeline, one record at a time so memory stays flat in the number of prospects::

    read_records(path)  ->  RawRecord(row, values) | RecordError     (file format)
    RecordValidator     ->  Record(row, data)      | RecordError...  (prospect block)
    load_prospects(path, prospect) does both.

The JSON Schema from `prospect_schema` describes a record *after* normalisation
(`Record.data`): missing values absent, CSV text converted to the declared type.
`RecordValidator` is the same contract compiled to per-field Python functions;
tests prove the two agree.

Modules, each importing only those below it:

    slicing     a file cut into slices of whole records (byte ranges) for `preview --jobs`
    reading     CSV/JSON/JSONL readers, `open_source`, `read_records`, `load_prospects`
    hygiene     role addresses, GDPR countries, duplicate addresses
    fields      per-field converters, `RecordValidator`, the JSON Schema of the block
    records     `RawRecord`, `Record`, `RecordError`, `Counts`, `show`
    reference   country names, GDPR list, role addresses, time zones (`compiler/data/`)

This package re-exports the names the rest of seqc, the tests and the benchmarks use.
"""

from compiler.prospects.fields import (
    TIMEZONE_FORMAT,
    RecordValidator,
    converter,
    field_schema,
    prospect_schema,
    schema_validator,
)
from compiler.prospects.hygiene import DuplicateTracker, duplicates, is_gdpr_country, is_role_address
from compiler.prospects.reading import load_prospects, open_source, read_records
from compiler.prospects.records import Counts, RawRecord, Record, RecordError, show
from compiler.prospects.reference import country_names, gdpr_countries, is_time_zone, role_local_parts, time_zones

__all__ = [
    "TIMEZONE_FORMAT", "Counts", "DuplicateTracker", "RawRecord", "Record", "RecordError", "RecordValidator",
    "converter", "country_names", "duplicates", "field_schema", "gdpr_countries", "is_gdpr_country",
    "is_role_address", "is_time_zone", "load_prospects", "open_source", "prospect_schema", "read_records",
    "role_local_parts", "schema_validator", "show", "time_zones",
]
