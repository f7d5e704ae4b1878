"""The official OpenAI Python SDK's Responses API against `toolcall-sim serve`
(auto mode): the four clinical tools' function calls, their outputs sent back
(the whole input, and chained with previous_response_id), a final
output_text; streaming; parallel_tool_calls=False; the 400s.

Usage: python openai_responses.py BASE_URL   (exits non-zero on any mismatch)
"""

import json
import sys

import openai

NAMES = [
    "get_patient_demographics",
    "get_active_medications",
    "get_allergies",
    "get_recent_labs",
]
TOOLS = [
    {
        "type": "function",
        "name": name,
        "description": f"{name.replace('_', ' ')} of a patient.",
        "parameters": {
            "type": "object",
            "properties": {
                "patient_id": {"type": "string", "description": "Patient ID (format: P-NNNNN)"}
            },
            "required": ["patient_id"],
            "additionalProperties": False,
        },
        "strict": True,
    }
    for name in NAMES
]
MODEL = "gpt-4o-mini"
INSTRUCTIONS = "You are a clinical assistant."
QUESTION = "Summarise patient P-00042."


def calls_of(response):
    return [item for item in response.output if item.type == "function_call"]


def outputs_for(calls):
    return [
        {
            "type": "function_call_output",
            "call_id": call.call_id,
            "output": json.dumps({"tool": call.name, "args": json.loads(call.arguments)}),
        }
        for call in calls
    ]


def check_final(response, names):
    assert response.status == "completed", response.status
    assert not calls_of(response), response.output
    text = response.output_text
    assert text.startswith("Here is what the tools returned:"), text
    for name in names:
        assert f"- {name}: " in text, (name, text)
    assert response.usage.output_tokens > 0 and response.usage.total_tokens > 0


def check_calls(response):
    calls = calls_of(response)
    assert [c.name for c in calls] == NAMES, [c.name for c in calls]
    for call in calls:
        assert call.call_id.startswith("call_"), call.call_id
        assert isinstance(json.loads(call.arguments)["patient_id"], str), call.arguments
        assert call.status == "completed"
    assert len({c.call_id for c in calls}) == len(calls)
    return calls


def whole_input(client):
    items = [{"role": "user", "content": QUESTION}]
    first = client.responses.create(
        model=MODEL, instructions=INSTRUCTIONS, input=items, tools=TOOLS
    )
    assert first.object == "response" and first.id.startswith("resp_"), first.id
    assert first.status == "completed"
    assert first.instructions == INSTRUCTIONS
    assert [t.name for t in first.tools] == NAMES
    calls = check_calls(first)
    items += first.output
    items += outputs_for(calls)
    final = client.responses.create(
        model=MODEL, instructions=INSTRUCTIONS, input=items, tools=TOOLS
    )
    check_final(final, NAMES)
    assert final.previous_response_id is None
    # The server keeps responses: retrieve returns the same one.
    kept = client.responses.retrieve(first.id)
    assert kept.id == first.id and [c.call_id for c in calls_of(kept)] == [
        c.call_id for c in calls
    ]


def chained(client):
    first = client.responses.create(model=MODEL, input=QUESTION, tools=TOOLS)
    calls = check_calls(first)
    final = client.responses.create(
        model=MODEL,
        previous_response_id=first.id,
        input=outputs_for(calls),
        tools=TOOLS,
    )
    check_final(final, NAMES)
    assert final.previous_response_id == first.id


def streamed(client):
    with client.responses.stream(model=MODEL, input=QUESTION, tools=TOOLS) as stream:
        events = list(stream)
        first = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"], kinds[:2]
    assert kinds[-1] == "response.completed", kinds[-1]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert kinds.count("response.output_item.added") == 4
    assert kinds.count("response.function_call_arguments.done") == 4
    assert kinds.count("response.output_item.done") == 4
    # Each call: added, its deltas, done, item done, before the next call starts.
    for index in range(4):
        mine = [e.type for e in events if getattr(e, "output_index", None) == index]
        assert mine[0] == "response.output_item.added", mine
        assert mine[-2:] == [
            "response.function_call_arguments.done",
            "response.output_item.done",
        ], mine
        assert set(mine[1:-2]) == {"response.function_call_arguments.delta"}, mine
    deltas = {}
    for e in events:
        if e.type == "response.function_call_arguments.delta":
            deltas[e.output_index] = deltas.get(e.output_index, "") + e.delta
    calls = check_calls(first)
    assert [deltas[i] for i in range(4)] == [c.arguments for c in calls]

    with client.responses.stream(
        model=MODEL, previous_response_id=first.id, input=outputs_for(calls), tools=TOOLS
    ) as stream:
        text = "".join(
            e.delta for e in stream if e.type == "response.output_text.delta"
        )
        final = stream.get_final_response()
    check_final(final, NAMES)
    assert text == final.output_text, (text, final.output_text)


def one_call_a_turn(client):
    response = client.responses.create(
        model=MODEL, input=QUESTION, tools=TOOLS, parallel_tool_calls=False
    )
    assert response.parallel_tool_calls is False
    called = []
    while calls_of(response):
        calls = calls_of(response)
        assert len(calls) == 1, [c.name for c in calls]
        called.append(calls[0].name)
        response = client.responses.create(
            model=MODEL,
            previous_response_id=response.id,
            input=outputs_for(calls),
            tools=TOOLS,
            parallel_tool_calls=False,
        )
    assert called == NAMES, called
    assert response.output_text.startswith("Here is what the tools returned:")


def errors(client):
    stray = [
        {"role": "user", "content": QUESTION},
        {"type": "function_call_output", "call_id": "call_never_issued", "output": "{}"},
    ]
    try:
        client.responses.create(model=MODEL, input=stray, tools=TOOLS)
        raise AssertionError("a stray output was accepted")
    except openai.BadRequestError as error:
        assert error.status_code == 400
        assert (
            error.body["message"]
            == "No tool call found for function call output with call_id call_never_issued."
        ), error.body
        assert error.body["type"] == "invalid_request_error" and error.body["param"] == "input"

    first = client.responses.create(model=MODEL, input=QUESTION, tools=TOOLS)
    try:
        client.responses.create(
            model=MODEL, previous_response_id=first.id, input="and then?", tools=TOOLS
        )
        raise AssertionError("a turn without its outputs was accepted")
    except openai.BadRequestError as error:
        assert error.body["message"].startswith("No tool output found for function call call_"), error.body

    try:
        client.responses.create(model=MODEL, previous_response_id="resp_unknown", input="hi")
        raise AssertionError("an unknown previous_response_id was accepted")
    except openai.BadRequestError as error:
        assert error.code == "previous_response_not_found", error.body
        assert error.body["param"] == "previous_response_id"

    try:
        client.responses.retrieve("resp_unknown")
        raise AssertionError("an unknown response was found")
    except openai.NotFoundError as error:
        assert error.status_code == 404


def cut_short(client):
    """max_output_tokens: the SDK reads an incomplete response, whole and streamed."""
    long = "Tell me everything you know about the weather in Paris, Oslo, Lima and Cairo today, please."
    whole = client.responses.create(model=MODEL, input=long)
    assert whole.status == "completed" and whole.incomplete_details is None, whole
    cut = client.responses.create(model=MODEL, input=long, max_output_tokens=16)
    assert cut.status == "incomplete", cut
    assert cut.incomplete_details.reason == "max_output_tokens", cut
    assert cut.usage.output_tokens == 16, cut.usage
    assert whole.output_text.startswith(cut.output_text) and len(cut.output_text) < len(whole.output_text)
    with client.responses.stream(model=MODEL, input=long, max_output_tokens=16) as stream:
        events = list(stream)
    assert events[-1].type == "response.incomplete", events[-1].type
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    assert events[-1].response.output_text == cut.output_text
    try:
        client.responses.create(model=MODEL, input=long, max_output_tokens=15)
        raise AssertionError("max_output_tokens below 16 was accepted")
    except openai.BadRequestError as error:
        assert error.code == "below_min_value" and error.body["param"] == "max_output_tokens", error.body


def main():
    client = openai.OpenAI(base_url=sys.argv[1], api_key="sk-sim", max_retries=0)
    for check in (whole_input, chained, streamed, one_call_a_turn, errors, cut_short):
        check(client)
        print(f"ok {check.__name__}")


if __name__ == "__main__":
    main()
