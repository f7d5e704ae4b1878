"""The official SDKs' typed-output helpers against `toolcall-sim serve` (auto
mode answers from the output schema): OpenAI `chat.completions.parse(
response_format=Model)` and `responses.parse(text_format=Model)`, Anthropic
`messages.parse(output_format=Model)`. Each must give back a valid object.

Usage: python structured_output.py BASE_URL ROOT_URL   (exits non-zero on any mismatch)
"""

import sys
from typing import List, Optional

import anthropic
import openai
import pydantic


class Medication(pydantic.BaseModel):
    name: str
    dose_mg: int
    active: bool


class Lab(pydantic.BaseModel):
    test: str
    value: float
    flag: Optional[str]


class PatientSummary(pydantic.BaseModel):
    patient_id: str
    age: int
    medications: List[Medication]
    allergies: List[str]
    labs: List[Lab]
    flags: List[str]


QUESTION = "Summarise patient P-00042."


def main(base_url, root_url):
    client = openai.OpenAI(base_url=base_url, api_key="sk-sim", max_retries=0)

    chat = client.chat.completions.parse(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": QUESTION}],
        response_format=PatientSummary,
    )
    message = chat.choices[0].message
    assert isinstance(message.parsed, PatientSummary), message
    assert chat.choices[0].finish_reason == "stop", chat.choices[0].finish_reason

    response = client.responses.parse(
        model="gpt-4o-mini",
        input=QUESTION,
        text_format=PatientSummary,
    )
    assert response.status == "completed", response.status
    assert isinstance(response.output_parsed, PatientSummary), response.output

    claude = anthropic.Anthropic(base_url=root_url, api_key="sk-sim", max_retries=0)
    reply = claude.messages.parse(
        model="claude-sonnet-4-5",
        max_tokens=4096,
        messages=[{"role": "user", "content": QUESTION}],
        output_format=PatientSummary,
    )
    assert reply.stop_reason == "end_turn", reply.stop_reason
    assert isinstance(reply.parsed_output, PatientSummary), reply.content

    print("chat", message.parsed.model_dump_json())
    print("responses", response.output_parsed.model_dump_json())
    print("anthropic", reply.parsed_output.model_dump_json())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
