"""The official Google Gen AI Python SDK (`google-genai`) against `toolcall-sim serve`.

Usage: python gemini_generate.py ROOT_URL API_KEY

Every check is an assert: a mismatch exits non-zero with the reason.
The server runs in auto mode with `--gemini no-ids,signatures`: calls come
without ids (answered by name and position) and the first call of each reply
carries a thought signature that must come back on its part. It calls every
offered tool at once, then answers from the results.
"""

import sys

from google import genai
from google.genai import errors, types

ROOT, KEY = sys.argv[1], sys.argv[2]
MODEL = "gemini-2.5-flash"
PATIENT = {
    "type": "object",
    "properties": {"patient_id": {"type": "string", "description": "Patient ID (format: P-NNNNN)"}},
    "required": ["patient_id"],
}
NAMES = ["get_patient_demographics", "get_active_medications", "get_allergies", "get_recent_labs"]
# `parameters_json_schema`: the SDK writes it in snake case inside the
# declaration, which the server reads as the API does.
TOOL = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(name=n, description=f"{n} of a patient", parameters_json_schema=PATIENT)
        for n in NAMES
    ]
)
QUESTION = types.Content(role="user", parts=[types.Part.from_text(text="Summarise patient P-00001")])


def client(version=None):
    options = types.HttpOptions(base_url=ROOT, api_version=version) if version else types.HttpOptions(base_url=ROOT)
    return genai.Client(api_key=KEY, http_options=options)


def config(**tool_config):
    if tool_config:
        return types.GenerateContentConfig(
            tools=[TOOL], tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(**tool_config))
        )
    return types.GenerateContentConfig(tools=[TOOL])


def check_calls(calls):
    assert [c.name for c in calls] == NAMES, [c.name for c in calls]
    for call in calls:
        assert call.id is None, call.id
        assert isinstance(call.args, dict) and isinstance(call.args["patient_id"], str), call.args


def answer_all(model_content):
    """The model turn and ONE user content with every result, in call order."""
    calls = [p.function_call for p in model_content.parts if p.function_call]
    results = [
        types.Part.from_function_response(name=c.name, response={"output": f"{c.name}: ok for {c.args['patient_id']}"})
        for c in calls
    ]
    return [model_content, types.Content(role="user", parts=results)]


def check_final(response):
    assert not response.function_calls, response.function_calls
    assert response.candidates[0].finish_reason == types.FinishReason.STOP, response.candidates[0].finish_reason
    assert response.text and response.text.strip(), response


# generate_content (the SDK's default version, /v1): four calls in one turn,
# answered in one content, then text.
sdk = client()
first = sdk.models.generate_content(model=MODEL, contents=[QUESTION], config=config())
check_calls(first.function_calls)
assert first.candidates[0].finish_reason == types.FinishReason.STOP, first.candidates[0].finish_reason
parts = first.candidates[0].content.parts
assert parts[0].thought_signature, parts[0]
assert all(p.thought_signature is None for p in parts[1:]), parts
assert first.usage_metadata.prompt_token_count > 0 and first.usage_metadata.candidates_token_count > 0
final = sdk.models.generate_content(model=MODEL, contents=[QUESTION, *answer_all(first.candidates[0].content)], config=config())
check_final(final)

# A model turn without its signature: 400 INVALID_ARGUMENT.
unsigned = first.candidates[0].content.model_copy(deep=True)
unsigned.parts[0].thought_signature = None
try:
    sdk.models.generate_content(model=MODEL, contents=[QUESTION, *answer_all(unsigned)], config=config())
    raise AssertionError("a call turn without its thought signature was accepted")
except errors.ClientError as error:
    assert error.code == 400 and error.status == "INVALID_ARGUMENT", (error.code, error.status)
    assert "thought_signature" in error.message, error.message

# generate_content_stream (/v1beta): the calls split over chunks, one each.
beta = client("v1beta")
chunks = list(beta.models.generate_content_stream(model=MODEL, contents=[QUESTION], config=config()))
with_calls = [c for c in chunks if c.function_calls]
assert len(with_calls) == len(NAMES), [len(c.function_calls) for c in with_calls]
calls = [call for chunk in with_calls for call in chunk.function_calls]
check_calls(calls)
assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP, chunks[-1]
streamed_parts = [p for c in chunks for p in c.candidates[0].content.parts if p.function_call]
model_turn = types.Content(role="model", parts=streamed_parts)
text = "".join(
    c.text or ""
    for c in beta.models.generate_content_stream(model=MODEL, contents=[QUESTION, *answer_all(model_turn)], config=config())
)
assert "get_recent_labs" in text, text

# Mode NONE: text only.
none = sdk.models.generate_content(model=MODEL, contents=[QUESTION], config=config(mode="NONE"))
assert not none.function_calls and none.text, none

# Mode ANY with one allowed name: that one only.
one = sdk.models.generate_content(
    model=MODEL, contents=[QUESTION], config=config(mode="ANY", allowed_function_names=["get_allergies"])
)
assert [c.name for c in one.function_calls] == ["get_allergies"], one.function_calls

# Function responses without their call turn: ClientError 400 INVALID_ARGUMENT.
stray = types.Content(
    role="user", parts=[types.Part.from_function_response(name="get_allergies", response={"output": "none"})]
)
try:
    sdk.models.generate_content(model=MODEL, contents=[QUESTION, stray], config=config())
    raise AssertionError("function responses without a call turn were accepted")
except errors.ClientError as error:
    assert error.code == 400 and error.status == "INVALID_ARGUMENT", (error.code, error.status)
    assert "immediately after a function call turn" in error.message, error.message

# A wrong key: 400 INVALID_ARGUMENT, as the real API answers.
wrong = genai.Client(api_key="wrong", http_options=types.HttpOptions(base_url=ROOT))
try:
    wrong.models.generate_content(model=MODEL, contents=[QUESTION])
    raise AssertionError("a wrong key was accepted")
except errors.ClientError as error:
    assert error.code == 400 and "API key not valid" in error.message, (error.code, error.message)

print("google-genai sdk: all checks passed")
