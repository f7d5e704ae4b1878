"""The official MCP Python SDK as a client of toolcall's MCP server.

usage: mcp_client.py COMMAND [ARG...]
       mcp_client.py --url URL

Starts COMMAND as the MCP server over stdio (its environment comes from
this process: the Rust test sets the database and the serve flag), or
connects to the streamable HTTP endpoint URL (in the tests, a round-robin
proxy in front of two stateless instances: every request may land on the
other one), then: initialize, list
the four clinical tools (valid input schemas), call each (text content, and
structuredContent valid against outputSchema), a wrong argument type comes
back as isError, an unknown tool as an error, and four concurrent calls
overlap (their total is well under the sum of the same calls one by one).
Exits non-zero on any mismatch.
"""

import json
import os
import sys
import time

import anyio
import jsonschema
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

FOUR = [
    "get_patient_demographics",
    "get_active_medications",
    "get_allergies",
    "get_recent_labs",
]
PATIENT = {"patient_id": "P-00001"}


def text_of(result):
    assert result.content, f"no content: {result}"
    first = result.content[0]
    assert first.type == "text", f"not a text block: {first}"
    return first.text


async def timed_call(session, name, arguments):
    start = time.perf_counter()
    result = await session.call_tool(name, arguments)
    return result, time.perf_counter() - start


async def main(command, args):
    if command == "--url":
        async with streamable_http_client(args[0]) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await check(session)
        return
    server = StdioServerParameters(command=command, args=args, env=dict(os.environ))
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            await check(session)


async def check(session):
    init = await session.initialize()
    assert init.server_info.name == "patient-summary", init.server_info
    assert init.capabilities.tools is not None, init.capabilities

    listed = await session.list_tools()
    names = [tool.name for tool in listed.tools]
    assert names == FOUR, names
    schemas = {}
    for tool in listed.tools:
        assert tool.description, f"{tool.name}: no description"
        schema = tool.input_schema
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object", schema
        assert schema["required"] == ["patient_id"], schema
        assert tool.output_schema is not None, f"{tool.name}: no outputSchema"
        jsonschema.Draft202012Validator.check_schema(tool.output_schema)
        assert tool.output_schema["type"] == "object", tool.output_schema
        schemas[tool.name] = tool.output_schema

    # Each tool once, one after another: the sum to beat.
    alone = 0.0
    for name in FOUR:
        result, took = await timed_call(session, name, PATIENT)
        alone += took
        assert not result.is_error, f"{name}: {result}"
        value = json.loads(text_of(result))
        structured = result.structured_content
        assert structured is not None, f"{name}: no structuredContent"
        jsonschema.validate(structured, schemas[name])
        # A list travels wrapped as {"result": [...]}; the text is the value.
        if list(structured) == ["result"]:
            assert value == structured["result"], (name, value, structured)
        else:
            assert value == structured, (name, value, structured)
    demographics = await session.call_tool(FOUR[0], PATIENT)
    assert demographics.structured_content["patient_id"] == "P-00001"
    labs = await session.call_tool(FOUR[3], {"patient_id": "P-00001", "limit": 2})
    assert len(labs.structured_content["result"]) == 2, labs.structured_content

    # A wrong argument type is a result the model can read.
    bad = await session.call_tool(FOUR[2], {"patient_id": 12345})
    assert bad.is_error, bad
    assert "invalid arguments" in text_of(bad), text_of(bad)

    # An unknown tool is a protocol error.
    try:
        await session.call_tool("get_weather", {})
    except MCPError as error:
        assert error.error.code == -32602, error.error
    else:
        raise AssertionError("an unknown tool did not fail")

    # The four at once: they overlap on the server.
    results = {}
    start = time.perf_counter()
    async with anyio.create_task_group() as group:
        for name in FOUR:

            async def one(name=name):
                results[name] = await session.call_tool(name, PATIENT)

            group.start_soon(one)
    together = time.perf_counter() - start
    assert sorted(results) == sorted(FOUR), results
    assert all(not r.is_error for r in results.values()), results
    assert together < 0.6 * alone, (
        f"four concurrent calls took {together:.3f}s, "
        f"one by one {alone:.3f}s: they did not overlap"
    )
    print(f"ok: one by one {alone * 1000:.0f} ms, together {together * 1000:.0f} ms")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    anyio.run(main, sys.argv[1], sys.argv[2:])
