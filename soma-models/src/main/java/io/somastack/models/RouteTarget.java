package io.somastack.models;

import static java.util.Objects.requireNonNull;

/** One place a model id can be served: a provider and the model name it knows. */
public record RouteTarget(ModelProvider provider, String upstreamModel) {

    public RouteTarget {
        requireNonNull(provider, "provider is null");
        requireNonNull(upstreamModel, "upstreamModel is null");
    }

    public String providerName() {
        return provider.name();
    }
}
