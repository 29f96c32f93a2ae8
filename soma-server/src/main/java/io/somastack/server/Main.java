package io.somastack.server;

import io.somastack.kernel.Clock;
import io.somastack.kernel.Json;
import io.somastack.kernel.Settings;
import io.somastack.kernel.SomaException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.bridge.SLF4JBridgeHandler;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The {@code somastack} command line. */
@Command(name = "somastack", mixinStandardHelpOptions = true, version = "SomaStack 0.1.0",
        description = "The control plane for AI agents in production.",
        subcommands = {Main.Run.class, Main.TenantsCommand.class, Main.KeysCommand.class, Main.AuditCommand.class,
                Main.SigningKeysCommand.class, io.somastack.policy.CapsuleCommands.class, io.somastack.agents.ProvenanceCommands.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        if (System.getProperty("logback.configurationFile") == null) {
            String format = Optional.ofNullable(System.getenv("SOMA_LOG_FORMAT")).orElse("json");
            System.setProperty("logback.configurationFile", format.equals("plain") ? "logback-plain.xml" : "logback-json.xml");
        }
        // Libraries that log through java.util.logging (Lucene, gRPC) would print their own two-line format to stderr.
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        int code = commandLine().setExecutionExceptionHandler((exception, commandLine, parseResult) -> {
            if (exception instanceof SomaException soma) {
                commandLine.getErr().println("somastack: " + soma.detail());
                return 2;
            }
            if (exception instanceof CommandLine.ExecutionException failed) {
                commandLine.getErr().println("somastack: " + failed.getMessage());
                return 1;
            }
            throw exception;
        }).execute(args);
        // java-llama.cpp leaves a non-daemon native thread behind: exit explicitly.
        System.exit(code);
    }

    /** The whole command line: these commands, the constitution's {@code capsule} commands and the marketplace's under them. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        CommandLine capsule = cli.getSubcommands().get("capsule");
        io.somastack.marketplace.MarketplaceCommands.all().forEach(capsule::addSubcommand);
        cli.addSubcommand(new io.somastack.memory.MemoryCommands((file, directory) -> {
            ServerConfig config = ServerConfig.from(Settings.load(System.getenv(), file), System.getenv(), null, directory.orElse(null));
            return new io.somastack.memory.MemoryCommands.Loaded(config.store(), config.memory());
        }));
        withHelp(cli);
        return cli;
    }

    /** Every command and subcommand answers {@code --help} and {@code -h}, wherever it was declared. */
    private static void withHelp(CommandLine command) {
        if (!command.getCommandSpec().mixinStandardHelpOptions()) {
            command.getCommandSpec().mixinStandardHelpOptions(true);
        }
        command.getSubcommands().values().forEach(Main::withHelp);
    }

    @Override
    public void run() {
        commandLine().usage(System.out);
    }

    @Command(name = "run", description = "Run SomaStack (embedded PostgreSQL unless SOMA_DATABASE_URL is set).")
    static final class Run implements Callable<Integer> {
        @Option(names = "--port", description = "HTTP port (default 8080; 0 picks a free one)")
        Integer port;

        @Option(names = "--data-dir", description = "Data directory (default ./.somastack)")
        Path dataDirectory;

        @Option(names = "--config", description = "YAML config file (or SOMA_CONFIG)")
        Path configFile;

        @Override
        public Integer call() throws InterruptedException {
            Optional<Path> file = Optional.ofNullable(configFile).or(() -> Optional.ofNullable(System.getenv("SOMA_CONFIG")).map(Path::of));
            Settings settings = Settings.load(System.getenv(), file);
            ServerConfig config = ServerConfig.from(settings, System.getenv(), port, dataDirectory);
            CountDownLatch stopped = new CountDownLatch(1);
            SomaServer server = SomaServer.start(config, Clock.system());
            server.generatedAdminKey().ifPresent(key -> System.out.printf(
                    "%nOperator key (shown once, keep it; set SOMA_ADMIN_KEY to choose your own):%n  %s%n%n", key));
            System.out.printf("SomaStack is ready on http://%s:%d%n", config.host(), server.port());
            server.closeOnExit(stopped::countDown);
            stopped.await();
            return 0;
        }
    }

    /** Options shared by commands that talk to a running server's admin API. */
    static class Remote {
        @Option(names = "--url", description = "SomaStack base URL (default ${DEFAULT-VALUE})", defaultValue = "http://127.0.0.1:8080")
        String url;

        @Option(names = "--admin-key", description = "Operator key (default: SOMA_ADMIN_KEY)")
        String adminKey;

        Object call(String method, String path, Object body) {
            String key = adminKey != null ? adminKey : System.getenv("SOMA_ADMIN_KEY");
            if (key == null) {
                throw new CommandLine.ParameterException(new CommandLine(this), "Give --admin-key or set SOMA_ADMIN_KEY");
            }
            HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url.replaceAll("/$", "") + path))
                    .header("Authorization", "Bearer " + key).timeout(Duration.ofSeconds(30));
            if (body != null) {
                request.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofByteArray(Json.bytes(body)));
            } else {
                request.method(method, HttpRequest.BodyPublishers.noBody());
            }
            try (HttpClient client = HttpClient.newHttpClient()) {
                HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
                Object parsed = response.body().isEmpty() ? Map.of() : Json.mapper().readValue(response.body(), Object.class);
                if (response.statusCode() >= 400) {
                    System.err.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(parsed));
                    throw new CommandLine.ExecutionException(new CommandLine(this), "HTTP " + response.statusCode());
                }
                System.out.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(parsed));
                return parsed;
            } catch (java.io.IOException e) {
                throw new CommandLine.ExecutionException(new CommandLine(this), "Cannot reach SomaStack at %s (%s); is it running?".formatted(url, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    @Command(name = "tenants", description = "Manage tenants.", subcommands = {TenantsCommand.Create.class, TenantsCommand.ListTenants.class})
    static final class TenantsCommand {
        @Command(name = "create", description = "Create a tenant.")
        static final class Create extends Remote implements Runnable {
            @Parameters(index = "0", description = "Tenant name")
            String name;

            @Option(names = "--tier", description = "Rate-limit tier (free, standard, enterprise, ...)")
            String tier;

            @Option(names = "--region", description = "Home region (default: the server's)")
            String region;

            @Option(names = "--budget", description = "Monthly budget in USD, e.g. 25.00")
            java.math.BigDecimal budget;

            @Override
            public void run() {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("name", name);
                if (tier != null) {
                    body.put("tier", tier);
                }
                if (region != null) {
                    body.put("home_region", region);
                }
                if (budget != null) {
                    body.put("monthly_budget", budget);
                }
                call("POST", "/v1/admin/tenants", body);
            }
        }

        @Command(name = "list", description = "List tenants.")
        static final class ListTenants extends Remote implements Runnable {
            @Override
            public void run() {
                call("GET", "/v1/admin/tenants", null);
            }
        }
    }

    @Command(name = "keys", description = "Manage API keys.", subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class})
    static final class KeysCommand {
        @Command(name = "create", description = "Create an API key for a tenant; the secret is shown once.")
        static final class Create extends Remote implements Runnable {
            @Parameters(index = "0", description = "Tenant id")
            String tenant;

            @Option(names = "--name", description = "Key name")
            String name;

            @Option(names = "--scope", description = "Scope (repeatable): *, models:invoke, usage:read, sessions:create, memory:read, "
                    + "memory:write, policy:read, policy:write, capsules:read, capsules:write, agent:<id> (restricts the key to that agent)")
            List<String> scopes;

            @Option(names = "--budget", description = "Monthly budget of this key in USD")
            java.math.BigDecimal budget;

            @Override
            public void run() {
                Map<String, Object> body = new LinkedHashMap<>();
                if (name != null) {
                    body.put("name", name);
                }
                if (scopes != null) {
                    body.put("scopes", scopes);
                }
                if (budget != null) {
                    body.put("monthly_budget", budget);
                }
                call("POST", "/v1/admin/tenants/" + tenant + "/keys", body);
            }
        }

        @Command(name = "list", description = "List a tenant's keys.")
        static final class ListKeys extends Remote implements Runnable {
            @Parameters(index = "0", description = "Tenant id")
            String tenant;

            @Override
            public void run() {
                call("GET", "/v1/admin/tenants/" + tenant + "/keys", null);
            }
        }

        @Command(name = "revoke", description = "Revoke a key; it fails from the next request on.")
        static final class Revoke extends Remote implements Runnable {
            @Parameters(index = "0", description = "Key id")
            String key;

            @Override
            public void run() {
                call("DELETE", "/v1/admin/keys/" + key, null);
            }
        }
    }

    @Command(name = "audit", description = "The hash-chained audit log and its signed checkpoints.",
            subcommands = {AuditCommand.Verify.class, AuditCommand.Checkpoint.class})
    static final class AuditCommand {
        @Command(name = "verify", description = {"Check every entry of the audit log; exit 1 if any was edited or deleted.",
                "With --checkpoint, the log must also still hold the checkpoint's entries unchanged, which finds a deleted tail "
                        + "(and audit_head rewound) since the checkpoint; a checkpoint whose signature does not verify is refused."})
        static final class Verify extends Remote implements Callable<Integer> {
            @Option(names = "--checkpoint", paramLabel = "FILE",
                    description = "A signed checkpoint kept earlier (from `audit checkpoint`, the latest route or the outbox event)")
            Path checkpoint;

            @Override
            public Integer call() {
                Object result = checkpoint == null ? call("GET", "/v1/admin/audit/verify", null)
                        : call("POST", "/v1/admin/audit/verify", readCheckpoint(checkpoint));
                return result instanceof Map<?, ?> map && Boolean.TRUE.equals(map.get("intact")) ? 0 : 1;
            }

            private Object readCheckpoint(Path file) {
                try {
                    return Json.mapper().readValue(java.nio.file.Files.readAllBytes(file), Object.class);
                } catch (java.io.IOException | tools.jackson.core.JacksonException e) {
                    throw new CommandLine.ParameterException(new CommandLine(this),
                            "Cannot read the checkpoint %s: %s".formatted(file, e.getMessage()));
                }
            }
        }

        @Command(name = "checkpoint", description = {"Sign a checkpoint of the audit log's head now and print it (keep it outside "
                + "SomaStack's database).", "The server also signs one every audit.checkpoint.interval when the log grew."})
        static final class Checkpoint extends Remote implements Runnable {
            @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Also write the checkpoint to FILE")
            Path output;

            @Option(names = "--latest", description = "Fetch the last checkpoint signed instead of signing one")
            boolean latest;

            @Override
            public void run() {
                Object signed = latest ? call("GET", "/v1/admin/audit/checkpoints/latest", null) : call("POST", "/v1/admin/audit/checkpoints", null);
                if (output != null) {
                    try {
                        java.nio.file.Files.writeString(output, Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(signed) + "\n");
                    } catch (java.io.IOException e) {
                        throw new CommandLine.ExecutionException(new CommandLine(this), "Cannot write %s: %s".formatted(output, e.getMessage()));
                    }
                }
            }
        }
    }

    @Command(name = "signing-keys", description = "Session token signing keys.", subcommands = {SigningKeysCommand.Rotate.class})
    static final class SigningKeysCommand {
        @Command(name = "rotate", description = "Make a new signing key active; the old one verifies until its tokens expire.")
        static final class Rotate extends Remote implements Runnable {
            @Override
            public void run() {
                call("POST", "/v1/admin/signing-keys/rotate", null);
            }
        }
    }
}
