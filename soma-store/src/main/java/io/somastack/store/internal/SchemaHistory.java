package io.somastack.store.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import javax.sql.DataSource;

/**
 * The check that lets a start skip Flyway: every migration the class path carries, with Flyway's
 * checksum of its text, compared with {@code flyway_schema_history} in one query. The scripts are
 * listed straight from each class path entry's {@value #LOCATION} (a directory, or a jar's
 * entries), without Flyway's scanner, its SQL parsing or its start-up; their checksums are
 * computed here from the scripts themselves, so an edited applied migration differs just as
 * Flyway's validation would find. Any difference at all (a new database, a pending or failed
 * migration, an edited one, a row this build does not carry, an entry that cannot be listed) is
 * reported, and the caller runs Flyway as before.
 */
public final class SchemaHistory {
    static final String LOCATION = "db/migration";
    private static final String UNDEFINED_TABLE = "42P01";
    private static final Pattern VERSIONED = Pattern.compile("V([0-9]+(?:[._][0-9]+)*)__(.+)\\.sql");

    /** A versioned SQL migration as Flyway records it in its history. */
    record Migration(String version, String description, String script, int checksum) {
    }

    private SchemaHistory() {
    }

    /**
     * Empty when the history holds exactly the migrations found on {@code loader}'s class
     * path, each applied successfully with the checksum of its script; otherwise the first
     * difference, in words.
     */
    public static Optional<String> difference(DataSource dataSource, ClassLoader loader) {
        Map<String, Migration> expected = new HashMap<>();
        try {
            for (Migration migration : onClassPath(loader)) {
                if (expected.put(migration.version(), migration) != null) {
                    return Optional.of("version %s is on the class path twice".formatted(migration.version()));
                }
            }
        } catch (IllegalStateException | UncheckedIOException e) {
            return Optional.of(e.getMessage());
        }
        if (expected.isEmpty()) {
            return Optional.of("no migrations under " + LOCATION + " on the class path");
        }
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            int rows = 0;
            try (ResultSet history = statement.executeQuery(
                    "SELECT version, description, type, script, checksum, success FROM flyway_schema_history")) {
                while (history.next()) {
                    rows++;
                    String version = history.getString("version");
                    Migration migration = version == null ? null : expected.get(version);
                    if (migration == null) {
                        return Optional.of("the history holds %s %s, which this build does not carry".formatted(history.getString("type"),
                                history.getString("script")));
                    }
                    int checksum = history.getInt("checksum");
                    boolean checksumNull = history.wasNull();
                    if (!history.getBoolean("success")) {
                        return Optional.of("migration %s failed when it was applied".formatted(version));
                    }
                    if (!"SQL".equals(history.getString("type")) || !migration.script().equals(history.getString("script"))
                            || !migration.description().equals(history.getString("description"))) {
                        return Optional.of("version %s is recorded as %s %s, this build carries %s".formatted(version, history.getString("type"),
                                history.getString("script"), migration.script()));
                    }
                    if (checksumNull || checksum != migration.checksum()) {
                        return Optional.of("version %s (%s) has checksum %s in the history but %d in this build".formatted(version,
                                migration.script(), checksumNull ? "null" : Integer.toString(checksum), migration.checksum()));
                    }
                }
            }
            if (rows != expected.size()) {
                return Optional.of("%d of the %d migrations this build carries are not applied yet".formatted(expected.size() - rows, expected.size()));
            }
            return Optional.empty();
        } catch (SQLException e) {
            if (UNDEFINED_TABLE.equals(e.getSQLState())) {
                return Optional.of("no schema history yet");
            }
            return Optional.of("the schema history cannot be read (" + e.getMessage() + ")");
        }
    }

    /**
     * Every versioned SQL migration under {@value #LOCATION} of every class path entry, with its
     * checksum. Anything else there (a subdirectory's script, a Java migration's class, another
     * file) is Flyway's to judge: it fails the listing, so Flyway runs.
     */
    static List<Migration> onClassPath(ClassLoader loader) {
        try {
            List<Migration> migrations = new ArrayList<>();
            for (URL location : Collections.list(loader.getResources(LOCATION))) {
                switch (location.getProtocol()) {
                    case "jar" -> {
                        JarURLConnection connection = (JarURLConnection) location.openConnection();
                        connection.setUseCaches(false);
                        try (JarFile jar = connection.getJarFile()) {
                            for (JarEntry entry : Collections.list(jar.entries())) {
                                if (entry.getName().startsWith(LOCATION + "/") && !entry.isDirectory()) {
                                    try (InputStream in = jar.getInputStream(entry)) {
                                        migrations.add(migration(entry.getName().substring(LOCATION.length() + 1), in));
                                    }
                                }
                            }
                        }
                    }
                    case "file" -> {
                        Path directory = Path.of(location.toURI());
                        try (Stream<Path> files = Files.walk(directory)) {
                            for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                                try (InputStream in = Files.newInputStream(file)) {
                                    migrations.add(migration(directory.relativize(file).toString(), in));
                                }
                            }
                        }
                    }
                    default -> throw new IllegalStateException("cannot list the migrations in " + location);
                }
            }
            return migrations;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the migrations on the class path: " + e.getMessage(), e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot list the migrations on the class path: " + e.getMessage(), e);
        }
    }

    private static Migration migration(String script, InputStream in) throws IOException {
        Matcher name = VERSIONED.matcher(script);
        if (!name.matches()) {
            throw new IllegalStateException("%s/%s is not a versioned SQL migration directly under %s".formatted(LOCATION, script, LOCATION));
        }
        return new Migration(name.group(1).replace('_', '.'), name.group(2).replace('_', ' '), script, checksum(in));
    }

    /**
     * Flyway's checksum of a script: CRC-32 of its lines' UTF-8 bytes without line endings (so
     * independent of them), a byte order mark left out, as a signed int.
     */
    static int checksum(InputStream script) throws IOException {
        CRC32 crc = new CRC32();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(script, StandardCharsets.UTF_8))) {
            String line = reader.readLine();
            if (line != null && line.startsWith("\uFEFF")) {
                line = line.substring(1);
            }
            for (; line != null; line = reader.readLine()) {
                crc.update(line.getBytes(StandardCharsets.UTF_8));
            }
        }
        return (int) crc.getValue();
    }
}
