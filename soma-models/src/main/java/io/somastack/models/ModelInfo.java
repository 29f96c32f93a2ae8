package io.somastack.models;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One entry of {@code GET /v1/models}: {@code {id, object: "model", created, owned_by}},
 * where {@code owned_by} is the name of the provider of the model's first target.
 */
public record ModelInfo(String id, String object, long created, @JsonProperty("owned_by") String ownedBy) {

    public static ModelInfo of(String id, long created, String ownedBy) {
        return new ModelInfo(id, "model", created, ownedBy);
    }
}
