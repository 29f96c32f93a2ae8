package io.somastack.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CapsuleFilesTest {
    @TempDir
    Path directory;

    @Test
    void initWritesACapsuleThatPacksAndPassesTheChecks() {
        Path capsule = directory.resolve("hello");
        CapsuleFiles.init(capsule, "hello", "acme");
        CapsuleBundle bundle = new BundleReader(BundleLimits.defaults()).read(CapsuleFiles.pack(capsule));
        assertThat(bundle.coordinates()).isEqualTo("hello@0.1.0");
        assertThat(bundle.sbom().components()).isEmpty();
        assertThatThrownBy(() -> CapsuleFiles.init(capsule, "hello", "acme")).hasMessageContaining("is not empty");
    }

    @Test
    void packIsDeterministic() throws Exception {
        Path capsule = directory.resolve("weather");
        Files.createDirectories(capsule);
        TestCapsules.files().forEach((name, bytes) -> write(capsule.resolve(name), bytes));
        byte[] first = CapsuleFiles.pack(capsule);
        Files.setLastModifiedTime(capsule.resolve("capsule.yaml"), java.nio.file.attribute.FileTime.fromMillis(0));
        assertThat(CapsuleFiles.pack(capsule)).isEqualTo(first);
    }

    @Test
    void commandsKeygenPackSignAndVerifyInteroperatingWithOpenssl() throws Exception {
        Path capsule = directory.resolve("weather");
        Files.createDirectories(capsule);
        TestCapsules.files().forEach((name, bytes) -> write(capsule.resolve(name), bytes));
        Path bundle = directory.resolve("weather.capsule");
        Path prefix = directory.resolve("release");
        Path signature = directory.resolve("weather.sig");
        CommandLine cli = new CommandLine(new CapsuleCommands());
        assertThat(cli.execute("keygen", "--output-prefix", prefix.toString())).isZero();
        assertThat(cli.execute("pack", capsule.toString(), "-o", bundle.toString())).isZero();
        assertThat(cli.execute("sign", "--key", prefix + ".key", "--output-signature", signature.toString(), bundle.toString())).isZero();
        assertThat(cli.execute("verify", "--key", prefix + ".pub", "--signature", signature.toString(), bundle.toString())).isZero();

        Path der = Files.write(directory.resolve("weather.sig.der"), Base64.getMimeDecoder().decode(Files.readString(signature)));
        assertThat(SignaturesTest.run("openssl", "dgst", "-sha256", "-verify", prefix + ".pub", "-signature", der.toString(), bundle.toString()))
                .contains("Verified OK");
        Path opensslSignature = directory.resolve("openssl.sig");
        SignaturesTest.run("openssl", "dgst", "-sha256", "-sign", prefix + ".key", "-out", opensslSignature.toString(), bundle.toString());
        assertThat(cli.execute("verify", "--key", prefix + ".pub", "--signature", opensslSignature.toString(), bundle.toString())).isZero();

        byte[] altered = Files.readAllBytes(bundle);
        altered[50] ^= 1;
        Files.write(bundle, altered);
        assertThat(cli.execute("verify", "--key", prefix + ".pub", "--signature", signature.toString(), bundle.toString())).isEqualTo(1);
    }

    private static void write(Path path, byte[] bytes) {
        try {
            Files.write(path, bytes);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
