package io.somastack.tools.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.somastack.kernel.Aead;
import io.somastack.tools.ToolsConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;

class SecretsKeysTest {
    @Test
    void theKeyFileIsCreatedOnceWithMode0600AndReadOnTheNextStart() throws Exception {
        Path file = Files.createTempDirectory("soma-data").resolve("nested").resolve("tools-secrets.key");
        Aead first = SecretsKeys.aead(new ToolsConfig.SecretsKey.KeyFile(file));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        byte[] aad = "tenant/name".getBytes(StandardCharsets.UTF_8);
        byte[] sealed = first.seal("value".getBytes(StandardCharsets.UTF_8), aad);
        Aead second = SecretsKeys.aead(new ToolsConfig.SecretsKey.KeyFile(file));
        assertThat(new String(second.open(sealed, aad), StandardCharsets.UTF_8)).isEqualTo("value");
    }
}
