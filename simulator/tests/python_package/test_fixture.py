"""The `toolcall_sim` pytest fixture of the installed package, driven by the
official OpenAI and Anthropic SDKs: parallel tool calls, a script per test,
journal assertions, isolation between tests, and the teardown check.
Run by `simulator/tests/python_package.rs` in a fresh venv."""

import json
import threading

import anthropic
import openai
import pytest

pytest_plugins = ["pytester"]

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def chat(session):
    return openai.OpenAI(base_url=session.openai_base_url, api_key="sk-sim", max_retries=0)


def test_parallel_tool_calls_with_the_openai_sdk(toolcall_sim):
    toolcall_sim.script(
        [
            {
                "tool_calls": [
                    {"name": "get_weather", "arguments": {"city": "Paris"}},
                    {"name": "get_weather", "arguments": {"city": "Oslo"}},
                ]
            },
            {"text": "Sunny in Paris, snow in Oslo."},
        ]
    )
    client = chat(toolcall_sim)
    messages = [{"role": "user", "content": "Weather in Paris and Oslo?"}]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER])
    calls = first.choices[0].message.tool_calls
    assert [json.loads(c.function.arguments)["city"] for c in calls] == ["Paris", "Oslo"]
    assert first.choices[0].finish_reason == "tool_calls"
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    for call in calls:
        city = json.loads(call.function.arguments)["city"]
        messages.append({"role": "tool", "tool_call_id": call.id, "content": f"{city}: fine"})
    final = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER])
    assert final.choices[0].message.content == "Sunny in Paris, snow in Oslo."

    journal = toolcall_sim.journal()
    assert len(journal) == 2
    assert journal[0]["tools_offered"] == ["get_weather"]
    assert journal[0]["script_turn"] == 0
    assert journal[1]["tool_message_ids"] == [c.id for c in calls]
    assert [c["id"] for c in journal[0]["reply"]["tool_calls"]] == [c.id for c in calls]


def test_a_tool_use_turn_with_the_anthropic_sdk(toolcall_sim):
    toolcall_sim.script(
        [
            {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Lima"}}]},
            {"text": "Mild in Lima."},
        ]
    )
    client = anthropic.Anthropic(base_url=toolcall_sim.anthropic_base_url, api_key="sk-sim", max_retries=0)
    tools = [{"name": "get_weather", "description": "Weather.", "input_schema": WEATHER["function"]["parameters"]}]
    question = {"role": "user", "content": "Weather in Lima?"}
    first = client.messages.create(model="claude-sonnet-5-5", max_tokens=256, tools=tools, messages=[question])
    assert first.stop_reason == "tool_use"
    (use,) = [b for b in first.content if b.type == "tool_use"]
    assert use.input == {"city": "Lima"}
    results = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "mild"}]}
    with client.messages.stream(
        model="claude-sonnet-5-5",
        max_tokens=256,
        tools=tools,
        messages=[question, {"role": "assistant", "content": first.content}, results],
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "Mild in Lima."
    journal = toolcall_sim.journal()
    assert [e["stream"] for e in journal] == [False, True]
    assert journal[1]["tool_message_ids"] == [use.id]


# Two tests that each see only their own requests, whatever ran before.
@pytest.mark.parametrize("city", ["Rome", "Kyiv"])
def test_each_test_sees_only_its_own_requests(toolcall_sim, city):
    toolcall_sim.script([{"text": f"Hello from {city}."}])
    reply = chat(toolcall_sim).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": city}]
    )
    assert reply.choices[0].message.content == f"Hello from {city}."
    journal = toolcall_sim.journal()
    assert len(journal) == 1
    assert journal[0]["index"] == 0
    assert journal[0]["messages"][0]["content"] == city


def test_sessions_at_once_do_not_mix(toolcall_sim_server):
    sessions = [toolcall_sim_server.session(f"concurrent-{i}") for i in range(4)]
    for i, session in enumerate(sessions):
        session.script([{"text": f"turn {t} of {i}"} for t in range(3)])
    answers = {i: [] for i in range(len(sessions))}

    def run(i):
        client = chat(sessions[i])
        for _ in range(3):
            reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": str(i)}])
            answers[i].append(reply.choices[0].message.content)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, session in enumerate(sessions):
        assert answers[i] == [f"turn {t} of {i}" for t in range(3)]
        assert session.stats()["requests"] == 3
        session.verify()
        session.close()


def test_an_exhausted_script_is_not_retried(toolcall_sim):
    toolcall_sim.script([{"text": "only one"}])
    client = openai.OpenAI(base_url=toolcall_sim.openai_base_url, api_key="sk-sim", max_retries=2)
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "1"}])
    with pytest.raises(openai.InternalServerError, match="script ran out"):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "2"}])
    # One request past the end, not three: the SDK did not retry.
    assert toolcall_sim.stats()["requests"] == 2
    toolcall_sim.script([])  # so teardown's check passes


def test_teardown_names_unused_turns(pytester):
    pytester.makepyfile(
        """
        def test_leaves_a_turn(toolcall_sim):
            toolcall_sim.script([{"text": "never asked"}])
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*1 of 1 script turn(s) unused: #0*"])


def test_fixtures_answer_by_what_a_request_looks_like(toolcall_sim):
    toolcall_sim.fixtures(
        [
            {
                "match": {"endpoint": "messages", "tool_results": False},
                "response": {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
            },
            {"match": {"endpoint": "messages", "tool_results": ["get_weather"]}, "response": {"text": "Snow."}},
            {"match": {"endpoint": "chat", "user_message": "hello"}, "response": {"text": "Hi."}, "times": 1},
        ]
    )
    claude = anthropic.Anthropic(base_url=toolcall_sim.anthropic_base_url, api_key="sk-sim", max_retries=0)
    tools = [{"name": "get_weather", "description": "Weather.", "input_schema": WEATHER["function"]["parameters"]}]
    question = {"role": "user", "content": "Weather in Oslo?"}
    first = claude.messages.create(model="claude-sonnet-5-5", max_tokens=256, tools=tools, messages=[question])
    (use,) = [b for b in first.content if b.type == "tool_use"]
    results = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "-3"}]}
    final = claude.messages.create(
        model="claude-sonnet-5-5",
        max_tokens=256,
        tools=tools,
        messages=[question, {"role": "assistant", "content": first.content}, results],
    )
    assert final.content[0].text == "Snow."
    client = chat(toolcall_sim)
    assert client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hello there"}]
    ).choices[0].message.content == "Hi."
    # Used up: a 404 naming the closest fixture, not retried.
    with pytest.raises(openai.NotFoundError, match="used up"):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello again"}])
    # A fault by header for this request only.
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hello"}],
            extra_headers={"x-sim-fault": "429; retry-after=2s"},
        )
    assert limited.value.response.headers["retry-after-ms"] == "2000"
    assert [e["fixture"] for e in toolcall_sim.journal()] == [0, 1, 2, None, None]
    toolcall_sim.fixtures([])  # the unmatched request is reported by verify otherwise


def test_a_time_scale_reports_simulated_times():
    from toolcall_sim import Server
    import time

    with Server(["--time-scale", "0.01", "--model-latency", "fixed:130ms/0ms"]) as server:
        elapsed = {}
        real = {}
        for name, rounds in [("sequential", [1, 1, 1, 0]), ("parallel", [3, 0])]:
            session = server.session(name)
            session.script(
                [
                    {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}] * n} if n else {"text": "done"}
                    for n in rounds
                ]
            )
            client = chat(session)
            started = time.monotonic()
            elapsed[name] = 0
            for _ in rounds:
                raw = client.chat.completions.with_raw_response.create(
                    model="m", messages=[{"role": "user", "content": "weather"}], tools=[WEATHER]
                )
                elapsed[name] += int(raw.headers["x-sim-elapsed-ms"])
            real[name] = time.monotonic() - started
            assert sum(e["took_ms"] for e in session.journal()) == elapsed[name]
            session.verify()
        # 520 ms against 260 ms of simulated model time, in a few real ms.
        assert elapsed == {"sequential": 520, "parallel": 260}
        assert real["sequential"] < 0.52, real
