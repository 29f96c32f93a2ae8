package io.somastack.memory;

import static java.util.Objects.requireNonNull;

import io.somastack.kernel.Clock;
import io.somastack.models.Embedder;
import io.somastack.models.Embedders;
import io.somastack.store.Database;
import io.somastack.store.StoreConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code somastack memory reindex}: embeds again, with the configured embedder, every stored
 * memory revision whose vectors are of another model, printing progress lines to stderr. It
 * works on the database directly and never opens the Lucene index, so it can run beside servers
 * that use an external PostgreSQL (their indexes apply the changes on their catch-up timer); with
 * the embedded PostgreSQL, stop the server first. Register an instance as a subcommand of
 * {@code somastack}; {@link ConfigLoader} reads the same configuration {@code somastack run} reads.
 * Exit codes: 0 done (also when nothing was stale).
 *
 * <pre>{@code
 * commandLine.addSubcommand(new MemoryCommands((file, dataDirectory) -> {
 *     ServerConfig config = ServerConfig.from(Settings.load(System.getenv(), file), System.getenv(), null, dataDirectory.orElse(null));
 *     return new MemoryCommands.Loaded(config.store(), config.memory());
 * }));
 * }</pre>
 */
@Command(name = "memory", description = "Maintain memory's stored embeddings.", mixinStandardHelpOptions = true,
        subcommands = {MemoryCommands.Reindex.class})
public final class MemoryCommands implements Runnable {
    private final ConfigLoader loader;
    private final Map<String, String> environment;

    @Spec
    CommandSpec spec;

    /** Reads the embedder's API key from the process environment. */
    public MemoryCommands(ConfigLoader loader) {
        this(loader, System.getenv());
    }

    /** Reads the embedder's API key from {@code environment}. */
    public MemoryCommands(ConfigLoader loader, Map<String, String> environment) {
        this.loader = requireNonNull(loader, "loader is null");
        this.environment = Map.copyOf(environment);
    }

    /** Reads and validates the configuration, as {@code somastack run} would, from an optional file and data directory. */
    @FunctionalInterface
    public interface ConfigLoader {
        Loaded load(Optional<Path> configFile, Optional<Path> dataDirectory);
    }

    /** What reindexing needs of the configuration: where the database is and which embedder to use. */
    public record Loaded(StoreConfig store, MemoryConfig memory) {
        public Loaded {
            requireNonNull(store, "store is null");
            requireNonNull(memory, "memory is null");
        }
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "reindex", description = "Embed every memory whose vectors are of another model than the configured one again.")
    static final class Reindex implements Callable<Integer> {
        @ParentCommand
        MemoryCommands parent;

        @Spec
        CommandSpec spec;

        @Option(names = "--config", description = "YAML config file (or SOMA_CONFIG)")
        Path configFile;

        @Option(names = "--data-dir", description = "Data directory (default ./.somastack)")
        Path dataDirectory;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            Optional<Path> file = Optional.ofNullable(configFile).or(() -> Optional.ofNullable(System.getenv("SOMA_CONFIG")).map(Path::of));
            Loaded loaded = parent.loader.load(file, Optional.ofNullable(dataDirectory));
            Embedder embedder = Embedders.from(loaded.memory().embedder(), parent.environment);
            try (Database database = new Database(loaded.store()).start()) {
                err.printf("Reindexing memory with %s (%d dimensions) in %s%n", embedder.model(), embedder.dimension(), loaded.store().describe());
                err.flush();
                ReindexProgress done = Memory.reindex(database, embedder, Clock.system(), progress -> {
                    err.println(progress.describe());
                    err.flush();
                });
                err.printf("Done: %,d revisions embedded again in %d s%n", done.done(), done.elapsed().toSeconds());
                err.flush();
            }
            return 0;
        }
    }

}
