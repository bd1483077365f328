"""Reading CRM, e-mail tool and billing exports into records for the tracker's data sheets.

Pure: pandas, numpy and the standard library (python-calamine for .xlsx exports). The public
API the workbook writer uses::

    read_export(path, as_sheet=None) -> ImportResult
    ExportError, ImportResult, Skipped, MAX_RECORDS, SOURCE, RECORD_ID
    PROFILES, SHEET_COLUMNS (the data sheets and their columns)
"""

from xlkpi.imports.read import ExportError
from xlkpi.imports.records import MAX_RECORDS, RECORD_ID, SOURCE, ImportResult, Skipped, read_export
from xlkpi.imports.sources import PROFILES, SHEET_COLUMNS

__all__ = ["MAX_RECORDS", "PROFILES", "RECORD_ID", "SHEET_COLUMNS", "SOURCE", "ExportError",
           "ImportResult", "Skipped", "read_export"]
