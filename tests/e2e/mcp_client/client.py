"""Drives Tengine's /mcp with the official MCP Python SDK, for the e2e suite.

Reads {"url", "headers", "steps": [{"op": "list"} | {"op": "call", "name", "arguments", "meta"?}]}
as JSON on stdin, runs the steps in one MCP session and prints one JSON object:
{"steps": [...]} with, per step, the tools listed, the tool result, or the MCP error.
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


def error_of(e):
    return {"error": {"code": e.error.code, "message": e.error.message, "data": e.error.data}}


async def step(client, s):
    try:
        if s["op"] == "list":
            listed = await client.list_tools()
            return {"tools": [{"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in listed.tools]}
        if s["op"] == "call":
            r = await client.call_tool(s["name"], s.get("arguments"), meta=s.get("meta"))
            texts = [c.text for c in r.content if getattr(c, "type", None) == "text"]
            return {"is_error": bool(r.is_error), "texts": texts, "structured": r.structured_content}
        raise ValueError("unknown op %r" % (s["op"],))
    except MCPError as e:
        return error_of(e)


async def main():
    inp = json.load(sys.stdin)
    http = httpx2.AsyncClient(headers=inp.get("headers") or {}, timeout=30)
    async with http:
        transport = streamable_http_client(inp["url"], http_client=http)
        async with Client(transport, mode=inp.get("mode", "auto")) as client:
            results = [await step(client, s) for s in inp["steps"]]
            print(json.dumps({"protocol_version": client.protocol_version, "steps": results}))


asyncio.run(main())
