"""A package's seal: what its generated parts were made from, and that no part has changed since.

xlkpi writes, in the zip's comment (not a part: nothing reads it but this module), the digest of
what the generated tabs were made from (``inputs``, given by the caller) and a digest of
``inputs`` with every entry's name, CRC-32 and size. A file is *sealed* when that second digest
still matches its entries: every part is byte for byte as xlkpi wrote it. Any program that saves
the file again (Excel, LibreOffice, openpyxl) writes a zip of its own, without the comment; a
tool that changes a part in place changes its CRC. So a sealed file's generated tabs are what
``inputs`` made, read from the central directory alone (nothing inflated).
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable

PREFIX = b"xlkpi-generated-from "


def _entries(inputs: str, infos: Iterable[zipfile.ZipInfo]) -> str:
    digest = hashlib.sha256(inputs.encode("ascii"))
    for info in sorted(infos, key=lambda info: info.filename):
        digest.update(b"%s\0%d\0%d\n" % (info.filename.encode("utf-8"), info.CRC,
                                          info.file_size))
    return digest.hexdigest()


def seal(out: zipfile.ZipFile, inputs: str | None) -> None:
    """Give ``out`` (written, not yet closed) the seal of ``inputs`` (a hex digest); None:
    nothing (the file will not be sealed)."""
    if inputs:
        out.comment = PREFIX + inputs.encode("ascii") + b" " + _entries(
            inputs, out.infolist()).encode("ascii")


def sealed_inputs(archive: zipfile.ZipFile) -> str | None:
    """The ``inputs`` a sealed ``archive`` was sealed with; None when it is not sealed (no seal,
    or a part changed since)."""
    comment = archive.comment
    if not comment.startswith(PREFIX):
        return None
    inputs, _, digest = comment[len(PREFIX):].decode("ascii", "replace").partition(" ")
    if not inputs or not inputs.isalnum():
        return None
    return inputs if digest == _entries(inputs, archive.infolist()) else None
