"""Drives Tengine's OAuth 2.1 authorization server with Authlib, for the e2e suite.

Reads {"base": "http://127.0.0.1:PORT", "admin_key": "tng_..."} as JSON on stdin, runs
every flow and refusal of issue #16 against the real server, and prints one JSON object
{"checks": [names...]} naming each check that passed. Any failed check raises, so the
process exits non-zero with the reason on stderr.

The consent step is the console's: the admin approves through
`POST /api/v1/oauth/authorization` with the request's query, as the consent page does.
"""

import json
import sys
import time
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from authlib.integrations.base_client.errors import OAuthError

inp = json.load(sys.stdin)
BASE = inp["base"]
ADMIN = {"Authorization": "Bearer " + inp["admin_key"]}
API = BASE + "/api/v1"
REDIRECT = "http://127.0.0.1/callback"
checks = []


def check(name, cond, detail=""):
    if not cond:
        raise AssertionError("%s failed: %s" % (name, detail))
    checks.append(name)


http = httpx.Client(timeout=30, follow_redirects=False)


def api(method, path, key=None, **kw):
    headers = {"Authorization": "Bearer " + key} if key else ADMIN
    return http.request(method, API + path, headers=headers, **kw)


def project(name):
    r = api("POST", "/projects", json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def integration(pid, **body):
    body.setdefault("name", "Authlib test client")
    body.setdefault("redirect_uris", [REDIRECT])
    body.setdefault("permissions", ["read", "write"])
    r = api("POST", "/projects/%s/integrations" % pid, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def approve(authorize_url, permissions=None, approve=True):
    """The console's consent step: the admin decides on the request's query."""
    query = urlparse(authorize_url).query
    body = {"approve": approve}
    if permissions is not None:
        body["permissions"] = permissions
    r = http.post(API + "/oauth/authorization?" + query, headers=ADMIN, json=body)
    assert r.status_code == 200, r.text
    return r.json()["redirect_to"]


def client_for(i, **kw):
    return OAuth2Client(
        client_id=i["client_id"],
        client_secret=i.get("client_secret"),
        token_endpoint_auth_method="client_secret_basic" if i.get("client_secret") else "none",
        redirect_uri=kw.pop("redirect_uri", REDIRECT),
        code_challenge_method="S256",
        **kw,
    )


def connect(i, scope=None, permissions=None, resource=None, **kw):
    """Code + PKCE through consent; the token response."""
    c = client_for(i, scope=scope, **kw)
    verifier = generate_token(48)
    extra = {"resource": resource} if resource else {}
    url, state = c.create_authorization_url(META["authorization_endpoint"], code_verifier=verifier, **extra)
    r = http.get(url)
    assert r.status_code in (302, 303), (r.status_code, r.text)
    assert r.headers["location"].startswith("/#/oauth/consent?"), r.headers["location"]
    back = approve(url, permissions)
    token = c.fetch_token(META["token_endpoint"], authorization_response=back, code_verifier=verifier, state=state)
    return c, token, back, verifier


def authorize_redirect(params):
    r = http.get(META["authorization_endpoint"] + "?" + urlencode(params))
    return r


# Discovery: a 401 of the API names its resource metadata, which names the issuer.
r = http.get(API + "/projects")
check("api_401_names_resource_metadata", r.status_code == 401 and "resource_metadata=" in r.headers.get("www-authenticate", ""), r.headers)
prm_url = r.headers["www-authenticate"].split('resource_metadata="')[1].split('"')[0]
prm = http.get(prm_url).json()
check("protected_resource_metadata", prm["resource"] == API and prm["authorization_servers"] == [BASE], prm)
META = http.get(BASE + "/.well-known/oauth-authorization-server").json()
check(
    "authorization_server_metadata",
    META["issuer"] == BASE and META["code_challenge_methods_supported"] == ["S256"] and "password" not in META["grant_types_supported"],
    META,
)

pa, pb = project("OAuth A"), project("OAuth B")
conf = integration(pa, client_type="confidential")
check("confidential_client_gets_a_secret_once", conf["client_secret"].startswith("tng_ocs_"), conf)
check("secret_not_shown_again", "client_secret" not in api("GET", "/projects/%s/integrations/%s" % (pa, conf["id"])).json())

# Code + PKCE, then the token on /api/v1.
c, token, back, verifier = connect(conf, scope="read write")
check("code_flow_returns_state", "state=" in back and "code=tng_oac_" in back, back)
check("access_token_prefix", token["access_token"].startswith("tng_oat_") and token["refresh_token"].startswith("tng_ort_"), token)
check("token_lifetime_one_hour", token["expires_in"] == 3600 and token["token_type"].lower() == "bearer", token)
r = c.get(API + "/projects")
check("token_lists_only_its_project", r.status_code == 200 and [p["id"] for p in r.json()["data"]] == [pa], r.text)
r = c.get(API + "/projects/%s" % pb)
check("token_of_a_on_b_is_404", r.status_code == 404 and r.json()["error"]["code"] == "PROJECT_NOT_FOUND", r.text)
r = c.post(API + "/projects", json={"name": "nope"})
check("token_cannot_create_projects", r.status_code == 403, r.text)
conns = api("GET", "/projects/%s/integrations/%s/connections" % (pa, conf["id"])).json()["data"]
check("connection_listed", len(conns) == 1 and conns[0]["permissions"] == ["read", "write"] and conns[0]["approved_by"].startswith("key_"), conns)

# Refresh rotates; reuse of the spent refresh token revokes the whole connection.
old_refresh = token["refresh_token"]
new = c.refresh_token(META["token_endpoint"], refresh_token=old_refresh)
check("refresh_rotates", new["refresh_token"] != old_refresh and new["access_token"] != token["access_token"], new)
check("refreshed_token_works", c.get(API + "/projects").status_code == 200)
try:
    client_for(conf).refresh_token(META["token_endpoint"], refresh_token=old_refresh)
    raise AssertionError("a spent refresh token was accepted")
except OAuthError as e:
    check("refresh_reuse_refused", e.error == "invalid_grant", e)
r = http.get(API + "/projects", headers={"Authorization": "Bearer " + new["access_token"]})
check("refresh_reuse_revokes_the_connection", r.status_code == 401, r.text)

# Revocation (RFC 7009).
c2, t2, _, _ = connect(conf)
r = http.post(META["revocation_endpoint"], data={"token": t2["access_token"]}, auth=(conf["client_id"], conf["client_secret"]))
check("revoke_answers_200", r.status_code == 200, r.text)
check("revoked_access_token_refused", c2.get(API + "/projects").status_code == 401)
r = http.post(META["revocation_endpoint"], data={"token": t2["refresh_token"]}, auth=(conf["client_id"], conf["client_secret"]))
try:
    client_for(conf).refresh_token(META["token_endpoint"], refresh_token=t2["refresh_token"])
    raise AssertionError("a revoked refresh token was accepted")
except OAuthError as e:
    check("revoked_refresh_token_refused", e.error == "invalid_grant", e)

# A public client: PKCE alone; a loopback redirect matches on any port (RFC 8252).
pub = integration(pa, client_type="public", permissions=["read"])
check("public_client_has_no_secret", "client_secret" not in pub, pub)
cp, tp, _, _ = connect(pub, redirect_uri="http://127.0.0.1:49152/callback")
check("loopback_any_port", cp.get(API + "/projects").status_code == 200)
check("read_token_cannot_write", cp.patch(API + "/projects/%s" % pa, json={"name": "x"}).status_code == 403)

# Refusals at /oauth/authorize.
challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
good = {"response_type": "code", "client_id": conf["client_id"], "redirect_uri": REDIRECT, "state": "s1",
        "code_challenge": challenge, "code_challenge_method": "S256"}
r = authorize_redirect(dict(good, redirect_uri="https://evil.example/callback"))
check("wrong_redirect_uri_not_redirected", r.status_code == 400 and "location" not in r.headers, r.headers)
r = authorize_redirect(dict(good, redirect_uri="http://127.0.0.1/other"))
check("loopback_path_must_match", r.status_code == 400 and "location" not in r.headers, r.headers)
r = authorize_redirect({k: v for k, v in good.items() if k not in ("code_challenge", "code_challenge_method")})
q = parse_qs(urlparse(r.headers.get("location", "")).query)
check("missing_pkce_refused", r.status_code in (302, 303) and q.get("error") == ["invalid_request"] and q.get("state") == ["s1"], r.headers)
r = authorize_redirect(dict(good, code_challenge_method="plain", code_challenge="x" * 43))
q = parse_qs(urlparse(r.headers.get("location", "")).query)
check("plain_pkce_refused", q.get("error") == ["invalid_request"], r.headers)
r = authorize_redirect(dict(good, scope="read admin"))
q = parse_qs(urlparse(r.headers.get("location", "")).query)
check("scope_beyond_integration_refused", q.get("error") == ["invalid_scope"], r.headers)
r = authorize_redirect(dict(good, response_type="token"))
q = parse_qs(urlparse(r.headers.get("location", "")).query)
check("implicit_grant_refused", q.get("error") == ["unsupported_response_type"], r.headers)
r = authorize_redirect(dict(good, client_id="int_0000000000000000000000"))
check("unknown_client_not_redirected", r.status_code == 400 and "location" not in r.headers, r.headers)

# Refusals at /oauth/token.
r = http.post(META["token_endpoint"], data={"grant_type": "password", "username": "u", "password": "p"}, auth=(conf["client_id"], conf["client_secret"]))
check("password_grant_refused", r.status_code == 400 and r.json()["error"] == "unsupported_grant_type", r.text)
r = http.post(META["token_endpoint"], data={"grant_type": "authorization_code", "code": "x"}, auth=(conf["client_id"], "wrong"))
check("wrong_client_secret_refused", r.status_code == 401 and r.json()["error"] == "invalid_client", r.text)

# A reused code is refused, and the tokens of its first use are revoked.
c3 = client_for(conf)
verifier = generate_token(48)
url, state = c3.create_authorization_url(META["authorization_endpoint"], code_verifier=verifier)
back = approve(url)
first = c3.fetch_token(META["token_endpoint"], authorization_response=back, code_verifier=verifier, state=state)
try:
    client_for(conf).fetch_token(META["token_endpoint"], authorization_response=back, code_verifier=verifier, state=state)
    raise AssertionError("a reused code was accepted")
except OAuthError as e:
    check("reused_code_refused", e.error == "invalid_grant", e)
r = http.get(API + "/projects", headers={"Authorization": "Bearer " + first["access_token"]})
check("reused_code_revokes_first_tokens", r.status_code == 401, r.text)

# A wrong PKCE verifier is refused.
c4 = client_for(conf)
verifier = generate_token(48)
url, state = c4.create_authorization_url(META["authorization_endpoint"], code_verifier=verifier)
back = approve(url)
try:
    c4.fetch_token(META["token_endpoint"], authorization_response=back, code_verifier=generate_token(48), state=state)
    raise AssertionError("a wrong verifier was accepted")
except OAuthError as e:
    check("wrong_verifier_refused", e.error == "invalid_grant", e)

# Consent may grant less than asked.
c5, t5, _, _ = connect(conf, scope="read write", permissions=["read"])
check("consent_grants_less", t5["scope"] == "read" and c5.patch(API + "/projects/%s" % pa, json={"name": "y"}).status_code == 403, t5)

# A resource indicator binds the audience: an /mcp token is refused on /api/v1.
c6, t6, _, _ = connect(conf, resource=BASE + "/mcp")
check("mcp_audience_refused_on_api", c6.get(API + "/projects").status_code == 401)
r = authorize_redirect(dict(good, resource="https://elsewhere.example/api"))
q = parse_qs(urlparse(r.headers.get("location", "")).query)
check("foreign_resource_refused", q.get("error") == ["invalid_target"], r.headers)

# Denying sends access_denied back with the state.
cd = client_for(conf)
url, state = cd.create_authorization_url(META["authorization_endpoint"], code_verifier=generate_token(48))
q = parse_qs(urlparse(approve(url, approve=False)).query)
check("denied_consent", q.get("error") == ["access_denied"] and q.get("state") == [state], q)

# Disconnecting a connection and deleting an integration stop their tokens at once.
c7, t7, _, _ = connect(conf)
conn = [x for x in api("GET", "/projects/%s/integrations/%s/connections" % (pa, conf["id"])).json()["data"] if x["revoked_at"] is None][0]
check("disconnect_204", api("DELETE", "/projects/%s/integrations/%s/connections/%s" % (pa, conf["id"], conn["id"])).status_code == 204)
check("disconnected_token_refused", c7.get(API + "/projects").status_code == 401)
c8, t8, _, _ = connect(pub)
check("before_delete_works", c8.get(API + "/projects").status_code == 200)
check("delete_integration_204", api("DELETE", "/projects/%s/integrations/%s" % (pa, pub["id"])).status_code == 204)
check("deleted_integration_token_refused", c8.get(API + "/projects").status_code == 401)
try:
    client_for(pub).refresh_token(META["token_endpoint"], refresh_token=t8["refresh_token"])
    raise AssertionError("a deleted integration refreshed")
except OAuthError as e:
    check("deleted_integration_cannot_refresh", e.error == "invalid_client", e)

# Events: connected and disconnected went through the outbox, with no secrets.
events = api("GET", "/projects/%s/events?per_page=100" % pa).json()["data"]
types = [e["type"] for e in events]
check("connected_event", "integration.connected" in types, types)
check("disconnected_event", "integration.disconnected" in types, types)
text = json.dumps(events)
check("events_carry_no_secrets", "tng_oat_" not in text and "tng_ort_" not in text and "tng_ocs_" not in text and "tng_oac_" not in text)

# Dynamic registration (RFC 7591) is off by default, then allowed per project.
reg = {"redirect_uris": [REDIRECT], "client_name": "Registered", "token_endpoint_auth_method": "none", "scope": "read"}
r = http.post(BASE + "/oauth/projects/%s/register" % pb, json=reg)
check("registration_off_by_default", r.status_code == 403 and r.json()["error"] == "access_denied", r.text)
r = http.post(META["registration_endpoint"], json=reg)
check("root_registration_needs_a_willing_project", r.status_code == 403 and r.json()["error"] == "access_denied", r.text)
api("PUT", "/projects/%s/client-registration" % pb, json={"enabled": True, "permissions": ["read"]})
r = http.post(BASE + "/oauth/projects/%s/register" % pb, json=dict(reg, scope="read write"))
check("registration_bounded_by_policy", r.status_code == 400 and r.json()["error"] == "invalid_client_metadata", r.text)
r = http.post(BASE + "/oauth/projects/%s/register" % pb, json=dict(reg, redirect_uris=["http://evil.example/cb"]))
check("registration_refuses_bad_redirects", r.status_code == 400 and r.json()["error"] == "invalid_redirect_uri", r.text)
r = http.post(BASE + "/oauth/projects/%s/register" % pb, json=reg)
check("registration_allowed", r.status_code == 201 and r.json()["client_id"].startswith("int_"), r.text)
registered = r.json()
cr, tr, _, _ = connect({"client_id": registered["client_id"]})
check("registered_client_connects_to_its_project", [p["id"] for p in cr.get(API + "/projects").json()["data"]] == [pb])
r = http.post(META["registration_endpoint"], json=reg)
listed = [i["id"] for i in api("GET", "/projects/%s/integrations" % pb).json()["data"]]
check("root_registration_goes_to_the_one_willing_project", r.status_code == 201 and r.json()["client_id"] in listed, r.text)
api("PUT", "/projects/%s/client-registration" % pa, json={"enabled": True})
r = http.post(META["registration_endpoint"], json=reg)
check("root_registration_refused_when_ambiguous", r.status_code == 400 and "/oauth/projects/" in r.json()["error_description"], r.text)
api("PUT", "/projects/%s/client-registration" % pa, json={"enabled": False})

# An expired code (60 s) is refused.
c9 = client_for(conf)
verifier = generate_token(48)
url, state = c9.create_authorization_url(META["authorization_endpoint"], code_verifier=verifier)
back = approve(url)
time.sleep(61)
try:
    c9.fetch_token(META["token_endpoint"], authorization_response=back, code_verifier=verifier, state=state)
    raise AssertionError("an expired code was accepted")
except OAuthError as e:
    check("expired_code_refused", e.error == "invalid_grant", e)

print(json.dumps({"checks": checks}))
