package io.somastack.bench;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * Real English text for memory benchmarks from Debian's packaged documentation and text
 * packages (all in Debian main): dictionaries (GCIDE, WordNet, FOLDOC, the Jargon File, the
 * Devil's Dictionary), fortunes, the Linux kernel's documentation, the manuals of Python, Perl,
 * PostgreSQL, Rust, Git, Erlang, Django, pandas, Node.js, Octave, Maxima, SQLite and more,
 * Debian's own books and policy, GNOME's and LibreOffice's help, and the man pages. Packages
 * are fetched with {@code apt-get download} (no root needed) and unpacked with
 * {@code dpkg-deb -x} into the cache directory ({@code ~/.cache/somastack-bench/corpus}, or
 * the system property {@code soma.bench.corpus}); each file's prose is extracted by its format
 * ({@link DocumentText}) and kept by {@link ProseSentences}; each text is kept once (exactly
 * and case-insensitively), attributed to the first source that has it. The result is cached as
 * one file ({@code debian-doc-texts-v3.tsv}: source, tab, text), so later runs read it in
 * seconds. {@code main} builds it and prints the counts per source.
 */
final class DebianDocTexts {
    static final String CACHE_FILE = "debian-doc-texts-v3.tsv";

    /** One package and which of its files hold prose of which format (a regex over the path inside the package). */
    record Source(String packageName, Pattern files, DocumentText format) {
        Source(String packageName, String files, DocumentText format) {
            this(packageName, Pattern.compile(files), format);
        }
    }

    /** A kept text and the package it came from. */
    record Text(String source, String text) {
    }

    static final List<Source> SOURCES = List.of(
            new Source("dict-gcide", ".*/gcide\\.dict\\.dz$", DocumentText.WEBSTER_DICTIONARY),
            new Source("dict-wn", ".*/wn\\.dict\\.dz$", DocumentText.WORDNET_DICTIONARY),
            new Source("dict-foldoc", ".*/foldoc\\.dict\\.dz$", DocumentText.DICTIONARY),
            new Source("dict-jargon", ".*/jargon\\.dict\\.dz$", DocumentText.DICTIONARY),
            new Source("dict-devil", ".*/devil\\.dict\\.dz$", DocumentText.DICTIONARY),
            new Source("fortunes", "usr/share/games/fortunes/[^./]+$", DocumentText.FORTUNE),
            new Source("fortunes-min", "usr/share/games/fortunes/[^./]+$", DocumentText.FORTUNE),
            new Source("linux-doc-6.1", ".*/Documentation/.*\\.(rst|txt)(\\.gz)?$", DocumentText.TEXT),
            new Source("python3.11-doc", "usr/share/doc/python3.11/html/.*\\.html$", DocumentText.HTML),
            new Source("perl-doc", ".*\\.pod$", DocumentText.POD),
            new Source("postgresql-doc-15", ".*/html/.*\\.html$", DocumentText.HTML),
            new Source("rust-doc", ".*\\.html$", DocumentText.HTML),
            new Source("git-doc", "usr/share/doc/git-doc/.*\\.txt$", DocumentText.TEXT),
            new Source("debian-reference-en", ".*\\.html$", DocumentText.HTML),
            new Source("debian-policy", ".*\\.html$", DocumentText.HTML),
            new Source("developers-reference", ".*\\.html$", DocumentText.HTML),
            new Source("debian-handbook", ".*/html/en-US/.*\\.html$", DocumentText.HTML),
            new Source("gnome-user-docs", "usr/share/help/C/.*\\.page$", DocumentText.HTML),
            new Source("libreoffice-help-en-us", ".*\\.html$", DocumentText.HTML),
            new Source("erlang-doc", ".*\\.html$", DocumentText.HTML),
            new Source("python-django-doc", ".*\\.html$", DocumentText.HTML),
            new Source("python-pandas-doc", ".*\\.html$", DocumentText.HTML),
            new Source("nodejs-doc", ".*/api/.*\\.html$", DocumentText.HTML),
            new Source("octave-doc", ".*\\.html$", DocumentText.HTML),
            new Source("maxima-doc", ".*\\.html$", DocumentText.HTML),
            new Source("sqlite3-doc", ".*\\.html$", DocumentText.HTML),
            new Source("sphinx-doc", ".*\\.html$", DocumentText.HTML),
            new Source("postfix-doc", ".*\\.html$", DocumentText.HTML),
            new Source("zsh-doc", ".*\\.html$", DocumentText.HTML),
            new Source("bash-doc", ".*\\.html$", DocumentText.HTML),
            new Source("manpages", "usr/share/man/man\\d/.*\\.gz$", DocumentText.MAN),
            new Source("manpages-dev", "usr/share/man/man\\d/.*\\.gz$", DocumentText.MAN),
            new Source("tcl8.6-doc", "usr/share/man/man\\d/.*\\.gz$", DocumentText.MAN),
            new Source("python-scipy-doc", ".*/html/.*\\.html$", DocumentText.HTML),
            new Source("ghc-doc", ".*\\.html$", DocumentText.HTML),
            new Source("qtbase5-doc-html", ".*\\.html$", DocumentText.HTML),
            new Source("cmake-doc", ".*\\.html$", DocumentText.HTML),
            new Source("gimp-help-en", ".*/help/en/.*\\.html$", DocumentText.HTML),
            new Source("lilypond-doc-html", ".*/[^/.]+\\.html$", DocumentText.HTML),
            new Source("apache2-doc", ".*/manual/en/.*\\.html$", DocumentText.HTML),
            new Source("installation-guide-amd64", ".*/installation-guide-amd64/en/.*\\.html$", DocumentText.HTML),
            new Source("libssl-doc", "usr/share/man/man\\d/.*\\.gz$", DocumentText.MAN),
            new Source("llvm-15-doc", ".*\\.html$", DocumentText.HTML),
            new Source("clang-15-doc", ".*\\.html$", DocumentText.HTML),
            new Source("gnome-devel-docs", "usr/share/help/C/.*\\.page$", DocumentText.HTML),
            new Source("kicad-doc-en", ".*/help/en/.*\\.html$", DocumentText.HTML),
            new Source("python-sqlalchemy-doc", ".*/html/.*\\.html$", DocumentText.HTML),
            new Source("grass-doc", ".*/html/.*\\.html$", DocumentText.HTML),
            new Source("postgis-doc", ".*\\.html$", DocumentText.HTML),
            new Source("libgtk-4-doc", ".*\\.html$", DocumentText.HTML),
            new Source("libglib2.0-doc", ".*\\.html$", DocumentText.HTML),
            new Source("mercurial-common", ".*/helptext/.*\\.txt$", DocumentText.TEXT),
            new Source("systemd", "usr/share/man/man\\d/.*\\.gz$", DocumentText.MAN),
            new Source("gnucash-docs", "usr/share/help/C/.*\\.xml$", DocumentText.HTML));
    /** Generated pages of source code and Sphinx's copies of the reST sources are not prose. */
    private static final Pattern NOT_PROSE = Pattern.compile(".*/(_sources|_modules|_static|src)/.*");

    private DebianDocTexts() {
    }

    public static void main(String[] arguments) {
        List<Text> texts = load();
        Map<String, Integer> counts = new LinkedHashMap<>();
        texts.forEach(text -> counts.merge(text.source(), 1, Integer::sum));
        System.out.println("| package | licenses (debian/copyright) | distinct texts |\n|---|---|---:|");
        for (Source source : SOURCES) {
            System.out.printf("| %s | %s | %,d |%n", source.packageName(), licenses(source.packageName()),
                    counts.getOrDefault(source.packageName(), 0));
        }
        System.out.printf("| all | | %,d |%n", texts.size());
    }

    /** The distinct {@code License:} names of the package's machine-readable copyright file, as Debian states them. */
    static String licenses(String packageName) {
        Path copyright = cacheDirectory().resolve("unpacked").resolve(packageName).resolve("usr/share/doc").resolve(packageName).resolve("copyright");
        try (Stream<String> lines = Files.lines(copyright, StandardCharsets.ISO_8859_1)) {
            List<String> names = lines.filter(line -> line.startsWith("License: ")).map(line -> line.substring(9).strip()).distinct().limit(4)
                    .toList();
            return names.isEmpty() ? "see /usr/share/doc/%s/copyright".formatted(packageName) : String.join("; ", names);
        } catch (IOException e) {
            return "see /usr/share/doc/%s/copyright".formatted(packageName);
        }
    }

    static Path cacheDirectory() {
        String configured = System.getProperty("soma.bench.corpus");
        return configured != null ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "somastack-bench", "corpus");
    }

    /** The texts of every source, from the cache file if it exists, else built (downloading what is missing) and cached. */
    static List<Text> load() {
        Path cache = cacheDirectory().resolve(CACHE_FILE);
        try {
            if (!Files.exists(cache)) {
                build(cache);
            }
            List<Text> texts = new ArrayList<>();
            try (Stream<String> lines = Files.lines(cache)) {
                lines.forEach(line -> {
                    int tab = line.indexOf('\t');
                    texts.add(new Text(line.substring(0, tab), line.substring(tab + 1)));
                });
            }
            return texts;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot build or read " + cache, e);
        }
    }

    private static void build(Path cache) throws IOException {
        Files.createDirectories(cache.getParent());
        Set<String> seen = new HashSet<>();
        Path partial = cache.resolveSibling(CACHE_FILE + ".partial");
        try (BufferedWriter out = Files.newBufferedWriter(partial)) {
            for (Source source : SOURCES) {
                long started = System.nanoTime();
                Path unpacked = unpacked(source.packageName());
                List<Path> files;
                try (Stream<Path> walk = Files.walk(unpacked)) {
                    files = walk.filter(Files::isRegularFile)
                            .filter(file -> source.files().matcher(unpacked.relativize(file).toString()).matches())
                            .filter(file -> !NOT_PROSE.matcher(unpacked.relativize(file).toString()).matches()).sorted().toList();
                }
                List<List<String>> perFile = files.parallelStream().map(file -> source.format().texts(read(file))).toList();
                int kept = 0;
                int found = 0;
                for (List<String> texts : perFile) {
                    for (String text : texts) {
                        found++;
                        if (seen.add(text.toLowerCase(Locale.ROOT))) {
                            out.write(source.packageName() + '\t' + text + '\n');
                            kept++;
                        }
                    }
                }
                System.out.printf("  %-24s %,6d files, %,9d texts, %,9d new (%.1f s)%n", source.packageName(), files.size(), found, kept,
                        (System.nanoTime() - started) / 1e9);
            }
        }
        Files.move(partial, cache, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The package unpacked in the cache directory, downloaded and unpacked first if missing. */
    private static Path unpacked(String packageName) throws IOException {
        Path directory = cacheDirectory().resolve("unpacked").resolve(packageName);
        if (Files.isDirectory(directory)) {
            return directory;
        }
        Path debs = Files.createDirectories(cacheDirectory().resolve("debs"));
        Path deb = findDeb(debs, packageName);
        if (deb == null) {
            System.out.printf("  downloading %s with apt-get download%n", packageName);
            run(debs, "apt-get", "download", packageName);
            deb = findDeb(debs, packageName);
            if (deb == null) {
                throw new IllegalStateException("apt-get download %s left no .deb in %s (try apt-get update)".formatted(packageName, debs));
            }
        }
        System.out.printf("  unpacking %s%n", deb.getFileName());
        Path partial = Files.createDirectories(directory.getParent()).resolve(packageName + ".partial");
        run(debs, "dpkg-deb", "-x", deb.toString(), partial.toString());
        Files.move(partial, directory, StandardCopyOption.ATOMIC_MOVE);
        return directory;
    }

    private static Path findDeb(Path debs, String packageName) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(debs, packageName + "_*.deb")) {
            for (Path file : files) {
                return file;
            }
        }
        return null;
    }

    private static void run(Path directory, String... command) throws IOException {
        try {
            Process process = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (process.waitFor() != 0) {
                throw new IllegalStateException("%s failed: %s".formatted(String.join(" ", command), output.strip()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A file's text, gunzipped if it ends in .gz or .dz (dictzip is gzip), malformed UTF-8 replaced. */
    private static String read(Path file) {
        String name = file.getFileName().toString();
        try (InputStream raw = Files.newInputStream(file);
                InputStream in = name.endsWith(".gz") || name.endsWith(".dz") ? new GZIPInputStream(raw, 65_536) : raw) {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE).decode(ByteBuffer.wrap(in.readAllBytes())).toString();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file, e);
        }
    }
}
