"""Schemathesis hooks for `cargo xtask fuzz-api`.

Generated `Idempotency-Key` values repeat ("0", "00", ...), and the server rightly answers
a key reused with another request 422 `IDEMPOTENCY_KEY_REUSED`. That is request history,
not a property of one request, so a valid generated key gets a unique suffix before it is
sent; an invalid one (a negative test) is sent as generated.
"""

import itertools
import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"[!-~](?:[ -~]{0,253}[!-~])?")
# Unique across runs too, should two runs share a database.
_RUN = uuid.uuid4().hex[:12]
_counter = itertools.count()


@schemathesis.hook
def before_call(context, case, kwargs):
    # A negative case is left alone: changing it would make schemathesis revalidate it as
    # positive and send the headers it means to leave out.
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() != "idempotency-key" or not isinstance(value, str):
            continue
        if VALID_KEY.fullmatch(value):
            suffix = f"-{_RUN}-{next(_counter)}"
            headers[name] = value[: 255 - len(suffix)].rstrip() + suffix
