"""Images and PDFs through the official SDKs against `toolcall-sim serve`.

Usage: python media_inputs.py ROOT_URL API_KEY

Every format takes its own image and document shapes (in a user turn and in
a tool result where it has them) with a 200, counts them in usage with the
simulator's documented estimate (85 tokens an image, 258 a PDF page), and
refuses a malformed part with its own error. The server runs in auto mode.
Every check is an assert: a mismatch exits non-zero with the reason.
"""

import base64
import sys

import anthropic
import openai
from google import genai
from google.genai import errors, types

ROOT, KEY = sys.argv[1], sys.argv[2]
IMAGE_TOKENS, PAGE_TOKENS = 85, 258
PNG_BYTES = bytes.fromhex("89504e470d0a1a0a0000000d49484452")
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >> endobj\n"
    b"2 0 obj << /Type /Page /Parent 1 0 R >> endobj\n"
    b"3 0 obj << /Type/Page /Parent 1 0 R >> endobj\n%%EOF\n"
)
PNG = base64.b64encode(PNG_BYTES).decode()
PDF = base64.b64encode(PDF_BYTES).decode()
# One image and a two-page PDF.
MEDIA_TOKENS = IMAGE_TOKENS + 2 * PAGE_TOKENS
QUESTION = "Describe these."
PATIENT = {
    "type": "object",
    "properties": {"patient_id": {"type": "string"}},
    "required": ["patient_id"],
    "additionalProperties": False,
}


def refused(send, error_type, check):
    try:
        send()
    except error_type as error:
        check(error)
        return
    raise AssertionError("a malformed part was accepted")


def chat(client):
    def ask(content):
        return client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": content}])

    plain = ask([{"type": "text", "text": QUESTION}])
    media = ask(
        [
            {"type": "text", "text": QUESTION},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "low"}},
            {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF}", "filename": "r.pdf"}},
        ]
    )
    assert media.choices[0].message.content, media
    assert media.usage.prompt_tokens - plain.usage.prompt_tokens == MEDIA_TOKENS, (media.usage, plain.usage)
    linked = ask([{"type": "text", "text": QUESTION}, {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}])
    assert linked.usage.prompt_tokens - plain.usage.prompt_tokens == IMAGE_TOKENS, linked.usage

    def bad_type(error):
        assert error.status_code == 400 and error.body["type"] == "invalid_request_error", error.body

    refused(lambda: ask([{"type": "image_url", "image_url": {}}]), openai.BadRequestError, bad_type)
    refused(lambda: ask([{"type": "picture", "url": "x"}]), openai.BadRequestError, bad_type)
    # A Chat tool message takes text parts only.
    tools = [{"type": "function", "function": {"name": "chart", "description": "A chart", "parameters": PATIENT}}]
    first = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "chart P-1"}], tools=tools
    )
    call = first.choices[0].message.tool_calls[0]
    image_result = [
        {"role": "user", "content": "chart P-1"},
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
    ]
    refused(
        lambda: client.chat.completions.create(model="gpt-4o-mini", messages=image_result, tools=tools),
        openai.BadRequestError,
        bad_type,
    )


def responses(client):
    def ask(content, **extra):
        return client.responses.create(model="gpt-4o-mini", input=[{"role": "user", "content": content}], **extra)

    plain = ask([{"type": "input_text", "text": QUESTION}])
    media = ask(
        [
            {"type": "input_text", "text": QUESTION},
            {"type": "input_image", "detail": "auto", "image_url": f"data:image/png;base64,{PNG}"},
            {"type": "input_file", "filename": "r.pdf", "file_data": f"data:application/pdf;base64,{PDF}"},
        ]
    )
    assert media.output_text, media
    assert media.usage.input_tokens - plain.usage.input_tokens == MEDIA_TOKENS, (media.usage, plain.usage)
    linked = ask(
        [
            {"type": "input_text", "text": QUESTION},
            {"type": "input_file", "file_url": "https://example.com/r.pdf"},
        ]
    )
    assert linked.usage.input_tokens - plain.usage.input_tokens == PAGE_TOKENS, linked.usage
    # A function_call_output in its array form, with an image.
    tools = [{"type": "function", "name": "chart", "description": "A chart", "parameters": PATIENT, "strict": True}]
    first = client.responses.create(model="gpt-4o-mini", input="chart P-1", tools=tools)
    call = next(item for item in first.output if item.type == "function_call")
    answered = client.responses.create(
        model="gpt-4o-mini",
        previous_response_id=first.id,
        tools=tools,
        input=[
            {
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": [
                    {"type": "input_text", "text": "the chart"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
                ],
            }
        ],
    )
    assert answered.status == "completed" and answered.output_text, answered

    def bad(error):
        assert error.status_code == 400 and error.body["type"] == "invalid_request_error", error.body

    refused(lambda: ask([{"type": "input_image", "detail": "auto"}]), openai.BadRequestError, bad)
    refused(lambda: ask([{"type": "input_file", "file_data": "not base64!"}]), openai.BadRequestError, bad)


def messages(client):
    def ask(content):
        return client.messages.create(
            model="claude-sonnet-5-5", max_tokens=512, messages=[{"role": "user", "content": content}]
        )

    plain = ask([{"type": "text", "text": QUESTION}])
    media = ask(
        [
            {"type": "text", "text": QUESTION},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
        ]
    )
    assert media.stop_reason == "end_turn", media
    assert media.usage.input_tokens - plain.usage.input_tokens == MEDIA_TOKENS, (media.usage, plain.usage)
    linked = ask(
        [
            {"type": "text", "text": QUESTION},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
            {"type": "document", "source": {"type": "url", "url": "https://example.com/r.pdf"}},
        ]
    )
    assert linked.usage.input_tokens - plain.usage.input_tokens == IMAGE_TOKENS + PAGE_TOKENS, linked.usage
    # A tool_result with image and document blocks.
    tools = [{"name": "chart", "description": "A chart", "input_schema": PATIENT}]
    question = {"role": "user", "content": "chart P-1"}
    first = client.messages.create(model="claude-sonnet-5-5", max_tokens=512, messages=[question], tools=tools)
    use = next(block for block in first.content if block.type == "tool_use")
    result = {
        "type": "tool_result",
        "tool_use_id": use.id,
        "content": [
            {"type": "text", "text": "the chart"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        ],
    }
    answered = client.messages.create(
        model="claude-sonnet-5-5",
        max_tokens=512,
        tools=tools,
        messages=[question, {"role": "assistant", "content": first.content}, {"role": "user", "content": [result]}],
    )
    assert answered.stop_reason == "end_turn", answered

    def bad(error):
        assert error.status_code == 400 and error.body["error"]["type"] == "invalid_request_error", error.body

    tiff = {"type": "image", "source": {"type": "base64", "media_type": "image/tiff", "data": PNG}}
    refused(lambda: ask([tiff]), anthropic.BadRequestError, bad)
    refused(lambda: ask([{"type": "document", "source": {"type": "base64", "data": PDF}}]), anthropic.BadRequestError, bad)


def gemini():
    client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=ROOT))

    def ask(parts):
        return client.models.generate_content(model="gemini-2.5-flash", contents=[types.Content(role="user", parts=parts)])

    plain = ask([types.Part.from_text(text=QUESTION)])
    media = ask(
        [
            types.Part.from_text(text=QUESTION),
            types.Part.from_bytes(data=PNG_BYTES, mime_type="image/png"),
            types.Part.from_bytes(data=PDF_BYTES, mime_type="application/pdf"),
        ]
    )
    assert media.text, media
    counted = media.usage_metadata.prompt_token_count - plain.usage_metadata.prompt_token_count
    assert counted == MEDIA_TOKENS, (media.usage_metadata, plain.usage_metadata)
    linked = ask(
        [
            types.Part.from_text(text=QUESTION),
            types.Part.from_uri(file_uri="https://example.com/a.png", mime_type="image/png"),
        ]
    )
    counted = linked.usage_metadata.prompt_token_count - plain.usage_metadata.prompt_token_count
    assert counted == IMAGE_TOKENS, linked.usage_metadata
    # A function response with an image part.
    tool = types.Tool(
        function_declarations=[types.FunctionDeclaration(name="chart", description="A chart", parameters_json_schema=PATIENT)]
    )
    config = types.GenerateContentConfig(tools=[tool])
    question = types.Content(role="user", parts=[types.Part.from_text(text="chart P-1")])
    first = client.models.generate_content(model="gemini-2.5-flash", contents=[question], config=config)
    call = first.function_calls[0]
    response = types.Part(
        function_response=types.FunctionResponse(
            id=call.id,
            name=call.name,
            response={"output": "the chart"},
            parts=[types.FunctionResponsePart.from_bytes(data=PNG_BYTES, mime_type="image/png")],
        )
    )
    answered = client.models.generate_content(
        model="gemini-2.5-flash",
        contents=[question, first.candidates[0].content, types.Content(role="user", parts=[response])],
        config=config,
    )
    assert answered.text, answered

    def bad(error):
        assert error.code == 400 and error.status == "INVALID_ARGUMENT", (error.code, error.status)

    refused(lambda: ask([types.Part(inline_data=types.Blob(data=PNG_BYTES))]), errors.ClientError, bad)


def main():
    oa = openai.OpenAI(base_url=ROOT + "/v1", api_key=KEY, max_retries=0)
    for name, check in (
        ("chat", lambda: chat(oa)),
        ("responses", lambda: responses(oa)),
        ("messages", lambda: messages(anthropic.Anthropic(base_url=ROOT, api_key=KEY, max_retries=0))),
        ("gemini", gemini),
    ):
        check()
        print(f"ok {name}")
    print("all checks passed")


main()
