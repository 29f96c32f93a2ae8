// Drives SomaStack with the official OpenAI Node client, unchanged: one plain and one
// streamed chat completion. Prints what the client saw as one JSON line.
import OpenAI from 'openai';

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const messages = [{ role: 'user', content: 'Once upon a time' }];

const completion = await client.chat.completions.create({ model: 'local', messages, max_tokens: 12 });

const stream = await client.chat.completions.create({
  model: 'local', messages, max_tokens: 12, stream: true, stream_options: { include_usage: true },
});
let text = '';
let usage = null;
let chunks = 0;
for await (const chunk of stream) {
  chunks++;
  text += chunk.choices[0]?.delta?.content ?? '';
  if (chunk.usage) usage = chunk.usage;
}

// The client asks for base64 and decodes it itself.
const embedded = await client.embeddings.create({ model: 'all-minilm-l6-v2-q', input: ['Once upon a time'] });

console.log(JSON.stringify({
  embedding: { dimensions: embedded.data[0].embedding.length, usage: embedded.usage },
  plain: { object: completion.object, content: completion.choices[0].message.content, usage: completion.usage },
  streamed: { chunks, text, usage },
}));
