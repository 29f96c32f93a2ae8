package io.somastack.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.somastack.kernel.SomaException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real ECDSA P-256 signatures, checked against the real openssl binary in both directions. */
class SignaturesTest {
    @TempDir
    Path directory;

    @Test
    void signsAndVerifiesAndRejectsOtherContentOrKeys() {
        SigningKeys keys = Signatures.generate();
        byte[] bundle = TestCapsules.bundle();
        String signature = Signatures.sign(keys.privateKeyPem(), bundle);
        assertThat(Signatures.verify(keys.publicKeyPem(), bundle, signature)).isTrue();
        byte[] altered = bundle.clone();
        altered[altered.length / 2] ^= 1;
        assertThat(Signatures.verify(keys.publicKeyPem(), altered, signature)).isFalse();
        assertThat(Signatures.verify(Signatures.generate().publicKeyPem(), bundle, signature)).isFalse();
        assertThat(Signatures.verify(keys.publicKeyPem(), bundle, "not base64 !")).isFalse();
        assertThat(keys.keyId()).isEqualTo(Signatures.keyId(keys.publicKeyPem())).startsWith("sha256:");
        assertThat(keys.toString()).doesNotContain("PRIVATE");
    }

    @Test
    void opensslVerifiesOurSignatures() throws Exception {
        SigningKeys keys = Signatures.generate();
        Path bundle = Files.write(directory.resolve("weather.capsule"), TestCapsules.bundle());
        Path publicKey = Files.writeString(directory.resolve("key.pub"), keys.publicKeyPem());
        String signature = Signatures.sign(keys.privateKeyPem(), Files.readAllBytes(bundle));
        Path der = Files.write(directory.resolve("sig.der"), Base64.getDecoder().decode(signature));
        assertThat(run("openssl", "dgst", "-sha256", "-verify", publicKey.toString(), "-signature", der.toString(), bundle.toString()))
                .contains("Verified OK");
        Files.write(bundle, TestCapsules.zip(TestCapsules.files(TestCapsules.manifest("other", "1.0.0", "a.example", "1"),
                TestCapsules.sbom("is-number.cdx.json"))));
        assertThat(run("openssl", "dgst", "-sha256", "-verify", publicKey.toString(), "-signature", der.toString(), bundle.toString()))
                .contains("Verification failure");
    }

    @Test
    void verifiesSignaturesAndKeysMadeByOpenssl() throws Exception {
        Path privateKey = directory.resolve("openssl.key");
        Path publicKey = directory.resolve("openssl.pub");
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", privateKey.toString());
        run("openssl", "pkey", "-in", privateKey.toString(), "-pubout", "-out", publicKey.toString());
        Path bundle = Files.write(directory.resolve("weather.capsule"), TestCapsules.bundle());
        Path der = directory.resolve("sig.der");
        run("openssl", "dgst", "-sha256", "-sign", privateKey.toString(), "-out", der.toString(), bundle.toString());
        Path base64 = directory.resolve("sig.b64");
        run("openssl", "base64", "-in", der.toString(), "-out", base64.toString());

        String publicPem = Files.readString(publicKey);
        assertThat(Signatures.verify(publicPem, Files.readAllBytes(bundle), Files.readString(base64))).isTrue();
        assertThat(CapsuleFiles.verify(publicKey, der, bundle)).isTrue();
        assertThat(CapsuleFiles.verify(publicKey, base64, bundle)).isTrue();
        // Our signer reads openssl's PKCS#8 private key, and openssl's key id matches ours.
        String ours = Signatures.sign(Files.readString(privateKey), Files.readAllBytes(bundle));
        assertThat(Signatures.verify(publicPem, Files.readAllBytes(bundle), ours)).isTrue();
        byte[] spki = Base64.getMimeDecoder().decode(publicPem.replaceAll("-----[A-Z ]+-----", "").strip());
        assertThat(Signatures.keyId(publicPem)).isEqualTo("sha256:" + io.somastack.policy.internal.Hashes.sha256(spki));
    }

    @Test
    void refusesKeysThatAreNotP256() throws Exception {
        Path p384 = directory.resolve("p384.key");
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", p384.toString());
        String publicPem = run("openssl", "pkey", "-in", p384.toString(), "-pubout");
        assertThatThrownBy(() -> Signatures.publicKey(publicPem)).isInstanceOf(SomaException.class).hasMessageContaining("P-256");
        Path rsa = directory.resolve("rsa.key");
        run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsa.toString());
        String rsaPublic = run("openssl", "pkey", "-in", rsa.toString(), "-pubout");
        assertThatThrownBy(() -> Signatures.publicKey(rsaPublic)).isInstanceOf(SomaException.class);
        assertThatThrownBy(() -> Signatures.publicKey("hello")).hasMessageContaining("Expected a PEM 'PUBLIC KEY' block");
    }

    static String run(String... command) throws IOException, InterruptedException {
        List<String> line = new ArrayList<>(List.of(command));
        Process process = new ProcessBuilder(line).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor();
        return output;
    }
}
