package io.somastack.tools.internal;

import java.net.URI;
import java.util.List;
import java.util.Locale;

/**
 * A capsule's declared egress ({@code permissions.egress}): {@code host}, {@code *.domain}
 * (any subdomain, not the domain itself), each optionally with {@code :port}; an entry without
 * a port allows any port of that host.
 */
public final class Egress {
    private Egress() {
    }

    public static boolean declared(List<String> egress, URI url) {
        String host = url.getHost() == null ? "" : url.getHost().toLowerCase(Locale.ROOT);
        int port = port(url);
        for (String entry : egress) {
            String pattern = entry.toLowerCase(Locale.ROOT);
            int colon = pattern.lastIndexOf(':');
            if (colon > 0) {
                if (Integer.parseInt(pattern.substring(colon + 1)) != port) {
                    continue;
                }
                pattern = pattern.substring(0, colon);
            }
            if (pattern.startsWith("*.") ? host.endsWith(pattern.substring(1)) && host.length() > pattern.length() - 1 : host.equals(pattern)) {
                return true;
            }
        }
        return false;
    }

    /** {@code host:port} with the scheme's default port filled in. */
    public static String hostPort(URI url) {
        return url.getHost() + ":" + port(url);
    }

    public static int port(URI url) {
        return url.getPort() != -1 ? url.getPort() : "https".equalsIgnoreCase(url.getScheme()) ? 443 : 80;
    }
}
