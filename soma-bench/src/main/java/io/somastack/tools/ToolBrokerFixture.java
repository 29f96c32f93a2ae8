package io.somastack.tools;

import io.somastack.kernel.TenantId;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * soma-tools' own test harness ({@link TestTools}: a fresh real PostgreSQL, the marketplace, the
 * constitution and the gateway) opened to soma-bench. {@code TestTools} is package-private in
 * soma-tools' test jar, so this bridge lives in the same package rather than copying it.
 */
public final class ToolBrokerFixture implements AutoCloseable {
    private final TestTools soma;

    /** A tool entry of a capsule manifest: its name, its input schema and its executor (YAML flow style). */
    public record Tool(String name, String inputSchema, String executor) {
        public static Tool wasm(String name, String module, String inputSchema) {
            TestTools.Tool tool = TestTools.Tool.wasm(name, module, inputSchema);
            return new Tool(tool.name(), tool.inputSchema(), tool.executor());
        }

        public static Tool remote(String name, String kind, String url, String inputSchema) {
            TestTools.Tool tool = TestTools.Tool.remote(name, kind, url, inputSchema);
            return new Tool(tool.name(), tool.inputSchema(), tool.executor());
        }
    }

    public ToolBrokerFixture(ToolsConfig config) {
        soma = new TestTools(config);
    }

    /** The bytes of one of soma-tools' test modules, e.g. {@code transform}. */
    public static byte[] wasm(String name) {
        return TestTools.wasm(name);
    }

    /**
     * Makes tenant {@code tenantName}, publishes {@code capsule} signed by its key with {@code tools}
     * and {@code modules} ({@code tools/<name>.wasm}), installs it, and answers the tenant's id.
     */
    public TenantId install(String tenantName, String capsule, List<String> egress, List<Tool> tools, Map<String, byte[]> modules) {
        TestTools.Tenant tenant = soma.tenant(tenantName);
        soma.publishAndInstall(tenant, capsule, TestTools.bundle(tenantName, capsule, "1.0.0", egress,
                tools.stream().map(tool -> new TestTools.Tool(tool.name(), tool.inputSchema(), tool.executor())).toList(), modules));
        return new TenantId(UUID.fromString(soma.strings("SELECT tenant_id::text FROM capsule_installs WHERE name = '" + capsule + "'").getFirst()));
    }

    public ToolBroker broker() {
        return soma.tools.broker();
    }

    /** Modules compiled on this node so far. */
    public long wasmCompilations() {
        return soma.tools.wasmCompilations();
    }

    /** Rows of {@code sql}'s single count column, e.g. ledger rows written. */
    public long count(String sql) {
        return soma.count(sql);
    }

    @Override
    public void close() {
        soma.close();
    }
}
