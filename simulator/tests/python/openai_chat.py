"""The official OpenAI Python SDK's Chat Completions against `toolcall-sim
serve` (auto mode): `parse(response_format=...)` with a Pydantic model, the
`developer` role, max_completion_tokens, a forced tool_choice, streamed
calls and text (the SDK's stream helper assembling chunks), the 400s it
raises for bad parameters, CORS and x-ratelimit headers.

Usage: python openai_chat.py BASE_URL   (exits non-zero on any mismatch)
"""

import json
import sys
import time
from typing import Literal

import openai
import pydantic

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
CLOCK = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The time in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "utc": {"type": "boolean"}},
            "required": ["city", "utc"],
        },
    },
}
MODEL = "gpt-4o-mini"


class Forecast(pydantic.BaseModel):
    city: str
    celsius: float
    sky: Literal["sunny", "cloudy", "rain"]
    hours: list[int]


def check(name, condition, detail=""):
    if not condition:
        print(f"FAILED {name}: {detail}")
        sys.exit(1)


def main():
    client = openai.OpenAI(base_url=sys.argv[1], api_key="sk-sim", max_retries=0)

    parsed = client.chat.completions.parse(
        model=MODEL,
        messages=[
            {"role": "developer", "content": "Answer in the schema."},
            {"role": "user", "content": "Forecast for Paris?"},
        ],
        response_format=Forecast,
    )
    forecast = parsed.choices[0].message.parsed
    check("parsed", isinstance(forecast, Forecast), parsed)
    check("created", abs(parsed.created - time.time()) < 60, parsed.created)
    print("ok parsed")

    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    completion = raw.parse()
    check("forced", completion.choices[0].finish_reason == "stop", completion)
    check("forced call", completion.choices[0].message.tool_calls[0].function.name == "get_weather")
    check("ratelimit", raw.headers.get("x-ratelimit-remaining-requests") is not None, raw.headers)
    check("cors", raw.headers.get("access-control-allow-origin") == "*", raw.headers)
    print("ok forced")

    cut = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER],
        max_completion_tokens=1,
    )
    check("length", cut.choices[0].finish_reason == "length", cut)
    print("ok length")

    # Streamed: the SDK assembles both calls from their fragments, and the
    # usage chunk; then the answer's text, with quotes, backslashes and
    # newlines from the tool results, from its fragments.
    question = {"role": "user", "content": "Weather and time in Oslo?"}
    with client.chat.completions.stream(
        model=MODEL,
        messages=[question],
        tools=[WEATHER, CLOCK],
        stream_options={"include_usage": True},
    ) as stream:
        kinds = {event.type for event in stream}
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    check("streamed calls", [c.function.name for c in calls] == ["get_weather", "get_time"], final)
    for call in calls:
        arguments = json.loads(call.function.arguments)
        check("streamed arguments", isinstance(arguments.get("city"), str), call)
    check("streamed finish", final.choices[0].finish_reason == "tool_calls", final)
    check("streamed usage", final.usage is not None and final.usage.completion_tokens > 0, final)
    check("argument deltas", "tool_calls.function.arguments.delta" in kinds, kinds)
    results = {"get_weather": '{"sky": "clear \\"ish\\"", "path": "C:\\\\x"}', "get_time": "12:00\n(UTC)"}
    assistant = {
        "role": "assistant",
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
            for c in calls
        ],
    }
    answers = [{"role": "tool", "tool_call_id": c.id, "content": results[c.function.name]} for c in calls]
    chunks = client.chat.completions.create(
        model=MODEL, messages=[question, assistant, *answers], tools=[WEATHER, CLOCK], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    for name, content in results.items():
        check("streamed text", f"- {name}: {content}" in text, (text, content))
    print("ok streamed")

    bad = [
        ({"tool_choice": {"type": "function", "function": {"name": "nope"}}, "tools": [WEATHER]}, "tool_choice"),
        ({"extra_body": {"stream": "yes"}}, "stream"),
        ({"temperature": "hot"}, "temperature"),
        ({"messages": []}, "messages"),
    ]
    for extra, param in bad:
        arguments = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **extra}
        try:
            client.chat.completions.create(**arguments)
        except openai.BadRequestError as error:
            check(param, error.body.get("param") == param, error.body)
        else:
            check(param, False, "no 400")
    print("ok errors")
    print("all checks passed")


main()
