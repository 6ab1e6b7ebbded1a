"""Load the dataset specifications and code lists from refdata/, and replace code lists.

Every problem in the shipped files is reported with the file, the line and the reason.
Lists an agency imported (the official NDTMS reference data) live in an overrides folder
outside the application; one that no longer loads is set aside with a note, so the
application still starts on the list it shipped with.

The parts: ``manifest`` (MANIFEST.toml and the submission file's settings), ``datasets``
(one dataset specification), ``codes`` (one code list file), ``overrides`` (the lists an
agency imported, and their folder), ``importing`` (importing a list from a CSV or XLSX file)
and ``common`` (the error and reading TOML).
"""

from desktop.domain.refdata.codes import CODE_COLUMNS, read_code_csv
from desktop.domain.refdata.common import RefDataError
from desktop.domain.refdata.datasets import FIELD_KEYS, load_dataset
from desktop.domain.refdata.importing import ImportResult, import_code_list, read_table
from desktop.domain.refdata.manifest import EXPORT_KEYS, load_export, load_refdata
from desktop.domain.refdata.overrides import OverrideEntry, apply_overrides, read_overrides

__all__ = [
    "CODE_COLUMNS",
    "EXPORT_KEYS",
    "FIELD_KEYS",
    "ImportResult",
    "OverrideEntry",
    "RefDataError",
    "apply_overrides",
    "import_code_list",
    "load_dataset",
    "load_export",
    "load_refdata",
    "read_code_csv",
    "read_overrides",
    "read_table",
]
