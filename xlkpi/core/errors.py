"""Exceptions that carry a message meant for the person who typed the input."""


class XlkpiError(Exception):
    """Base class: the message is complete and safe to show as one line."""


class InputError(XlkpiError, ValueError):
    """An argument or a data row is not what the KPI needs.

    The message names the argument and, where there is one, the row:
    ``dates row 7: 'soon' is not a date``.
    """


class TrackerFileError(XlkpiError):
    """The tracker file cannot be used as it is: missing, not a workbook, not a tracker,
    open in Excel, damaged. The message says what is wrong and what to do."""
