package io.somastack.models;

import java.time.Duration;

/**
 * What a wire fixture answers to the next request; each fixture renders it in its provider's
 * published format (JSON body, or server-sent events when the request asked for a stream).
 */
public sealed interface FixtureReply {

    /** A text answer, split into words when streamed, with the usage the provider reports. */
    record Text(String text, int inputTokens, int outputTokens) implements FixtureReply {
    }

    /** A call of tool {@code name} with {@code argumentsJson}, streamed as argument fragments. */
    record ToolUse(String name, String argumentsJson, int inputTokens, int outputTokens) implements FixtureReply {
    }

    /** An HTTP error status with the provider's error body for it (429, 500, 529, 400...). */
    record Failure(int status) implements FixtureReply {
    }

    /** A long stream, one word every {@code delay}, for clients that leave early. */
    record SlowText(int words, Duration delay) implements FixtureReply {
    }

    /** A stream that sends {@code words} words and then an error event of the provider. */
    record StreamError(int words) implements FixtureReply {
    }

    /** A stream that sends {@code words} words and then drops the connection. */
    record DropAfter(int words) implements FixtureReply {
    }
}
