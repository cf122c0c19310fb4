"""What never leaves a process in a log line or an error report: PINs, tokens, passwords, secrets
and guests' contact details. Shared by the JSON log formatter (nowistay.logs) and the error
reporter's scrubber (nowistay.error_reporting).

Two checks: a field whose *name* says it holds such a value loses the value, whatever it is; and
free text (messages, exception values, URLs, query strings) loses the values of `name=value` and
`"name": value` pairs with such a name, bearer credentials, email addresses and phone numbers in
international form (+…). A guest's name in free text cannot be recognised: it is removed from the
fields that carry it (guest_name and every other guest field), and the product never logs it.
"""

import re
from typing import Any

FILTERED = "[Filtered]"

# Field names whose values are removed. Substrings unless anchored: "guest_email", "accessToken",
# "X-Api-Key", "keyboardPwd" all match; "code" and "state" alone (OAuth callback parameters) only
# as query parameters, since code_id, state and the like are harmless ids and names elsewhere.
SENSITIVE_NAME = re.compile(
    r"token|password|passwd|pwd|secret|pin|code_verifier|authorization|api_?key|credential|cookie|session|csrf"
    r"|signature|email|e-mail|phone|guest|contact|ip_address|remote_addr|forwarded_for|^dsn$",
    re.IGNORECASE,
)
SENSITIVE_QUERY_PARAMETERS = frozenset({"code", "state"})

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
INTERNATIONAL_PHONE = re.compile(r"(?<![\w+])\+\d[\d ().\-/]{5,}\d")
BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)
_QUOTED_OR_PLAIN = r"(?:'[^']*'|\"[^\"]*\"|[^&\s#\"',;)}\]]*)"
NAME_EQUALS_VALUE = re.compile(r"(?P<name>[A-Za-z0-9_.\-\[\]]+)=(?P<value>" + _QUOTED_OR_PLAIN + ")")
QUOTED_NAME_COLON_VALUE = re.compile(r"(?P<quote>[\"'])(?P<name>[^\"']{1,64})(?P=quote)\s*:\s*(?P<value>'[^']*'|\"[^\"]*\"|[^,}\s]+)")


def is_sensitive_name(name: object) -> bool:
    return bool(SENSITIVE_NAME.search(str(name)))


def _is_sensitive_parameter(name: str) -> bool:
    return is_sensitive_name(name) or name.lower() in SENSITIVE_QUERY_PARAMETERS


def _filter_pair(match: re.Match) -> str:
    if not _is_sensitive_parameter(match.group("name")):
        return match.group(0)
    return match.group(0)[: match.start("value") - match.start(0)] + FILTERED


def scrub_text(text: str) -> str:
    """`text` without secret-named pairs' values, credentials, email addresses or phone numbers."""
    text = BEARER.sub(lambda match: f"{match.group(1)} {FILTERED}", text)
    text = NAME_EQUALS_VALUE.sub(_filter_pair, text)
    text = QUOTED_NAME_COLON_VALUE.sub(_filter_pair, text)
    text = EMAIL.sub(FILTERED, text)
    return INTERNATIONAL_PHONE.sub(FILTERED, text)


def scrub(value: Any) -> Any:
    """A copy of a JSON-like value: secret-named fields' values replaced, every string scrubbed."""
    if isinstance(value, dict):
        return {key: FILTERED if is_sensitive_name(key) else scrub(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value
