// An MCP server on stdio, written with the official MCP TypeScript SDK, that soma-tools'
// McpStdioServerTest declares as an operator server (tools.mcp.servers). Tools:
//   shout {text}: the text upper-cased and this process's pid, after one progress notification;
//   env: the names of the environment variables this process was given;
//   exit: answers, then the process exits (the broker must start it again for the next call).
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const server = new Server({ name: "somastack-stdio-test", version: "1.0.0" }, { capabilities: { tools: {} } });

server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [
    { name: "shout", description: "Upper-cases text", inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } },
    { name: "env", description: "Names its environment variables", inputSchema: { type: "object" } },
    { name: "exit", description: "Answers, then exits", inputSchema: { type: "object" } },
  ],
}));

server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
  const { name } = request.params;
  const args = request.params.arguments ?? {};
  const token = request.params._meta?.progressToken;
  let result;
  if (name === "shout") {
    if (token !== undefined) {
      await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: 1, total: 1, message: "shouting" } });
    }
    result = { text: String(args.text).toUpperCase(), pid: process.pid };
  } else if (name === "env") {
    result = { names: Object.keys(process.env).sort() };
  } else if (name === "exit") {
    setTimeout(() => process.exit(3), 20);
    result = { exiting: process.pid };
  } else {
    return { isError: true, content: [{ type: "text", text: `unknown tool ${name}` }] };
  }
  return { structuredContent: result, content: [{ type: "text", text: JSON.stringify(result) }] };
});

await server.connect(new StdioServerTransport());
