// The Vitest helper of the installed npm package, driven by the official
// OpenAI Node SDK: parallel tool calls, a script per test, journal
// assertions, isolation between tests, and the check after each test.
// Run by simulator/tests/npm_package.rs in a fresh Node project.
import OpenAI from "openai";
import { describe, expect, test } from "vitest";
import { Server, VerifyError } from "toolcall-sim";
import { useToolcallSim } from "toolcall-sim/vitest";

const sim = useToolcallSim();
const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const client = (session) => new OpenAI({ baseURL: session.openaiBaseUrl, apiKey: "sk-sim", maxRetries: 0 });

test("parallel tool calls with the OpenAI SDK", async () => {
  await sim.current.script([
    {
      tool_calls: [
        { name: "get_weather", arguments: { city: "Paris" } },
        { name: "get_weather", arguments: { city: "Oslo" } },
      ],
    },
    { text: "Sunny in Paris, snow in Oslo." },
  ]);
  const openai = client(sim.current);
  const messages = [{ role: "user", content: "Weather in Paris and Oslo?" }];
  const first = await openai.chat.completions.create({ model: "gpt-4o-mini", messages, tools: [WEATHER] });
  const calls = first.choices[0].message.tool_calls;
  expect(calls.map((c) => JSON.parse(c.function.arguments).city)).toEqual(["Paris", "Oslo"]);
  messages.push(first.choices[0].message);
  for (const call of calls) messages.push({ role: "tool", tool_call_id: call.id, content: "fine" });
  const final = await openai.chat.completions.create({ model: "gpt-4o-mini", messages, tools: [WEATHER] });
  expect(final.choices[0].message.content).toBe("Sunny in Paris, snow in Oslo.");
  const journal = await sim.current.journal();
  expect(journal).toHaveLength(2);
  expect(journal[0].tools_offered).toEqual(["get_weather"]);
  expect(journal[0].endpoint).toBe("/v1/chat/completions");
  expect(journal[1].tool_message_ids).toEqual(calls.map((c) => c.id));
});

describe.each(["Rome", "Kyiv"])("each test sees only its own requests (%s)", (city) => {
  test("one request", async () => {
    await sim.current.script([{ text: `Hello from ${city}.` }]);
    const reply = await client(sim.current).chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: city }],
    });
    expect(reply.choices[0].message.content).toBe(`Hello from ${city}.`);
    const journal = await sim.current.journal();
    expect(journal).toHaveLength(1);
    expect(journal[0].body.messages[0].content).toBe(city);
  });
});

test("an unused turn fails verify, naming it", async () => {
  const server = await Server.start();
  try {
    const session = server.session("left-over");
    await session.script([{ text: "never asked" }]);
    const error = await session.verify().catch((e) => e);
    expect(error).toBeInstanceOf(VerifyError);
    expect(error.message).toContain("1 of 1 script turn(s) unused: #0");
  } finally {
    await server.close();
  }
});

test("fixtures answer by what a request looks like, faults by header", async () => {
  await sim.current.fixtures([
    { match: { user_message: "weather", tool_results: false }, response: { tool_calls: [{ name: "get_weather", arguments: { city: "Oslo" } }] } },
    { match: { tool_results: ["get_weather"] }, response: { text: "Snow in Oslo." }, latency: "250ms" },
  ]);
  const openai = client(sim.current);
  const messages = [{ role: "user", content: "What is the weather in Oslo?" }];
  const first = await openai.chat.completions.create({ model: "gpt-4o-mini", messages, tools: [WEATHER] });
  const calls = first.choices[0].message.tool_calls;
  expect(calls.map((c) => c.function.name)).toEqual(["get_weather"]);
  messages.push(first.choices[0].message, { role: "tool", tool_call_id: calls[0].id, content: "-3" });
  const { data, response } = await openai.chat.completions
    .create({ model: "gpt-4o-mini", messages, tools: [WEATHER] })
    .withResponse();
  expect(data.choices[0].message.content).toBe("Snow in Oslo.");
  expect(response.headers.get("x-sim-elapsed-ms")).toBe("250");
  const limited = await openai.chat.completions
    .create({ model: "gpt-4o-mini", messages }, { headers: { "x-sim-fault": "429; retry-after=2s" } })
    .catch((e) => e);
  expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
  expect(limited.headers.get("retry-after-ms")).toBe("2000");
  expect((await sim.current.journal()).map((e) => e.fixture)).toEqual([0, 1, null]);
});
