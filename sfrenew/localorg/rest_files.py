"""Files over REST: multipart record bodies and what creating a ContentVersion implies.

"Insert or Update Blob Data" (REST API Developer Guide, dome_sobject_insert_update_blob):
a record with a binary field may be sent as ``multipart/form-data``: one JSON part
(the record, conventionally named ``entity_content``) and one part per binary field,
named after it (``VersionData``). The org keeps binary data as base64 text.

Creating a ContentVersion without a ContentDocumentId creates its ContentDocument
first, as Salesforce does, and fills FileExtension (from PathOnClient), FileType and
ContentSize.
"""

from __future__ import annotations

import base64
import binascii
import json
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import PurePosixPath
from typing import Any

from sfrenew.localorg.errors import SalesforceApiError
from sfrenew.localorg.ports import StorePort
from sfrenew.localorg.wire import Request

BINARY_FIELDS = frozenset({"versiondata", "body"})
_FILE_TYPES = {"txt": "TEXT", "csv": "CSV", "pdf": "PDF", "png": "PNG", "jpg": "JPG",
               "jpeg": "JPEG", "gif": "GIF", "json": "JSON", "xml": "XML", "zip": "ZIP",
               "doc": "WORD", "docx": "WORD_X", "xls": "EXCEL", "xlsx": "EXCEL_X"}


def _multipart_error(message: str) -> SalesforceApiError:
    return SalesforceApiError.single(400, "MULTIPART_PARSE_ERROR", message)


def is_multipart(request: Request) -> bool:
    """True for a ``multipart/form-data`` body."""
    return (request.header("content-type") or "").lower().startswith("multipart/")


def multipart_record(request: Request) -> dict[str, Any]:
    """The record of a multipart body: its JSON part plus each binary part as base64."""
    head = f"Content-Type: {request.header('content-type')}\r\n\r\n".encode("latin-1")
    message: Message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        raise _multipart_error("the body is not a multipart message")
    record: dict[str, Any] | None = None
    binaries: dict[str, str] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition") or ""
        payload = part.get_payload(decode=True) or b""
        if part.get_content_type() == "application/json" and record is None:
            try:
                parsed = json.loads(payload.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise _multipart_error(f"the JSON part {name!r} is not JSON: {exc}") from exc
            if not isinstance(parsed, dict):
                raise _multipart_error("the JSON part must be one record (an object)")
            record = parsed
        elif str(name).lower() in BINARY_FIELDS:
            binaries[str(name)] = base64.b64encode(payload).decode("ascii")
    if record is None:
        raise _multipart_error("no application/json part with the record")
    return {**{k: v for k, v in record.items() if k != "attributes"}, **binaries}


def prepare_content_version(store: StorePort, values: dict[str, Any], *, user_id: str
                            ) -> dict[str, Any]:
    """The values a new ContentVersion is saved with (its ContentDocument created first)."""
    prepared = dict(values)
    data = str(prepared.get("VersionData") or "")
    try:
        size = len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise SalesforceApiError.dml("INVALID_FIELD", "VersionData: not valid base64 data",
                                     ("VersionData",)) from exc
    path = str(prepared.get("PathOnClient") or "")
    extension = PurePosixPath(path).suffix.lstrip(".").lower()
    title = prepared.get("Title") or PurePosixPath(path).stem or None
    if title:
        prepared["Title"] = title
    prepared.setdefault("FileExtension", extension or None)
    prepared.setdefault("FileType", _FILE_TYPES.get(extension, extension.upper() or "UNKNOWN"))
    prepared["ContentSize"] = size
    if not prepared.get("ContentDocumentId"):
        document = store.create("ContentDocument", {"Title": title}, user_id=user_id)
        prepared["ContentDocumentId"] = document
    return prepared
