package io.somastack.policy;

import io.somastack.kernel.Json;
import io.somastack.policy.internal.PolicyWire;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The example policies shipped with SomaStack (resources under
 * {@code io/somastack/policy/examples/}): a trusted publisher signature required, no GPL or
 * AGPL components for standard-tier tenants, egress only to an allowlist, a maximum budget
 * per run, and a runtime check that tool calls stay within the declared egress.
 */
public final class ExamplePolicies {
    public static final List<String> NAMES = List.of("trusted-signer", "no-gpl-for-standard-tier", "egress-allowlist", "max-budget-per-run",
            "runtime-tool-egress");

    private ExamplePolicies() {
    }

    public static PolicyDefinition load(String name) {
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("No example policy " + name);
        }
        try (InputStream in = ExamplePolicies.class.getResourceAsStream("/io/somastack/policy/examples/" + name + ".json")) {
            return PolicyWire.definition(Json.tree(in.readAllBytes()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<PolicyDefinition> all() {
        return NAMES.stream().map(ExamplePolicies::load).toList();
    }
}
