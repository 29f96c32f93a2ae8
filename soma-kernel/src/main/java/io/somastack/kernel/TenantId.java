package io.somastack.kernel;

import static java.util.Objects.requireNonNull;

import java.util.UUID;

/** The id of a tenant; every repository method that touches tenant data takes one. */
public record TenantId(UUID value) {
    public TenantId {
        requireNonNull(value, "value is null");
    }

    public static TenantId parse(String text) {
        return new TenantId(Ids.parseUuid(text, "tenant id"));
    }

    @Override
    public String toString() {
        return value.toString();
    }
}
