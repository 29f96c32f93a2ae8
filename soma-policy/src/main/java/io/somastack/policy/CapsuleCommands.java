package io.somastack.policy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code somastack capsule init|pack|keygen|sign|verify}: the local half of the capsule
 * workflow (publish and install are the marketplace's). Register it as a subcommand of
 * the {@code somastack} command. Exit codes: 0 success, 1 a signature that does not verify.
 */
@Command(name = "capsule", description = "Make, pack, sign and verify capsule bundles.", mixinStandardHelpOptions = true,
        subcommands = {CapsuleCommands.Init.class, CapsuleCommands.Pack.class, CapsuleCommands.Keygen.class, CapsuleCommands.Sign.class,
                CapsuleCommands.Verify.class})
public final class CapsuleCommands implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "init", description = "Write a skeleton capsule into a new directory.")
    static final class Init implements Callable<Integer> {
        @Parameters(index = "0", description = "Directory to create") Path directory;
        @Option(names = "--name", required = true, description = "Capsule name (lowercase, digits, '-')") String name;
        @Option(names = "--publisher", required = true, description = "Publisher id") String publisher;

        @Override
        public Integer call() {
            CapsuleFiles.init(directory, name, publisher);
            System.out.printf("Wrote %s; replace sbom.cdx.json with one your SBOM generator makes%n", directory);
            return 0;
        }
    }

    @Command(name = "pack", description = "Zip a capsule directory deterministically and check it.")
    static final class Pack implements Callable<Integer> {
        @Parameters(index = "0", description = "Capsule directory") Path directory;
        @Option(names = {"-o", "--output"}, required = true, description = "Bundle file to write") Path output;

        @Override
        public Integer call() throws Exception {
            byte[] packed = CapsuleFiles.pack(directory);
            CapsuleBundle bundle = new BundleReader(BundleLimits.defaults()).read(packed);
            Files.write(output, packed);
            System.out.printf("%s %s (%d bytes)%n", bundle.coordinates(), bundle.digest(), packed.length);
            return 0;
        }
    }

    @Command(name = "keygen", description = "Make an ECDSA P-256 key pair: <prefix>.key and <prefix>.pub.")
    static final class Keygen implements Callable<Integer> {
        @Option(names = "--output-prefix", defaultValue = "capsule", description = "File name prefix (default: capsule)") Path prefix;

        @Override
        public Integer call() {
            System.out.println(CapsuleFiles.keygen(prefix));
            return 0;
        }
    }

    @Command(name = "sign", description = "Sign a bundle file; prints or writes the base64 signature.")
    static final class Sign implements Callable<Integer> {
        @Option(names = "--key", required = true, description = "PEM private key (PKCS#8)") Path key;
        @Option(names = "--output-signature", description = "Signature file to write") Path signature;
        @Parameters(index = "0", description = "Bundle file") Path bundle;

        @Override
        public Integer call() throws Exception {
            String value = CapsuleFiles.sign(key, bundle);
            if (signature == null) {
                System.out.println(value);
            } else {
                Files.writeString(signature, value, StandardCharsets.US_ASCII);
            }
            return 0;
        }
    }

    @Command(name = "verify", description = "Verify a bundle's signature and check the bundle.")
    static final class Verify implements Callable<Integer> {
        @Option(names = "--key", required = true, description = "PEM public key") Path key;
        @Option(names = "--signature", required = true, description = "Signature file (base64 or DER)") Path signature;
        @Parameters(index = "0", description = "Bundle file") Path bundle;

        @Override
        public Integer call() {
            if (!CapsuleFiles.verify(key, signature, bundle)) {
                System.err.println("Verification failed: the signature does not match this bundle and key");
                return 1;
            }
            CapsuleBundle checked = CapsuleFiles.inspect(bundle);
            System.out.printf("Verified OK: %s %s%n", checked.coordinates(), checked.digest());
            return 0;
        }
    }
}
