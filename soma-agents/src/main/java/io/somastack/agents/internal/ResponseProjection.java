package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.StoredEvent;
import io.somastack.agents.internal.ResponseWire.Event;
import io.somastack.agents.internal.ResponseWire.McpCall;
import io.somastack.agents.internal.ResponseWire.Message;
import io.somastack.agents.internal.ResponseWire.OutputItem;
import io.somastack.agents.internal.ResponseWire.OutputText;
import io.somastack.agents.internal.ResponseWire.Response;
import io.somastack.agents.internal.ResponseWire.Usage;
import io.somastack.kernel.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import tools.jackson.databind.JsonNode;

/**
 * A run seen through the OpenAI Responses API: fed the run's stored events in order, it answers
 * the Responses streaming events each one makes ({@code response.created}, {@code response.in_progress},
 * {@code response.output_item.added|done}, {@code response.content_part.added|done},
 * {@code response.output_text.delta|done}, {@code response.mcp_call_arguments.done}, {@code response.mcp_call.in_progress|completed|failed},
 * and one of {@code response.completed|failed|incomplete}), and keeps the {@code response} object
 * they describe. A step's text is a {@code message} item; a tool call, run on the server, is an
 * {@code mcp_call} item whose {@code server_label} is the capsule. The shapes are the records of
 * {@link ResponseWire}. Not thread-safe: one per request.
 */
public final class ResponseProjection {
    private final String id;
    private final String model;
    private final String capsule;
    private final long createdAt;
    private final Optional<String> previousResponseId;
    private final List<OutputItem> output = new ArrayList<>();
    private final Map<String, Integer> toolItems = new HashMap<>();
    private String status = "in_progress";
    private Usage usage;
    private ResponseWire.Error error;
    private ResponseWire.IncompleteDetails incomplete;
    private int sequence;
    private int messageIndex = -1;
    private StringBuilder messageText;
    private int messageStep;

    public ResponseProjection(UUID runId, String model, String capsule, Instant createdAt, Optional<String> previousResponseId) {
        this.capsule = requireNonNull(capsule, "capsule is null");
        this.id = responseId(requireNonNull(runId, "runId is null"));
        this.model = requireNonNull(model, "model is null");
        this.createdAt = requireNonNull(createdAt, "createdAt is null").getEpochSecond();
        this.previousResponseId = requireNonNull(previousResponseId, "previousResponseId is null");
    }

    /** {@code resp_<run id>}: a response is a run, so a response id names its run. */
    public static String responseId(UUID runId) {
        return "resp_" + runId;
    }

    /** The run a response id names, if it is one. */
    public static Optional<UUID> runId(String responseId) {
        if (!responseId.startsWith("resp_")) {
            return Optional.empty();
        }
        try {
            return Optional.of(UUID.fromString(responseId.substring(5)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** One server-sent event of a Responses stream: {@code event: <type>}, {@code data: <json>}. */
    public static byte[] sseFrame(Event event) {
        return "event: %s\ndata: %s\n\n".formatted(event.type(), Json.text(event)).getBytes(StandardCharsets.UTF_8);
    }

    /** {@code response.created} and {@code response.in_progress}. */
    public List<Event> begin() {
        return List.of(new ResponseWire.Created(response(), sequence++), new ResponseWire.InProgress(response(), sequence++));
    }

    /** The streaming events {@code stored} makes, in order; none for the run's own bookkeeping events. */
    public List<Event> accept(StoredEvent stored) {
        JsonNode data = Json.tree(stored.dataJson().getBytes(StandardCharsets.UTF_8));
        List<Event> events = new ArrayList<>();
        switch (stored.type()) {
            case "model.delta" -> {
                String text = data.path("text").asString("");
                if (messageIndex < 0) {
                    messageText = new StringBuilder();
                    messageIndex = output.size();
                    messageStep = data.path("step").asInt();
                    Message item = message(stored.runId(), messageStep, "in_progress", List.of());
                    output.add(item);
                    events.add(new ResponseWire.OutputItemAdded(messageIndex, item, sequence++));
                    events.add(new ResponseWire.ContentPartAdded(item.id(), messageIndex, 0, OutputText.of(""), sequence++));
                }
                messageText.append(text);
                events.add(new ResponseWire.OutputTextDelta(output.get(messageIndex).id(), messageIndex, 0, text, List.of(), sequence++));
            }
            case "model.completed" -> closeMessage(events, stored.runId());
            case "tool.started" -> {
                closeMessage(events, stored.runId());
                String callId = data.path("call_id").asString();
                McpCall item = new McpCall("mcp_" + callId, capsule, data.path("tool").asString(),
                        data.has("arguments") ? data.get("arguments").toString() : "{}", null, null, "in_progress");
                int index = output.size();
                toolItems.put(callId, index);
                output.add(item);
                events.add(new ResponseWire.OutputItemAdded(index, item, sequence++));
                events.add(new ResponseWire.McpCallArgumentsDone(item.id(), index, item.arguments(), sequence++));
                events.add(new ResponseWire.McpCallInProgress(item.id(), index, sequence++));
            }
            case "tool.completed", "tool.failed" -> {
                Integer index = toolItems.remove(data.path("call_id").asString());
                if (index == null) {
                    break;
                }
                boolean completed = stored.type().equals("tool.completed");
                McpCall item = ((McpCall) output.get(index)).ended(completed, completed ? data.path("result").toString()
                        : "%s: %s".formatted(data.path("reason").asString(""), data.path("message").asString("")));
                output.set(index, item);
                events.add(completed ? new ResponseWire.McpCallCompleted(item.id(), index, sequence++)
                        : new ResponseWire.McpCallFailed(item.id(), index, sequence++));
                events.add(new ResponseWire.OutputItemDone(index, item, sequence++));
            }
            case "run.completed" -> {
                closeMessage(events, stored.runId());
                status = "completed";
                usage = usage(data.path("usage"));
                events.add(new ResponseWire.Completed(response(), sequence++));
            }
            case "run.cancelled" -> {
                closeMessage(events, stored.runId());
                status = "incomplete";
                usage = usage(data.path("usage"));
                incomplete = new ResponseWire.IncompleteDetails("cancelled");
                events.add(new ResponseWire.Incomplete(response(), sequence++));
            }
            case "run.failed", "run.interrupted" -> {
                closeMessage(events, stored.runId());
                status = "failed";
                usage = usage(data.path("usage"));
                String reason = stored.type().equals("run.interrupted") ? "interrupted" : data.path("reason").asString("error");
                error = new ResponseWire.Error(reason, data.path("message").asString(reason));
                events.add(new ResponseWire.Failed(response(), sequence++));
            }
            default -> {
            }
        }
        return events;
    }

    /** The {@code response} object as it stands (complete once a terminal event was accepted). */
    public Response response() {
        return new Response(id, "response", createdAt, status, error, incomplete, null, null, model, output, false,
                previousResponseId.orElse(null), true, null, ResponseWire.TextConfig.PLAIN, "auto", List.of(), null, "disabled", usage, Map.of());
    }

    private void closeMessage(List<Event> events, UUID runId) {
        if (messageIndex < 0) {
            return;
        }
        String itemId = output.get(messageIndex).id();
        String text = messageText.toString();
        events.add(new ResponseWire.OutputTextDone(itemId, messageIndex, 0, text, List.of(), sequence++));
        events.add(new ResponseWire.ContentPartDone(itemId, messageIndex, 0, OutputText.of(text), sequence++));
        Message done = message(runId, messageStep, "completed", List.of(OutputText.of(text)));
        output.set(messageIndex, done);
        events.add(new ResponseWire.OutputItemDone(messageIndex, done, sequence++));
        messageIndex = -1;
        messageText = null;
    }

    private static Message message(UUID runId, int step, String status, List<OutputText> content) {
        return new Message("msg_%s_%d".formatted(runId.toString().replace("-", ""), step), status, "assistant", content);
    }

    private static Usage usage(JsonNode usage) {
        return Usage.of(usage.path("input_tokens").asLong(0), usage.path("output_tokens").asLong(0));
    }
}
