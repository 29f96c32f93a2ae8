package io.somastack.console;

/**
 * Escaping for server-rendered HTML. Every value that reaches a page passes through
 * {@link #text}: the pages are Java text blocks, so what is escaped is visible where it is used.
 */
final class Html {
    private Html() {
    }

    /** {@code value} as HTML text or a double-quoted attribute value. */
    static String text(Object value) {
        String text = String.valueOf(value);
        StringBuilder out = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    /** A query-string value. */
    static String url(String value) {
        return java.net.URLEncoder.encode(value, java.nio.charset.StandardCharsets.UTF_8);
    }
}
