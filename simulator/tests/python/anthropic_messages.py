"""The official Anthropic Python SDK against `toolcall-sim serve`.

Usage: python anthropic_messages.py ROOT_URL API_KEY

Every check is an assert: a mismatch exits non-zero with the reason.
The server runs in auto mode: it calls every offered tool at once, then
answers from the results.
"""

import sys

import anthropic

ROOT, KEY = sys.argv[1], sys.argv[2]
MODEL = "claude-sonnet-5-5"
PATIENT = {
    "type": "object",
    "properties": {"patient_id": {"type": "string", "description": "Patient ID (format: P-NNNNN)"}},
    "required": ["patient_id"],
    "additionalProperties": False,
}
NAMES = ["get_patient_demographics", "get_active_medications", "get_allergies", "get_recent_labs"]
TOOLS = [{"name": n, "description": f"{n} of a patient", "input_schema": PATIENT} for n in NAMES]
QUESTION = {"role": "user", "content": "Summarise patient P-00001"}

client = anthropic.Anthropic(base_url=ROOT, api_key=KEY, max_retries=0)


def tool_uses(message):
    return [block for block in message.content if block.type == "tool_use"]


def answer_all(message):
    """The assistant turn and ONE user message with every result, in call order."""
    results = [
        {"type": "tool_result", "tool_use_id": use.id, "content": f"{use.name}: ok for {use.input['patient_id']}"}
        for use in tool_uses(message)
    ]
    return [{"role": "assistant", "content": message.content}, {"role": "user", "content": results}]


def check_calls(message):
    assert message.type == "message" and message.role == "assistant", message
    assert message.id.startswith("msg_"), message.id
    assert message.stop_reason == "tool_use", message.stop_reason
    uses = tool_uses(message)
    assert [u.name for u in uses] == NAMES, [u.name for u in uses]
    for use in uses:
        assert use.id.startswith("toolu_"), use.id
        assert isinstance(use.input, dict) and isinstance(use.input["patient_id"], str), use.input
    assert len({u.id for u in uses}) == 4
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0, message.usage


def check_final(message):
    assert message.stop_reason == "end_turn", message.stop_reason
    assert not tool_uses(message)
    text = "".join(block.text for block in message.content if block.type == "text")
    assert text.strip(), message.content


# messages.create: four calls in one turn, answered in one message, then text.
first = client.messages.create(model=MODEL, max_tokens=1024, tools=TOOLS, messages=[QUESTION])
check_calls(first)
final = client.messages.create(model=MODEL, max_tokens=1024, tools=TOOLS, messages=[QUESTION, *answer_all(first)])
check_final(final)

# messages.stream: the SDK's helper assembles each call's input from the
# input_json_delta fragments.
with client.messages.stream(model=MODEL, max_tokens=1024, tools=TOOLS, messages=[QUESTION]) as stream:
    kinds = [event.type for event in stream]
    streamed = stream.get_final_message()
check_calls(streamed)
for kind in ["message_start", "content_block_start", "input_json", "content_block_stop", "message_delta", "message_stop"]:
    assert kind in kinds, (kind, kinds)
with client.messages.stream(
    model=MODEL, max_tokens=1024, tools=TOOLS, messages=[QUESTION, *answer_all(streamed)]
) as stream:
    text = "".join(stream.text_stream)
    streamed_final = stream.get_final_message()
check_final(streamed_final)
assert text == streamed_final.content[0].text, (text, streamed_final.content)

# disable_parallel_tool_use: one call a turn, every tool in turn, then text.
messages = [QUESTION]
called = []
for _ in range(len(NAMES) + 1):
    reply = client.messages.create(
        model=MODEL,
        max_tokens=1024,
        tools=TOOLS,
        tool_choice={"type": "auto", "disable_parallel_tool_use": True},
        messages=messages,
    )
    uses = tool_uses(reply)
    if not uses:
        check_final(reply)
        break
    assert len(uses) == 1, [u.name for u in uses]
    called.append(uses[0].name)
    messages += answer_all(reply)
assert called == NAMES, called

# A tool_result that answers no tool_use: 400, raised as BadRequestError.
stray = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_nope", "content": "x"}]}
try:
    client.messages.create(model=MODEL, max_tokens=1024, tools=TOOLS, messages=[QUESTION, {"role": "assistant", "content": "ok"}, stray])
    raise AssertionError("a stray tool_result was accepted")
except anthropic.BadRequestError as error:
    assert error.status_code == 400, error.status_code
    assert error.body["type"] == "error" and error.body["error"]["type"] == "invalid_request_error", error.body
    assert "toolu_nope" in error.body["error"]["message"], error.body

# Results split over two messages: the first leaves calls unanswered.
turn = answer_all(first)
split = [
    turn[0],
    {"role": "user", "content": turn[1]["content"][:2]},
    {"role": "assistant", "content": "more"},
    {"role": "user", "content": turn[1]["content"][2:]},
]
try:
    client.messages.create(model=MODEL, max_tokens=1024, tools=TOOLS, messages=[QUESTION, *split])
    raise AssertionError("results split over two messages were accepted")
except anthropic.BadRequestError as error:
    assert "without `tool_result` blocks immediately after" in error.body["error"]["message"], error.body

# A wrong key: 401, raised as AuthenticationError.
try:
    anthropic.Anthropic(base_url=ROOT, api_key="sk-wrong", max_retries=0).messages.create(
        model=MODEL, max_tokens=16, messages=[QUESTION]
    )
    raise AssertionError("a wrong key was accepted")
except anthropic.AuthenticationError as error:
    assert error.body["error"]["type"] == "authentication_error", error.body

print("anthropic sdk: all checks passed")
