"""The library's own exception types.

Every error a user can cause is a :class:`JianfuError` whose message says what to do next; the
CLI prints it on one line and exits with code 1. Anything else is a bug.
"""


class JianfuError(Exception):
    """A problem with the user's input, data or model files."""


class DataError(JianfuError):
    """Training or evaluation data that cannot be used as it is."""


class ModelFileError(JianfuError):
    """A model directory that is missing, damaged, tampered with or of an unknown format."""
