package io.somastack.memory.internal;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Instants;
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
import java.util.stream.Collectors;

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
            // Checked here, not only on the wire, so that no client text reaches PostgreSQL or the embedder unchecked.
            Texts.embeddingProblem("text", memory.text()).ifPresentOrElse(problem -> add(index, problem), () -> {
                if (Texts.bytes(memory.text()) > config.maxTextBytes()) {
                    add(index, "text has %d bytes; the limit is %d".formatted(Texts.bytes(memory.text()), config.maxTextBytes()));
                }
            });
            if (memory.tags().size() > MAX_TAGS) {
                add(index, "tags names %d tags; the limit is %d".formatted(memory.tags().size(), MAX_TAGS));
            }
            memory.tags().stream().filter(tag -> !isTag(tag)).findFirst().ifPresent(tag ->
                    add(index, tagProblem("tags", tag)));
            memory.provenance().reference().filter(reference -> reference.length() > 2048).ifPresent(reference ->
                    add(index, "provenance.reference must be at most 2048 characters"));
            memory.provenance().reference().flatMap(reference -> Texts.storageProblem("provenance.reference", reference))
                    .ifPresent(problem -> add(index, problem));
            memory.provenance().author().filter(author -> author.length() > 256).ifPresent(author ->
                    add(index, "provenance.author must be at most 256 characters"));
            memory.provenance().author().flatMap(author -> Texts.storageProblem("provenance.author", author))
                    .ifPresent(problem -> add(index, problem));
            memory.provenance().observedAt().flatMap(at -> Instants.rangeProblem("provenance.observed_at", at))
                    .ifPresent(problem -> add(index, problem));
            memory.ttl().filter(ttl -> ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_TTL) > 0).ifPresent(ttl ->
                    add(index, "ttl_seconds must be between 1 and %d".formatted(MAX_TTL.toSeconds())));
            if (!caller.mayWrite(memory.scope())) {
                forbidden.add(problem(index, "this key may not write scope %s".formatted(memory.scope())));
            }
        }
    }

    /** Whether {@code tag} is a valid tag: 1-64 letters, digits, '.', '_', ':', '/' or '-'. */
    public static boolean isTag(String tag) {
        return TAG.matcher(tag).matches();
    }

    /** What is wrong with {@code tag}, a value of {@code field}; its text is quoted only when it is printable. */
    public static String tagProblem(String field, String tag) {
        String shown = Texts.storageProblem(field, tag).isPresent() || tag.length() > 64 ? "" : " '%s'".formatted(tag);
        return "%s: tag%s must be 1-64 letters, digits, '.', '_', ':', '/' or '-'".formatted(field, shown);
    }

    /** Throws when anything was found: 400 for invalid entries, else 403 for forbidden scopes. */
    public void throwIfAny() {
        if (!invalid.isEmpty()) {
            invalid.sort(Comparator.comparingInt(problem -> (Integer) problem.get("index")));
            long entries = invalid.stream().map(problem -> problem.get("index")).distinct().count();
            throw new SomaException(ErrorCode.INVALID_REQUEST, "%d of the entries %s invalid; nothing was stored. %s"
                    .formatted(entries, entries == 1 ? "is" : "are", summary(invalid)), Map.of("errors", List.copyOf(invalid)));
        }
        if (!forbidden.isEmpty()) {
            throw new SomaException(ErrorCode.INSUFFICIENT_SCOPE, "%d of the entries name a scope this key may not write; nothing was stored"
                    .formatted(forbidden.size()), Map.of("errors", List.copyOf(forbidden)));
        }
    }

    /** The first few problems, so the detail alone names the field or limit; {@code errors} has them all. */
    private static String summary(List<Map<String, Object>> problems) {
        String shown = problems.stream().limit(3).map(problem -> "Entry %s: %s".formatted(problem.get("index"), problem.get("detail")))
                .collect(Collectors.joining("; "));
        return problems.size() > 3 ? shown + "; and %d more (see errors)".formatted(problems.size() - 3) : shown;
    }

    private static Map<String, Object> problem(int index, String detail) {
        Map<String, Object> problem = new LinkedHashMap<>();
        problem.put("index", index);
        problem.put("detail", detail);
        return problem;
    }
}
