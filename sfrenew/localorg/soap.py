"""The SOAP partner API ``login`` and ``logout`` calls: request parsing and response XML.

Only ``login`` and ``logout`` are implemented: ``login`` is what simple-salesforce's
and jsforce's username/password logins send, ``logout`` what jsforce's ``logout()``
sends for a SOAP session (SOAP API Developer Guide, "logout()": it ends the session
named in the ``SessionHeader``). The answer to ``login`` is a partner ``loginResponse``
whose ``serverUrl`` points back at this server (clients derive the instance host from
it); bad credentials are a ``sf:INVALID_LOGIN`` SOAP fault with HTTP 500, as Salesforce answers.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from sfrenew.localorg.identity import OrgIdentity
from sfrenew.localorg.sessions import Session
from sfrenew.localorg.wire import Response

_XML_TYPE = "text/xml;charset=UTF-8"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_login(body: bytes) -> tuple[str, str] | None:
    """``(username, password)`` of a SOAP login envelope, or None if it is not one."""
    # SOAP 1.1 forbids a DTD in a message; refusing one also rules out entity tricks.
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    try:
        # Input is from 127.0.0.1 only, has no DTD (checked above), and expat >= 2.4
        # limits entity amplification; the stdlib parser is safe here.
        root = ET.fromstring(body)  # noqa: S314
    except ET.ParseError:
        return None
    for element in root.iter():
        if _local(element.tag) != "login":
            continue
        values = {_local(child.tag): (child.text or "") for child in element}
        if "username" in values and "password" in values:
            return values["username"].strip(), values["password"]
    return None


def parse_logout(body: bytes) -> str | None:
    """The ``sessionId`` of a SOAP ``logout`` envelope's SessionHeader, or None if it is not one.

    ``""`` when the envelope is a logout without a session Id.
    """
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    try:
        root = ET.fromstring(body)  # noqa: S314 - see parse_login
    except ET.ParseError:
        return None
    if not any(_local(element.tag) == "logout" for element in root.iter()):
        return None
    for element in root.iter():
        if _local(element.tag) == "sessionId":
            return (element.text or "").strip()
    return ""


def logout_response() -> Response:
    """An empty partner ``logoutResponse``."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns="urn:partner.soap.sforce.com">'
        "<soapenv:Body><logoutResponse/></soapenv:Body></soapenv:Envelope>"
    )
    return Response(status=200, body=body.encode("utf-8"), content_type=_XML_TYPE)


def session_fault() -> Response:
    """The ``INVALID_SESSION_ID`` fault a SOAP call with a dead session gets."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:sf="urn:fault.partner.soap.sforce.com"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_SESSION_ID</faultcode>"
        "<faultstring>INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: "
        "Illegal Session</faultstring>"
        '<detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault">'
        "<sf:exceptionCode>INVALID_SESSION_ID</sf:exceptionCode>"
        "<sf:exceptionMessage>Invalid Session ID found in SessionHeader: Illegal Session"
        "</sf:exceptionMessage></sf:UnexpectedErrorFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    response = Response(status=500, body=body.encode("utf-8"), content_type=_XML_TYPE)
    response.error_code = "INVALID_SESSION_ID"
    return response


def _element(name: str, value: str | None) -> str:
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    return f"<{name}>{escape(value)}</{name}>"


def login_response(*, session: Session, identity: OrgIdentity, instance_url: str,
                   api_version: str, lifetime_seconds: int) -> Response:
    """A partner ``loginResponse`` for a new session."""
    org15 = identity.org_id[:15]
    user_info = "".join([
        _element("accessibilityMode", "false"),
        _element("chatterExternal", "false"),
        _element("currencySymbol", "$"),
        _element("orgAttachmentFileSizeLimit", "5242880"),
        _element("orgDefaultCurrencyIsoCode", "USD"),
        _element("orgDefaultCurrencyLocale", "en_US"),
        _element("orgDisallowHtmlAttachments", "false"),
        _element("orgHasPersonAccounts", "false"),
        _element("organizationId", identity.org_id),
        _element("organizationMultiCurrency", "true"),
        _element("organizationName", "sfrenew local org"),
        _element("profileId", "00e5g000000IntgAAA"),
        _element("roleId", None),
        _element("sessionSecondsValid", str(lifetime_seconds)),
        _element("userDefaultCurrencyIsoCode", None),
        _element("userEmail", session.username),
        _element("userFullName", "Integration User"),
        _element("userId", session.user_id),
        _element("userLanguage", "en_US"),
        _element("userLocale", "en_US"),
        _element("userName", session.username),
        _element("userTimeZone", "UTC"),
        _element("userType", "Standard"),
        _element("userUiSkin", "Theme3"),
    ])
    result = "".join([
        _element("metadataServerUrl", f"{instance_url}/services/Soap/m/{api_version}/{org15}"),
        _element("passwordExpired", "false"),
        _element("sandbox", "false"),
        _element("serverUrl", f"{instance_url}/services/Soap/u/{api_version}/{org15}"),
        _element("sessionId", session.token),
        _element("userId", session.user_id),
        f"<userInfo>{user_info}</userInfo>",
    ])
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns="urn:partner.soap.sforce.com"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body><loginResponse><result>{result}</result></loginResponse>"
        "</soapenv:Body></soapenv:Envelope>"
    )
    return Response(status=200, body=body.encode("utf-8"), content_type=_XML_TYPE)


def login_fault(status: int, code: str, message: str) -> Response:
    """A partner API ``LoginFault`` (what a failed ``login`` answers)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:sf="urn:fault.partner.soap.sforce.com"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{escape(code)}</faultcode>"
        f"<faultstring>{escape(code)}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{escape(code)}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    response = Response(status=status, body=body.encode("utf-8"), content_type=_XML_TYPE)
    response.error_code = code
    return response
