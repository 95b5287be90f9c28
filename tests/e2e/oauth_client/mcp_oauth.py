"""Connects the official MCP Python SDK to Tengine's /mcp with OAuth, for the e2e suite.

Reads {"url": MCP URL, "admin_key", "grant": [permissions] | null, "client": null |
{"client_id", "redirect_uri"}, "call": {"name", "arguments"}} as JSON on stdin. The SDK
starts with no credentials: it gets a 401, discovers the protected resource and the
authorization server, registers itself (or uses the pre-registered `client`), and runs
code + PKCE. The redirect handler plays the person at the consent page: the admin approves
through the console's consent endpoint, granting `grant` (or all that was asked). Then it
lists the project's tools and calls one. Prints {"tools", "call", "scope", "client_id"}.
"""

import asyncio
import json
import sys
from urllib.parse import parse_qs, urlparse

import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata
from mcp.shared.exceptions import MCPError

inp = json.load(sys.stdin)
origin = "{0.scheme}://{0.netloc}".format(urlparse(inp["url"]))


class Memory:
    def __init__(self, client):
        self.tokens = None
        self.client = client

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, info):
        self.client = info


redirect = {}


async def on_redirect(url):
    # The consent page's decision, made by the admin through the console's API.
    query = urlparse(url).query
    body = {"approve": True}
    if inp.get("grant"):
        body["permissions"] = inp["grant"]
    async with httpx2.AsyncClient(timeout=30) as http:
        r = await http.post(
            origin + "/api/v1/oauth/authorization?" + query,
            headers={"Authorization": "Bearer " + inp["admin_key"]},
            json=body,
        )
        r.raise_for_status()
        redirect["to"] = r.json()["redirect_to"]


async def on_callback():
    q = parse_qs(urlparse(redirect["to"]).query)
    return AuthorizationCodeResult(code=q["code"][0], state=q.get("state", [None])[0])


async def main():
    pre = inp.get("client")
    client_info = None
    redirect_uri = "http://127.0.0.1:33418/callback"
    if pre:
        redirect_uri = pre["redirect_uri"]
        client_info = OAuthClientInformationFull(
            client_id=pre["client_id"], redirect_uris=[redirect_uri], token_endpoint_auth_method="none"
        )
    storage = Memory(client_info)
    auth = OAuthClientProvider(
        server_url=inp["url"],
        client_metadata=OAuthClientMetadata(
            client_name="MCP SDK e2e",
            redirect_uris=[redirect_uri],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=on_redirect,
        callback_handler=on_callback,
    )
    out = {}
    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        async with Client(streamable_http_client(inp["url"], http_client=http)) as client:
            listed = await client.list_tools()
            out["tools"] = [t.name for t in listed.tools]
            try:
                r = await client.call_tool(inp["call"]["name"], inp["call"].get("arguments"))
                texts = [c.text for c in r.content if getattr(c, "type", None) == "text"]
                out["call"] = {"is_error": bool(r.is_error), "texts": texts}
            except MCPError as e:
                out["call"] = {"error": {"code": e.error.code, "message": e.error.message, "data": e.error.data}}
    out["scope"] = storage.tokens.scope if storage.tokens else None
    out["access_token_prefix"] = storage.tokens.access_token[:8] if storage.tokens else None
    out["client_id"] = storage.client.client_id if storage.client else None
    print(json.dumps(out))


asyncio.run(main())
