package io.somastack.agents;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.UUID;

/**
 * A {@link RunEvent} as stored and sent: its run, its sequence number in the run (from 1, no
 * gaps), its type and its JSON data.
 */
public record StoredEvent(UUID runId, int seq, String type, String dataJson, Instant at) {
    public StoredEvent {
        requireNonNull(runId, "runId is null");
        requireNonNull(type, "type is null");
        requireNonNull(dataJson, "dataJson is null");
        requireNonNull(at, "at is null");
    }

    public boolean terminal() {
        return RunEvent.terminal(type);
    }

    /** One server-sent event: {@code event: <type>}, {@code id: <seq>}, {@code data: <json>}. */
    public byte[] sseFrame() {
        return "event: %s\nid: %d\ndata: %s\n\n".formatted(type, seq, dataJson).getBytes(StandardCharsets.UTF_8);
    }

    /** {@code {"type", "seq", "run_id", "data"}}, as WebSocket messages carry it. */
    public String json() {
        return "{\"type\":%s,\"seq\":%d,\"run_id\":\"%s\",\"data\":%s}".formatted(Json.text(type), seq, runId, dataJson);
    }
}
