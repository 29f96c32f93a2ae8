package io.somastack.tools.internal;

import static java.util.Objects.requireNonNull;

import io.somastack.tools.Resolver;
import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Decides which addresses a tool may connect to. A host is resolved once: an IP literal in any
 * spelling ({@code 127.0.0.1}, decimal {@code 2130706433}, hex and octal parts such as
 * {@code 0x7f.1}, IPv6 including IPv4-mapped {@code ::ffff:127.0.0.1}) is parsed here; a name
 * goes to the {@link Resolver}. Every address it resolves to must be public: loopback,
 * private (RFC 1918, fc00::/7), link-local (169.254.0.0/16 with cloud metadata, fe80::/10),
 * CGNAT (100.64.0.0/10), multicast, unspecified and reserved addresses are refused unless the
 * operator's allow-list ({@code tools.egress.allow-addresses}) names them. The caller connects
 * to the returned addresses, never resolving again. Thread-safe.
 */
public final class SsrfGuard {
    private final Resolver resolver;
    private final List<Cidr> allowed;

    public SsrfGuard(Resolver resolver, List<String> allowAddresses) {
        this.resolver = requireNonNull(resolver, "resolver is null");
        List<Cidr> cidrs = new ArrayList<>();
        for (String entry : allowAddresses) {
            cidrs.add(Cidr.parse(entry));
        }
        this.allowed = List.copyOf(cidrs);
    }

    /** A refused connection: {@code reason} is the address class ({@code loopback}, {@code private}, ...) or {@code unresolvable}. */
    public static final class Refused extends RuntimeException {
        private final String reason;

        public Refused(String reason, String message) {
            super(message, null, false, false);
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }

    /** The addresses {@code host} may be reached at, or {@link Refused} naming why not. */
    public List<InetAddress> check(String host) {
        String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        List<InetAddress> addresses;
        InetAddress literal = literal(bare);
        if (literal != null) {
            addresses = List.of(literal);
        } else {
            try {
                addresses = resolver.resolve(bare.toLowerCase(Locale.ROOT));
            } catch (UnknownHostException e) {
                throw new Refused("unresolvable", "%s does not resolve".formatted(host));
            }
            if (addresses.isEmpty()) {
                throw new Refused("unresolvable", "%s does not resolve".formatted(host));
            }
        }
        for (InetAddress address : addresses) {
            String kind = forbidden(address);
            if (kind != null && allowed.stream().noneMatch(cidr -> cidr.contains(address))) {
                throw new Refused(kind, "%s resolves to %s, a %s address, which tools may not reach (an operator can allow it with "
                        .formatted(host, address.getHostAddress(), kind.replace('_', '-')) + "tools.egress.allow-addresses)");
            }
        }
        return addresses;
    }

    /** The class of a forbidden address, or null for a public one. */
    static String forbidden(InetAddress address) {
        if (address instanceof Inet6Address v6) {
            byte[] b = v6.getAddress();
            InetAddress embedded = embeddedIpv4(b);
            if (embedded != null) {
                return forbidden(embedded);
            }
            if (v6.isLoopbackAddress()) {
                return "loopback";
            }
            if (v6.isAnyLocalAddress()) {
                return "unspecified";
            }
            if (v6.isLinkLocalAddress()) {
                return "link_local";
            }
            if (v6.isSiteLocalAddress()) {
                return "private";
            }
            if (v6.isMulticastAddress()) {
                return "multicast";
            }
            if ((b[0] & 0xFE) == 0xFC) {
                return "private";
            }
            return null;
        }
        byte[] b = address.getAddress();
        int a0 = b[0] & 0xFF;
        int a1 = b[1] & 0xFF;
        if (a0 == 127) {
            return "loopback";
        }
        if (a0 == 0) {
            return "unspecified";
        }
        if (a0 == 10 || (a0 == 172 && a1 >= 16 && a1 <= 31) || (a0 == 192 && a1 == 168)) {
            return "private";
        }
        if (a0 == 169 && a1 == 254) {
            return "link_local";
        }
        if (a0 == 100 && a1 >= 64 && a1 <= 127) {
            return "cgnat";
        }
        if (a0 >= 224 && a0 <= 239) {
            return "multicast";
        }
        if (a0 >= 240 || (a0 == 192 && a1 == 0 && (b[2] & 0xFF) == 0) || (a0 == 198 && (a1 == 18 || a1 == 19))) {
            return "reserved";
        }
        return null;
    }

    /** The IPv4 address inside an IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96) or NAT64 (64:ff9b::/96) IPv6 address. */
    private static InetAddress embeddedIpv4(byte[] b) {
        boolean zeros = true;
        for (int i = 0; i < 10; i++) {
            zeros &= b[i] == 0;
        }
        boolean mapped = zeros && (b[10] & 0xFF) == 0xFF && (b[11] & 0xFF) == 0xFF;
        boolean compatible = zeros && b[10] == 0 && b[11] == 0 && !(b[12] == 0 && b[13] == 0 && b[14] == 0 && (b[15] & 0xFE) == 0);
        boolean nat64 = (b[0] & 0xFF) == 0x00 && (b[1] & 0xFF) == 0x64 && (b[2] & 0xFF) == 0xFF && (b[3] & 0xFF) == 0x9B;
        if (!mapped && !compatible && !nat64) {
            return null;
        }
        try {
            return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /**
     * An IP literal as resolvers (inet_aton) and browsers read it: IPv6 with colons, or IPv4 of
     * one to four parts, each decimal, octal (leading 0) or hex (0x), the last filling the
     * remaining bytes ({@code 2130706433}, {@code 0x7f.1}, {@code 0177.0.0.1}). Null for a name.
     */
    static InetAddress literal(String host) {
        try {
            if (host.contains(":")) {
                return InetAddress.getByName(host);
            }
            String[] parts = host.split("\\.", -1);
            if (parts.length < 1 || parts.length > 4) {
                return null;
            }
            long[] values = new long[parts.length];
            for (int i = 0; i < parts.length; i++) {
                BigInteger value = number(parts[i]);
                if (value == null) {
                    return null;
                }
                if (value.bitLength() > 32) {
                    throw new Refused("invalid_address", "%s is not a valid address".formatted(host));
                }
                values[i] = value.longValue();
            }
            long address = 0;
            for (int i = 0; i < parts.length - 1; i++) {
                if (values[i] > 255) {
                    throw new Refused("invalid_address", "%s is not a valid address".formatted(host));
                }
                address = (address << 8) | values[i];
            }
            int rest = 4 - (parts.length - 1);
            long last = values[parts.length - 1];
            if (last >= (1L << (8 * rest))) {
                throw new Refused("invalid_address", "%s is not a valid address".formatted(host));
            }
            address = (address << (8 * rest)) | last;
            return InetAddress.getByAddress(new byte[] {(byte) (address >> 24), (byte) (address >> 16), (byte) (address >> 8), (byte) address});
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private static BigInteger number(String part) {
        try {
            if (part.isEmpty()) {
                return null;
            }
            String lower = part.toLowerCase(Locale.ROOT);
            if (lower.startsWith("0x")) {
                return lower.length() == 2 ? BigInteger.ZERO : new BigInteger(lower.substring(2), 16);
            }
            if (lower.length() > 1 && lower.startsWith("0")) {
                return new BigInteger(lower.substring(1), 8);
            }
            return new BigInteger(lower, 10);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** An address or CIDR range of the operator's allow-list. */
    record Cidr(byte[] network, int prefix) {
        static Cidr parse(String text) {
            String[] parts = text.trim().split("/", 2);
            InetAddress address = literal(parts[0]);
            if (address == null) {
                throw new IllegalArgumentException("tools.egress.allow-addresses: '%s' is not an address or CIDR range".formatted(text));
            }
            byte[] bytes = address.getAddress();
            int prefix = parts.length == 2 ? Integer.parseInt(parts[1]) : bytes.length * 8;
            return new Cidr(bytes, prefix);
        }

        boolean contains(InetAddress address) {
            byte[] bytes = address.getAddress();
            if (bytes.length != network.length) {
                return false;
            }
            for (int bit = 0; bit < prefix; bit++) {
                int mask = 0x80 >> (bit % 8);
                if ((bytes[bit / 8] & mask) != (network[bit / 8] & mask)) {
                    return false;
                }
            }
            return true;
        }
    }
}
