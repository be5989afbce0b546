"""SOQL text: values only through simple-salesforce's ``format_soql``, names checked.

Values are quoted and escaped by ``format_soql`` (never f-strings); object and field
*names* cannot be quoted in SOQL, so they are checked against the API-name grammar
instead. :func:`in_chunks` splits a long ``IN`` list so that no request URL, fully
URL-encoded with instance and path, exceeds Salesforce's 16,384 bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus

from simple_salesforce.format import format_soql, quote_soql_value

from sfrenew.salesforce.errors import ConfigurationError

__all__ = ["MAX_URL_BYTES", "check_name", "count_query", "format_soql", "in_chunks", "select"]

MAX_URL_BYTES = 16_384
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_MARK = "\ue000"  # a private-use character no caller puts in a SOQL value


def check_name(name: str) -> str:
    """``name`` if it is a valid (possibly dotted) API name; ConfigurationError otherwise."""
    if not _NAME.match(name):
        raise ConfigurationError(f"not a Salesforce API name: {name!r}")
    return name


def select(sobject: str, fields: Sequence[str], where: str | None = None) -> str:
    """``SELECT fields FROM sobject [WHERE where]``; ``where`` built with ``format_soql``."""
    if not fields:
        raise ConfigurationError(f"no fields to read from {sobject}")
    # Names cannot be quoted in SOQL: they are checked, then inserted as literals.
    names = ", ".join(check_name(f) for f in fields)
    text = format_soql("SELECT {fields:literal} FROM {sobject:literal}",
                       fields=names, sobject=check_name(sobject))
    return _where(text, where)


def count_query(sobject: str, where: str | None = None) -> str:
    """``SELECT COUNT() FROM sobject [WHERE where]``."""
    return _where(format_soql("SELECT COUNT() FROM {sobject:literal}",
                              sobject=check_name(sobject)), where)


def _where(text: str, where: str | None) -> str:
    # ``where`` is SOQL the caller built with format_soql; it is appended as is.
    if not where:
        return text
    return format_soql("{text:literal} WHERE {where:literal}", text=text, where=where)


def in_chunks(template: str, values: Sequence[Any], *, url_prefix: str,
              placeholder: str = "values", limit: int = MAX_URL_BYTES,
              **params: Any) -> list[str]:
    """Render ``template`` once per chunk of ``values`` so each query URL fits in ``limit``.

    ``template`` is a ``format_soql`` template whose ``{values}`` (or ``{placeholder}``)
    is an ``IN`` list; ``params`` fill its other fields. ``url_prefix`` is the query
    endpoint (``https://host/services/data/vNN.0/queryAll``) the text is sent to as
    ``?q=``. Every value lands in exactly one chunk, in order.
    """
    if not values:
        return []
    rendered = format_soql(template, **params, **{placeholder: [_MARK]})
    head, sep, tail = rendered.partition(quote_soql_value(_MARK))
    if not sep or _MARK in tail:
        raise ValueError(f"template must use {{{placeholder}}} exactly once")
    fixed = len(url_prefix) + len("?q=") + len(quote_plus(head)) + len(quote_plus(tail))
    comma = len(quote_plus(","))
    chunks: list[str] = []
    current: list[str] = []
    size = fixed
    for value in values:
        item = quote_soql_value(value)
        cost = len(quote_plus(item)) + (comma if current else 0)
        if current and size + cost > limit:
            chunks.append(head + ",".join(current) + tail)
            current, size = [], fixed
            cost = len(quote_plus(item))
        if size + cost > limit:
            raise ValueError(f"one value alone makes the query URL longer than {limit} bytes")
        current.append(item)
        size += cost
    chunks.append(head + ",".join(current) + tail)
    return chunks
