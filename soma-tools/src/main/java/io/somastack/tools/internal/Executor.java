package io.somastack.tools.internal;

import io.somastack.kernel.TenantId;
import java.util.Map;
import java.util.function.Consumer;

/** Runs one kind of tool in its sandbox, within its limits. Never throws for what the tool does: that is an {@link Outcome.Failure}. */
public interface Executor {
    /**
     * Runs {@code tool} of {@code capsule} for {@code tenant} on {@code arguments} (JSON bytes),
     * sending {@code headers} (the tenant's tool settings, secrets opened: never logged) to a
     * remote tool's host; {@code deltas} hears bounded chunks of output as they come.
     */
    Outcome execute(TenantId tenant, CapsuleTools capsule, ToolSpec tool, byte[] arguments, Map<String, String> headers, Consumer<String> deltas);
}
