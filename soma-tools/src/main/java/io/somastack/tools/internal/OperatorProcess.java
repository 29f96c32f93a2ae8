package io.somastack.tools.internal;

import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.somastack.tools.ToolsConfig;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * The MCP Java SDK's stdio transport for an operator-declared server, with two changes: the
 * process starts with an empty environment plus what the SDK passes (its small default set:
 * HOME, PATH, USER, ...) and the operator's {@code env}, so the node's own variables (database
 * URL, tools secrets key, API keys) never reach it; and the process is found afterwards, so the
 * broker can tell it has exited and start it again.
 */
final class OperatorProcess extends StdioClientTransport {
    /** Processes some session already owns, so two servers started at once are told apart. */
    private static final Set<Long> CLAIMED = ConcurrentHashMap.newKeySet();

    private final ToolsConfig.McpServer server;
    /** This JVM's children just before the server's process was started: it is not one of them. */
    private volatile Set<Long> earlier = Set.of();

    OperatorProcess(ToolsConfig.McpServer server, McpJsonMapper mapper) {
        super(ServerParameters.builder(server.command()).args(server.args()).env(server.env()).build(), mapper);
        this.server = server;
    }

    @Override
    protected ProcessBuilder getProcessBuilder() {
        ProcessBuilder builder = super.getProcessBuilder();
        builder.environment().clear();
        // The SDK starts the process right after this. Not a clock: the JDK dates a process from the boot time
        // in whole seconds, so its start instant can be up to a second early, which a margin of one second
        // missed about half the time on a machine booted at .998 of a second.
        earlier = ProcessHandle.current().children().map(ProcessHandle::pid).collect(Collectors.toUnmodifiableSet());
        return builder;
    }

    /**
     * This transport's process, once it has answered: the newest unclaimed child of this JVM started
     * with its arguments that was not yet a child when the process was started.
     */
    Optional<ProcessHandle> find() {
        Set<Long> before = earlier;
        List<ProcessHandle> candidates = ProcessHandle.current().children()
                .filter(child -> !CLAIMED.contains(child.pid()) && !before.contains(child.pid()))
                .filter(child -> child.info().arguments().map(arguments -> List.of(arguments).equals(server.args())).orElse(server.args().isEmpty()))
                .sorted(Comparator.comparing((ProcessHandle child) -> child.info().startInstant().orElse(Instant.EPOCH)).reversed())
                .toList();
        for (ProcessHandle candidate : candidates) {
            if (CLAIMED.add(candidate.pid())) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    static void release(ProcessHandle process) {
        CLAIMED.remove(process.pid());
    }
}
