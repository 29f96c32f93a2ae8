// The official MCP TypeScript SDK client against SomaStack's /mcp (Streamable HTTP).
// Usage: node client.mjs <base url> <api key> <capsule>
// Prints one JSON line: what initialize, tools/list and two tools/call (with progress, and an error result) answered.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [base, apiKey, capsule] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL("/mcp", base), {
  requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
});
const client = new Client({ name: "somastack-ts-test", version: "1.0.0" });
await client.connect(transport);
const tools = await client.listTools();
const progress = [];
const forecast = await client.callTool({ name: `${capsule}__forecast`, arguments: { city: "Paris" } }, undefined, {
  onprogress: (notification) => progress.push(notification.message),
});
const fails = await client.callTool({ name: `${capsule}__fails`, arguments: {} });
const summary = {
  server: client.getServerVersion(),
  protocolVersion: transport.protocolVersion,
  tools: tools.tools.map((tool) => tool.name).sort(),
  progress,
  forecast: forecast.structuredContent,
  fails: { isError: fails.isError, text: fails.content[0].text },
};
await transport.terminateSession().catch(() => {});
await client.close();
console.log(JSON.stringify(summary));
