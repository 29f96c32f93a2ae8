package io.somastack.memory.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import io.somastack.memory.Caller;
import io.somastack.memory.MemoryConfig;
import io.somastack.memory.NewMemory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Collects what is wrong with the entries of a remember batch, each with its index, so the
 * whole batch is refused at once with every problem named. Not thread-safe: one per request.
 */
public final class BatchProblems {
    private static final Pattern TAG = Pattern.compile("^[A-Za-z0-9._:/-]{1,64}$");
    private static final int MAX_TAGS = 32;
    private static final Duration MAX_TTL = Duration.ofDays(3660);

    private final List<Map<String, Object>> invalid = new ArrayList<>();
    private final List<Map<String, Object>> forbidden = new ArrayList<>();

    /** Records a problem found while parsing entry {@code index}. */
    public void add(int index, String detail) {
        invalid.add(problem(index, detail));
    }

    /** Checks every entry against the limits and the caller's write rights. */
    public void check(List<NewMemory> memories, Caller caller, MemoryConfig config) {
        SortedMap<Integer, NewMemory> byIndex = new TreeMap<>();
        for (int index = 0; index < memories.size(); index++) {
            byIndex.put(index, memories.get(index));
        }
        check(byIndex, caller, config);
    }

    /** Checks the entries that parsed, keyed by their index in the batch. */
    public void check(SortedMap<Integer, NewMemory> memories, Caller caller, MemoryConfig config) {
        for (Map.Entry<Integer, NewMemory> entry : memories.entrySet()) {
            int index = entry.getKey();
            NewMemory memory = entry.getValue();
            if (memory.text().isBlank()) {
                add(index, "text must not be empty");
            } else if (Texts.bytes(memory.text()) > config.maxTextBytes()) {
                add(index, "text has %d bytes; the limit is %d".formatted(Texts.bytes(memory.text()), config.maxTextBytes()));
            }
            if (memory.tags().size() > MAX_TAGS) {
                add(index, "at most %d tags".formatted(MAX_TAGS));
            }
            memory.tags().stream().filter(tag -> !TAG.matcher(tag).matches()).findFirst().ifPresent(tag ->
                    add(index, "tag '%s' must be 1-64 letters, digits, '.', '_', ':', '/' or '-'".formatted(tag)));
            memory.provenance().reference().filter(reference -> reference.length() > 2048).ifPresent(reference ->
                    add(index, "provenance.reference must be at most 2048 characters"));
            memory.provenance().author().filter(author -> author.length() > 256).ifPresent(author ->
                    add(index, "provenance.author must be at most 256 characters"));
            memory.ttl().filter(ttl -> ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_TTL) > 0).ifPresent(ttl ->
                    add(index, "ttl_seconds must be between 1 and %d".formatted(MAX_TTL.toSeconds())));
            if (!caller.mayWrite(memory.scope())) {
                forbidden.add(problem(index, "this key may not write scope %s".formatted(memory.scope())));
            }
        }
    }

    /** Throws when anything was found: 400 for invalid entries, else 403 for forbidden scopes. */
    public void throwIfAny() {
        if (!invalid.isEmpty()) {
            invalid.sort(Comparator.comparingInt(problem -> (Integer) problem.get("index")));
            throw new SomaException(ErrorCode.INVALID_REQUEST, "%d of the entries are invalid; nothing was stored"
                    .formatted(invalid.stream().map(problem -> problem.get("index")).distinct().count()), Map.of("errors", List.copyOf(invalid)));
        }
        if (!forbidden.isEmpty()) {
            throw new SomaException(ErrorCode.INSUFFICIENT_SCOPE, "%d of the entries name a scope this key may not write; nothing was stored"
                    .formatted(forbidden.size()), Map.of("errors", List.copyOf(forbidden)));
        }
    }

    private static Map<String, Object> problem(int index, String detail) {
        Map<String, Object> problem = new LinkedHashMap<>();
        problem.put("index", index);
        problem.put("detail", detail);
        return problem;
    }
}
