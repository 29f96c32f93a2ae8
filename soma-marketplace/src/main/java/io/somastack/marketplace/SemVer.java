package io.somastack.marketplace;

import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.SomaException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A semantic version (SemVer 2.0.0) ordered by precedence: numbers numerically, a release
 * above its pre-releases, pre-release identifiers compared one by one (numeric below
 * alphanumeric), build metadata ignored.
 */
public record SemVer(long major, long minor, long patch, Optional<String> prerelease, String text) implements Comparable<SemVer> {
    private static final Pattern SEMVER = Pattern.compile(
            "^(0|[1-9]\\d{0,17})\\.(0|[1-9]\\d{0,17})\\.(0|[1-9]\\d{0,17})(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?$");

    public static SemVer parse(String text) {
        Matcher matcher = SEMVER.matcher(text == null ? "" : text);
        if (!matcher.matches()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "'%s' is not a semantic version such as 1.2.3".formatted(text));
        }
        return new SemVer(Long.parseLong(matcher.group(1)), Long.parseLong(matcher.group(2)), Long.parseLong(matcher.group(3)),
                Optional.ofNullable(matcher.group(4)), text);
    }

    public boolean isRelease() {
        return prerelease.isEmpty();
    }

    @Override
    public int compareTo(SemVer other) {
        int numbers = compareNumbers(other);
        if (numbers != 0) {
            return numbers;
        }
        if (prerelease.isEmpty() || other.prerelease.isEmpty()) {
            return Boolean.compare(prerelease.isEmpty(), other.prerelease.isEmpty());
        }
        String[] mine = prerelease.get().split("\\.");
        String[] theirs = other.prerelease.get().split("\\.");
        for (int i = 0; i < Math.min(mine.length, theirs.length); i++) {
            int order = compareIdentifier(mine[i], theirs[i]);
            if (order != 0) {
                return order;
            }
        }
        return Integer.compare(mine.length, theirs.length);
    }

    private int compareNumbers(SemVer other) {
        int order = Long.compare(major, other.major);
        if (order == 0) {
            order = Long.compare(minor, other.minor);
        }
        return order != 0 ? order : Long.compare(patch, other.patch);
    }

    private static int compareIdentifier(String a, String b) {
        boolean numericA = a.chars().allMatch(Character::isDigit);
        boolean numericB = b.chars().allMatch(Character::isDigit);
        if (numericA && numericB) {
            return a.length() != b.length() ? Integer.compare(a.length(), b.length()) : a.compareTo(b);
        }
        if (numericA != numericB) {
            return numericA ? -1 : 1;
        }
        return a.compareTo(b);
    }

    @Override
    public String toString() {
        return text;
    }
}
