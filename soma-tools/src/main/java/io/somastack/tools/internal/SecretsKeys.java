package io.somastack.tools.internal;

import io.somastack.kernel.Aead;
import io.somastack.tools.ToolsConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Aead} that seals tool secrets, from the configured key: given, a key file in the
 * data directory (created with mode 0600 on first start, read afterwards), or ephemeral.
 */
public final class SecretsKeys {
    private static final Logger LOG = LoggerFactory.getLogger(SecretsKeys.class);

    private SecretsKeys() {
    }

    public static Aead aead(ToolsConfig.SecretsKey key) {
        return switch (key) {
            case ToolsConfig.SecretsKey.Given given -> new Aead(given.key());
            case ToolsConfig.SecretsKey.KeyFile file -> new Aead(keyFile(file.path()));
            case ToolsConfig.SecretsKey.Ephemeral ignored -> {
                LOG.warn("Tool secrets are sealed with a key of this process only: they do not open after a restart (set tools.secrets.key)");
                yield new Aead(Aead.newKey());
            }
        };
    }

    private static byte[] keyFile(Path path) {
        try {
            Files.createDirectories(path.toAbsolutePath().getParent());
            try {
                // Created with its final permissions, so the key is never readable by others, not even briefly.
                Files.createFile(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                Files.writeString(path, Base64.getEncoder().encodeToString(Aead.newKey()) + "\n", StandardCharsets.US_ASCII);
                LOG.info("Created the tool secrets key {} (mode 0600); nodes of a cluster share one key through SOMA_TOOLS_SECRETS_KEY", path);
            } catch (FileAlreadyExistsException e) {
                // made on an earlier start
            }
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(path);
            if (permissions.stream().anyMatch(permission -> permission.name().startsWith("GROUP") || permission.name().startsWith("OTHERS"))) {
                LOG.warn("The tool secrets key {} is readable by others ({}); make it mode 0600", path, PosixFilePermissions.toString(permissions));
            }
            byte[] key = Base64.getDecoder().decode(Files.readString(path, StandardCharsets.US_ASCII).trim());
            if (key.length != Aead.KEY_BYTES) {
                throw new IllegalStateException("%s holds %d bytes, not the %d of a tool secrets key".formatted(path, key.length, Aead.KEY_BYTES));
            }
            return key;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read or create the tool secrets key " + path, e);
        }
    }
}
