"""The month-end NDTMS submission: the pre-upload check, the CSV file and its history.

:func:`check` validates every record the file would hold and reports what the NDTMS
portal will report (load % and DQ %), findings grouped by rule, the records held back for
errors, and "mismatch" warnings. :func:`export` writes the file; :func:`history` lists
past exports. The parts: ``rows`` (the records and the cells of the file's rows),
``precheck`` (the check and the mismatches), ``file`` (writing the file), ``past_exports``
(the history) and ``common`` (their errors, the month and the dataset, progress).

The choices below are the rules of the file.

Who is in the file
    Only clients whose *current* NDTMS consent is yes. The client's newest NDTMS consent
    event decides (ordered by the date it was recorded for, then when it was entered); a
    client with no consent event falls back to the CONSENT value of the episode. Consent
    refused, withdrawn, blank or unknown: the client's episodes are left out entirely.
    An older NDTMS exporter sent a stub row (AGNCY, CLIENTID, CONSENT=N) for such
    clients; we take the stricter option and send nothing at all about them. Episodes
    of consenting clients carry CONSENT = yes, since that is their consent now.

Which episodes
    Every episode of the dataset that was open at any time in the month
    (opened on or before its last day and not closed before its first), was closed in
    it, or was changed since the previous export of the dataset (its fields, its
    client's, or the client's consent) - unless it was opened after the month, in which
    case it waits for its own month. Before the first export of a dataset, only the
    month decides. Each file is a full refresh: it holds all of these every time. What
    the worker saved is the record (there is no draft); a CJIT episode with neither a
    caseload start nor a closure waits for the caseload decision (seed 000 FAQ) and is
    listed by the check with that reason.

What each row holds
    The header and column order are the dataset specification's (every field, the
    referral or intervention fields included). One row per episode, repeated for each
    referral (Q) or intervention (R) with the client and episode fields on every row;
    an episode without any gives one row with those fields blank. Episodes come in the
    order they were first saved, items in their order in the episode. Values are those
    entered, read the way validation reads them: dates in the configured format
    (default DD/MM/YYYY), codes and initials in capitals, text trimmed. The postcode is
    cut by its last two characters (NR14 7UJ -> NR14 7; no fixed abode or abroad is
    entered as ZZ99 3VZ -> ZZ99 3); a PC that is not a postcode is sent blank, never in
    part (validation flags it). A client of no fixed abode with no DAT gets the
    team's own DAT (dataset Q). CMSID is Pathway's name and version and AGNCY the
    agency code from setup. UTLA is sent as entered: Pathway ships no postcode to UTLA
    lookup (the ONS file is not included), so it is not derived from the postcode.

The file
    Row shape, date format, line ending (default CRLF) and file name (default
    ``{AGNCY}-{start}-{end}-{dataset}.csv``) come from ``[export]`` in the reference
    data manifest, marked provisional until the official CSV specification is checked.
    RFC 4180 quoting (only where needed), UTF-8 without a byte-order mark. A value that
    starts with = + - @ TAB or CR is written with a leading ' so that no spreadsheet
    runs it as a formula (ASVS 1.2.10); validation already flags such values.

Writing safely
    Only managers export. Records with errors are held back unless the manager chooses to
    include them. The file is written to a hidden temporary file in the chosen folder,
    flushed to disk and renamed into place; nothing else is written outside the store
    (a temporary file left by an export that was cut off is removed by the next export
    of that file). The whole export is one transaction of the store: if the store cannot
    record it, the file is taken back. A file byte-identical to the previous export of
    the same dataset and month is refused (NDTMS rejects a file it already has) and
    nothing is written. Each export is an audit event and a history row (who, when,
    dataset, month, counts, SHA-256, file name, episode ids); no copy of the file is
    kept (see Mismatches for the one thing remembered).

Mismatches
    For each episode the store keeps the rows NDTMS last received for it (the newest
    only, inside the encrypted store; every value in them is derived from the episode
    itself). The check compares the fields whose definitions say they do not change (or
    change once, from blank to a value), or that are marked as causing a mismatch, with
    the episode now: a value that was sent and has since changed or been cleared is a
    "mismatch" warning. Filling in a field sent blank, or adding a referral, is not.
"""

from desktop.domain.datasets import DATASETS
from desktop.domain.period import Period
from desktop.export.submission.common import (
    Cancelled,
    ExportError,
    Progress,
    parse_period,
)
from desktop.export.submission.file import ExportResult, IdenticalFile, export, file_name
from desktop.export.submission.past_exports import history
from desktop.export.submission.precheck import (
    MISMATCH,
    CheckResult,
    HeldBack,
    Hit,
    RuleFindings,
    check,
)
from desktop.export.submission.rows import CACHE_LIMIT, FORMULA_START, Cells, Rows
from desktop.storage.extract import ExportRecord

__all__ = [
    "CACHE_LIMIT",
    "DATASETS",
    "FORMULA_START",
    "MISMATCH",
    "Cancelled",
    "Cells",
    "CheckResult",
    "ExportError",
    "ExportRecord",
    "ExportResult",
    "HeldBack",
    "Hit",
    "IdenticalFile",
    "Period",
    "Progress",
    "Rows",
    "RuleFindings",
    "check",
    "export",
    "file_name",
    "history",
    "parse_period",
]
