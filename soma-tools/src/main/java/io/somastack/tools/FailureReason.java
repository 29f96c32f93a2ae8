package io.somastack.tools;

/** Why a tool call failed, as {@code tool.failed} names it on the wire. */
public enum FailureReason {
    /** The arguments do not match the tool's {@code input_schema}. */
    INVALID_ARGUMENTS("invalid_arguments"),
    /** Runtime policy, the capsule's declared egress or the SSRF guard refused the call. */
    DENIED("denied"),
    /** The call ran past its wall time and was stopped. */
    TIMEOUT("timeout"),
    /** The WebAssembly module reached its memory limit. */
    MEMORY_LIMIT("memory_limit"),
    /** The tool wrote more than its output limit. */
    OUTPUT_LIMIT("output_limit"),
    /** The module trapped, failed to link, exited non-zero or wrote something other than JSON. */
    TRAP("trap"),
    /** The HTTP or MCP tool server failed or answered something unusable. */
    UPSTREAM_ERROR("upstream_error"),
    /** The caller cancelled the call while it ran ({@link ToolCancellation}). */
    CANCELLED("cancelled");

    private final String wire;

    FailureReason(String wire) {
        this.wire = wire;
    }

    /** The name on the wire, e.g. {@code memory_limit}. */
    public String wire() {
        return wire;
    }
}
