// The official openai npm client, unchanged, against SomaStack's /v1/responses:
// responses.create plain, then streamed with previous_response_id. Prints one JSON line.
import OpenAI from 'openai';

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

const plain = await client.responses.create({ model, input: 'What is the answer?' });

const stream = await client.responses.create({
  model,
  input: [{ role: 'user', content: 'Say it again' }],
  previous_response_id: plain.id,
  stream: true,
});
const events = [];
for await (const event of stream) {
  events.push(event);
}
const completed = events.find((event) => event.type === 'response.completed');

let refused;
try {
  await client.responses.create({ model: 'agent:nobody', input: 'hi' });
} catch (error) {
  refused = { status: error.status, name: error.constructor.name };
}

console.log(JSON.stringify({
  plain: {
    id: plain.id,
    object: plain.object,
    status: plain.status,
    output_text: plain.output_text,
    items: plain.output.map((item) => item.type),
    tool: plain.output.find((item) => item.type === 'mcp_call'),
    usage: plain.usage,
  },
  streamed: {
    types: events.map((event) => event.type),
    sequence: events.map((event) => event.sequence_number),
    text: events.filter((event) => event.type === 'response.output_text.delta').map((event) => event.delta).join(''),
    items: completed.response.output.map((item) => item.type),
    tool: events.find((event) => event.type === 'response.output_item.done' && event.item.type === 'mcp_call')?.item,
    id: completed.response.id,
    previous: completed.response.previous_response_id,
    status: completed.response.status,
    usage: completed.response.usage,
  },
  refused,
}));
