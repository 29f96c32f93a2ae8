package io.somastack.agents.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.agents.StoredEvent;
import io.somastack.kernel.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
 * {@code mcp_call} item whose {@code server_label} is the capsule. Not thread-safe: one per request.
 */
public final class ResponseProjection {
    private final String id;
    private final String model;
    private final String capsule;
    private final long createdAt;
    private final Optional<String> previousResponseId;
    private final List<Map<String, Object>> output = new ArrayList<>();
    private final Map<String, Integer> toolItems = new HashMap<>();
    private String status = "in_progress";
    private Map<String, Object> usage;
    private Map<String, Object> error;
    private Map<String, Object> incomplete;
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

    /** {@code response.created} and {@code response.in_progress}. */
    public List<Map<String, Object>> begin() {
        return List.of(event("response.created", Map.of("response", response())), event("response.in_progress", Map.of("response", response())));
    }

    /** The streaming events {@code stored} makes, in order; none for the run's own bookkeeping events. */
    public List<Map<String, Object>> accept(StoredEvent stored) {
        JsonNode data = Json.tree(stored.dataJson().getBytes(StandardCharsets.UTF_8));
        List<Map<String, Object>> events = new ArrayList<>();
        switch (stored.type()) {
            case "model.delta" -> {
                String text = data.path("text").asString("");
                if (messageIndex < 0) {
                    messageText = new StringBuilder();
                    messageIndex = output.size();
                    messageStep = data.path("step").asInt();
                    Map<String, Object> item = message(stored.runId(), messageStep, "in_progress", List.of());
                    output.add(item);
                    events.add(event("response.output_item.added", Map.of("output_index", messageIndex, "item", item)));
                    events.add(event("response.content_part.added", Map.of("item_id", item.get("id"), "output_index", messageIndex,
                            "content_index", 0, "part", outputText(""))));
                }
                messageText.append(text);
                events.add(event("response.output_text.delta", Map.of("item_id", output.get(messageIndex).get("id"), "output_index", messageIndex,
                        "content_index", 0, "delta", text, "logprobs", List.of())));
            }
            case "model.completed" -> closeMessage(events, stored.runId());
            case "tool.started" -> {
                closeMessage(events, stored.runId());
                String callId = data.path("call_id").asString();
                Map<String, Object> item = new LinkedHashMap<>();
                item.put("id", "mcp_" + callId);
                item.put("type", "mcp_call");
                item.put("server_label", capsule);
                item.put("name", data.path("tool").asString());
                item.put("arguments", data.has("arguments") ? data.get("arguments").toString() : "{}");
                item.put("output", null);
                item.put("error", null);
                item.put("status", "in_progress");
                toolItems.put(callId, output.size());
                output.add(item);
                events.add(event("response.output_item.added", Map.of("output_index", output.size() - 1, "item", new LinkedHashMap<>(item))));
                events.add(event("response.mcp_call_arguments.done", Map.of("item_id", item.get("id"), "output_index", output.size() - 1,
                        "arguments", item.get("arguments"))));
                events.add(event("response.mcp_call.in_progress", Map.of("item_id", item.get("id"), "output_index", output.size() - 1)));
            }
            case "tool.completed", "tool.failed" -> {
                Integer index = toolItems.remove(data.path("call_id").asString());
                if (index == null) {
                    break;
                }
                Map<String, Object> item = output.get(index);
                boolean completed = stored.type().equals("tool.completed");
                if (completed) {
                    item.put("output", data.path("result").toString());
                } else {
                    item.put("error", "%s: %s".formatted(data.path("reason").asString(""), data.path("message").asString("")));
                }
                item.put("status", completed ? "completed" : "failed");
                events.add(event(completed ? "response.mcp_call.completed" : "response.mcp_call.failed",
                        Map.of("item_id", item.get("id"), "output_index", index)));
                events.add(event("response.output_item.done", Map.of("output_index", index, "item", new LinkedHashMap<>(item))));
            }
            case "run.completed" -> {
                closeMessage(events, stored.runId());
                status = "completed";
                usage = usage(data.path("usage"));
                events.add(event("response.completed", Map.of("response", response())));
            }
            case "run.cancelled" -> {
                closeMessage(events, stored.runId());
                status = "incomplete";
                usage = usage(data.path("usage"));
                incomplete = Map.of("reason", "cancelled");
                events.add(event("response.incomplete", Map.of("response", response())));
            }
            case "run.failed", "run.interrupted" -> {
                closeMessage(events, stored.runId());
                status = "failed";
                usage = usage(data.path("usage"));
                String reason = stored.type().equals("run.interrupted") ? "interrupted" : data.path("reason").asString("error");
                error = Map.of("code", reason, "message", data.path("message").asString(reason));
                events.add(event("response.failed", Map.of("response", response())));
            }
            default -> {
            }
        }
        return events;
    }

    /** The {@code response} object as it stands (complete once a terminal event was accepted). */
    public Map<String, Object> response() {
        Map<String, Object> response = new LinkedHashMap<>();
        response.put("id", id);
        response.put("object", "response");
        response.put("created_at", createdAt);
        response.put("status", status);
        response.put("error", error);
        response.put("incomplete_details", incomplete);
        response.put("instructions", null);
        response.put("max_output_tokens", null);
        response.put("model", model);
        response.put("output", output.stream().map(LinkedHashMap::new).toList());
        response.put("parallel_tool_calls", false);
        response.put("previous_response_id", previousResponseId.orElse(null));
        response.put("store", true);
        response.put("temperature", null);
        response.put("text", Map.of("format", Map.of("type", "text")));
        response.put("tool_choice", "auto");
        response.put("tools", List.of());
        response.put("top_p", null);
        response.put("truncation", "disabled");
        response.put("usage", usage);
        response.put("metadata", Map.of());
        return response;
    }

    private void closeMessage(List<Map<String, Object>> events, UUID runId) {
        if (messageIndex < 0) {
            return;
        }
        Map<String, Object> item = output.get(messageIndex);
        String text = messageText.toString();
        events.add(event("response.output_text.done", Map.of("item_id", item.get("id"), "output_index", messageIndex, "content_index", 0,
                "text", text, "logprobs", List.of())));
        events.add(event("response.content_part.done", Map.of("item_id", item.get("id"), "output_index", messageIndex, "content_index", 0,
                "part", outputText(text))));
        Map<String, Object> done = message(runId, messageStep, "completed", List.of(outputText(text)));
        output.set(messageIndex, done);
        events.add(event("response.output_item.done", Map.of("output_index", messageIndex, "item", done)));
        messageIndex = -1;
        messageText = null;
    }

    private static Map<String, Object> message(UUID runId, int step, String status, List<Map<String, Object>> content) {
        Map<String, Object> item = new LinkedHashMap<>();
        item.put("id", "msg_%s_%d".formatted(runId.toString().replace("-", ""), step));
        item.put("type", "message");
        item.put("status", status);
        item.put("role", "assistant");
        item.put("content", content);
        return item;
    }

    private static Map<String, Object> outputText(String text) {
        return Map.of("type", "output_text", "text", text, "annotations", List.of(), "logprobs", List.of());
    }

    private static Map<String, Object> usage(JsonNode usage) {
        long input = usage.path("input_tokens").asLong(0);
        long output = usage.path("output_tokens").asLong(0);
        Map<String, Object> wire = new LinkedHashMap<>();
        wire.put("input_tokens", input);
        wire.put("input_tokens_details", Map.of("cached_tokens", 0));
        wire.put("output_tokens", output);
        wire.put("output_tokens_details", Map.of("reasoning_tokens", 0));
        wire.put("total_tokens", input + output);
        return wire;
    }

    private Map<String, Object> event(String type, Map<String, Object> members) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("type", type);
        event.putAll(members);
        event.put("sequence_number", sequence++);
        return event;
    }
}
