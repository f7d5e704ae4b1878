// The official Anthropic Node SDK's own agent loop against `toolcall-sim serve`.
//
// Usage: node anthropic_tool_runner.mjs ROOT_URL API_KEY
//
// `client.beta.messages.toolRunner` keeps the conversation on the server (the
// `message-threads` beta): its second request is a `thread` `continue` that
// carries only the tool results. The server runs in auto mode: it calls both
// tools at once, then answers from their results. Every check is an assert.
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { betaTool } from '@anthropic-ai/sdk/helpers/beta/json-schema';

const [root, key] = process.argv.slice(2);
const sent = [];
const client = new Anthropic({
  baseURL: root,
  apiKey: key,
  maxRetries: 0,
  fetch: async (url, init) => {
    sent.push(JSON.parse(init.body));
    return fetch(url, init);
  },
});
const called = [];
const city = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const tool = (name, answer) =>
  betaTool({
    name,
    description: `The ${name.slice(4)} in a city.`,
    inputSchema: city,
    run: ({ city }) => {
      called.push(name);
      return `${answer} in ${city}`;
    },
  });

const runner = client.beta.messages.toolRunner({
  model: 'claude-sonnet-5-5',
  max_tokens: 1024,
  tools: [tool('get_weather', 'sunny'), tool('get_time', 'noon')],
  messages: [{ role: 'user', content: 'Weather and time in Oslo?' }],
});
const messages = [];
for await (const message of runner) messages.push(message);

assert.equal(messages.length, 2);
const [first, last] = messages;
assert.equal(first.stop_reason, 'tool_use');
assert.deepEqual(first.content.filter((b) => b.type === 'tool_use').map((b) => b.name).sort(), ['get_time', 'get_weather']);
assert.deepEqual(called.sort(), ['get_time', 'get_weather']);
assert.equal(last.stop_reason, 'end_turn');
assert.ok(last.content.some((b) => b.type === 'text' && b.text.trim()));
// The second request continued the thread with the tool results alone.
assert.equal(sent.length, 2);
assert.deepEqual(sent[0].thread, { type: 'create' });
assert.deepEqual(sent[1].thread, { type: 'continue', previous_message_id: first.id });
assert.equal(sent[1].messages.length, 1);
assert.ok(sent[1].messages[0].content.every((b) => b.type === 'tool_result'));
assert.equal(sent[1].tools, undefined);
console.log('all checks passed');
