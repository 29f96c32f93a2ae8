package io.somastack.tools;

/**
 * Hears a tool call's events as they happen, on the calling thread or the sandbox's. An
 * implementation must not block for long: a slow sink slows the tool. Exceptions it throws are
 * logged and the call goes on (the client left; the call is still metered).
 */
@FunctionalInterface
public interface ToolSink {
    /** A sink that drops every event. */
    ToolSink NONE = event -> {
    };

    void accept(ToolEvent event);
}
