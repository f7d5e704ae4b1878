"""The official Anthropic Python SDK's own agent loop against `toolcall-sim serve`.

Usage: python anthropic_tool_runner.py ROOT_URL API_KEY

`client.beta.messages.tool_runner` keeps the conversation on the server (the
`message-threads` beta): its second request is a `thread` `continue` that
carries only the tool results. The server runs in auto mode: it calls both
tools at once, then answers from their results. Every check is an assert.
"""

import sys

import anthropic
from anthropic import beta_tool

ROOT, KEY = sys.argv[1], sys.argv[2]
CALLED = []


@beta_tool
def get_weather(city: str) -> str:
    """The current weather in a city.

    Args:
        city: The city's name.
    """
    CALLED.append(("get_weather", city))
    return f"sunny in {city}"


@beta_tool
def get_time(city: str) -> str:
    """The local time in a city.

    Args:
        city: The city's name.
    """
    CALLED.append(("get_time", city))
    return f"noon in {city}"


client = anthropic.Anthropic(base_url=ROOT, api_key=KEY, max_retries=0)
runner = client.beta.messages.tool_runner(
    model="claude-sonnet-5-5",
    max_tokens=1024,
    tools=[get_weather, get_time],
    messages=[{"role": "user", "content": "Weather and time in Oslo?"}],
)
messages = list(runner)
assert len(messages) == 2, messages
first, last = messages
assert first.stop_reason == "tool_use", first
assert sorted(b.name for b in first.content if b.type == "tool_use") == ["get_time", "get_weather"], first.content
assert sorted(name for name, _ in CALLED) == ["get_time", "get_weather"], CALLED
assert last.stop_reason == "end_turn", last
assert not [b for b in last.content if b.type == "tool_use"], last.content
text = "".join(b.text for b in last.content if b.type == "text")
assert text.strip(), last.content
# The runner continued the thread: the server held the first turn.
assert runner._thread.previous_message_id == last.id, (runner._thread.previous_message_id, last.id)
print("all checks passed")
