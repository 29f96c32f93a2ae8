package io.somastack.models;

import java.util.List;

/** The body of {@code GET /v1/models}: {@code {object: "list", data: [...]}}. */
public record ModelList(String object, List<ModelInfo> data) {

    public ModelList {
        data = List.copyOf(data);
    }

    public static ModelList of(List<ModelInfo> models) {
        return new ModelList("list", models);
    }
}
