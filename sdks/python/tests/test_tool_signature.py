"""The tng2 tool-call signature, offline, against the vectors of docs/tool-signing.md."""

from __future__ import annotations

import pytest

from tengineai import ToolSignatureError, tool_signature

SECRET = "tool-secret-0123456789"
REQUEST_ID = "0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6b"
NOW = 1_800_000_030
POST_TARGET = "/v1/weather/Oslo?units=metric&q=a%20b"
POST_BODY = b'{"city":"Oslo","days":3}'
POST_SIG = "tng2=17936faeebfb99a288a68b9cf5f7545c8639082b784dfcb34fc834a30f19af92"
GET_SIG = "tng2=e4bfd0f34c4d2904a867c2ab4a5abdd8579eb9c6fba4e93eaaf9f05aab26fe41"


def headers(sig, **extra):
    h = {"X-Tengine-Signature": sig, "X-Tengine-Timestamp": "1800000000", "X-Tengine-Request-Id": REQUEST_ID}
    h.update(extra)
    return h


def test_the_documented_vectors_sign_and_verify():
    assert tool_signature.sign(SECRET, 1800000000, REQUEST_ID, "post", POST_TARGET, POST_BODY) == POST_SIG
    assert tool_signature.sign(SECRET, 1800000000, REQUEST_ID, "GET", "/v1/contacts/42", b"") == GET_SIG
    assert tool_signature.canonical_string(1800000000, REQUEST_ID, "POST", POST_TARGET, POST_BODY).split("\n")[-1] == (
        "9e464220cba076199d02c269c6ce08af3044386d0159da63fe40d9171aa9c38f"
    )
    call = tool_signature.verify(
        SECRET, "POST", POST_TARGET, POST_BODY, headers(POST_SIG, **{"X-Tengine-Tool": "weather"}), now=NOW
    )
    assert (call["request_id"], call["tool"], call["member_id"]) == (REQUEST_ID, "weather", None)
    assert tool_signature.verify(SECRET, "GET", "/v1/contacts/42", "", list(headers(GET_SIG).items()), now=NOW)


@pytest.mark.parametrize(
    "method,target,body",
    [
        ("POST", POST_TARGET, b'{"city":"Oslo","days":4}'),
        ("POST", "/v1/weather/Oslo?units=imperial&q=a%20b", POST_BODY),
        ("PUT", POST_TARGET, POST_BODY),
    ],
)
def test_a_tampered_request_is_refused(method, target, body):
    with pytest.raises(ToolSignatureError, match="No matching"):
        tool_signature.verify(SECRET, method, target, body, headers(POST_SIG), now=NOW)


def test_another_request_id_secret_or_a_stale_time_is_refused():
    h = headers(POST_SIG, **{"X-Tengine-Request-Id": "0190a4b2-7c3d-7e8f-9a0b-1c2d3e4f5a6c"})
    with pytest.raises(ToolSignatureError):
        tool_signature.verify(SECRET, "POST", POST_TARGET, POST_BODY, h, now=NOW)
    with pytest.raises(ToolSignatureError):
        tool_signature.verify("another-secret", "POST", POST_TARGET, POST_BODY, headers(POST_SIG), now=NOW)
    with pytest.raises(ToolSignatureError, match="tolerance"):
        tool_signature.verify(SECRET, "POST", POST_TARGET, POST_BODY, headers(POST_SIG), now=NOW + 300)


def test_any_value_of_a_rotation_list_may_match_and_headers_are_case_insensitive():
    h = {k.lower(): v for k, v in headers("tng2=00ff, " + POST_SIG).items()}
    assert tool_signature.verify(SECRET, "POST", POST_TARGET, POST_BODY, h, now=NOW)["timestamp"] == "1800000000"
    with pytest.raises(ToolSignatureError, match="Missing"):
        tool_signature.verify(SECRET, "POST", POST_TARGET, POST_BODY, {"X-Tengine-Timestamp": "1800000000"}, now=NOW)
