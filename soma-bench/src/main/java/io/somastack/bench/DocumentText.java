package io.somastack.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The prose of one document file by its format, as {@link ProseSentences} keeps it: HTML (and
 * GNOME's Mallard pages), plain text and reStructuredText, Perl's POD, man pages (groff, stripped
 * here rather than by running {@code man} per page), dictd dictionaries (GCIDE, WordNet and the
 * plain ones such as FOLDOC) and fortune files. Code blocks ({@code <pre>}, {@code <screen>},
 * verbatim paragraphs, {@code .nf}/{@code .EX} blocks, literal blocks after {@code ::}) are
 * dropped, never split into "sentences".
 */
enum DocumentText {
    HTML, TEXT, POD, MAN, WEBSTER_DICTIONARY, WORDNET_DICTIONARY, DICTIONARY, FORTUNE;

    private static final Pattern BLANK_LINES = Pattern.compile("\\n\\s*\\n");
    private static final Pattern HTML_DROPPED = Pattern.compile(
            "(?is)<!--.*?-->|<(script|style|pre|screen|head|info|nav|svg|math|textarea|code\\s+mime|programlisting|literallayout|synopsis)\\b.*?</\\1\\s*>");
    private static final Pattern HTML_BLOCK = Pattern.compile("(?i)</?(p|div|br|li|ul|ol|dl|dd|dt|h[1-6]|tr|td|th|table|section|"
            + "blockquote|title|header|footer|figcaption|caption|article|aside|main|body|html|item|note|terms|list|steps|desc|page|"
            + "tree|subtitle|example|figure|details|summary|para|simpara|entry|term|listitem|row|glossdef|glossterm|span\\s+class=\"(?:since|rightside|out-of-band)\")\\b[^>]*>");
    private static final Pattern HTML_TAG = Pattern.compile("<[^>]*>");
    private static final Pattern ENTITY = Pattern.compile("&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);");
    private static final Map<String, String> ENTITIES = Map.ofEntries(Map.entry("amp", "&"), Map.entry("lt", "<"),
            Map.entry("gt", ">"), Map.entry("quot", "\""), Map.entry("apos", "'"), Map.entry("nbsp", " "), Map.entry("mdash", "\u2014"),
            Map.entry("ndash", "\u2013"), Map.entry("rsquo", "\u2019"), Map.entry("lsquo", "\u2018"), Map.entry("rdquo", "\u201d"),
            Map.entry("ldquo", "\u201c"), Map.entry("hellip", "\u2026"), Map.entry("copy", "\u00a9"));
    private static final Pattern RST_ROLE = Pattern.compile(":[a-z:]+:`([^`<]*?)\\s*(?:<[^>]*>)?`");
    private static final Pattern RST_MARKUP = Pattern.compile("``|`_{0,2}|\\*\\*");
    private static final Pattern UNDERLINE = Pattern.compile("^\\s*([=\\-~^\"'`#*+_.:])\\1{2,}\\s*$");
    private static final Pattern BULLET = Pattern.compile("^\\s*(?:[-*+\u2022]|#\\.|\\d+[.)]|\\([a-z0-9]\\))\\s+");
    private static final Pattern POD_CODE = Pattern.compile("[A-Z]<([^<>]*)>");
    private static final Pattern POD_DOUBLE = Pattern.compile("[A-Z]<<+\\s(.*?)\\s>>+");
    private static final Pattern GROFF_FONT = Pattern.compile("\\\\f(?:\\[[^\\]]*\\]|\\(..|.)|\\\\s[-+]?\\d+|\\\\[&%:]|\\\\\\*(?:\\(..|\\[[^\\]]*\\]|.)");
    private static final Pattern GROFF_NAMED = Pattern.compile("\\\\\\[([a-z]{2})\\]");
    private static final Map<String, String> GROFF_GLYPHS = Map.of("aq", "'", "dq", "\"", "em", "\u2014", "en", "\u2013", "lq", "\u201c",
            "rq", "\u201d", "ti", "~", "ha", "^", "rs", "\\");
    private static final Pattern GROFF_TEXT_MACRO = Pattern.compile("^\\.(B|I|BR|BI|IR|RB|IB|RI|SM|SB)\\s+(.*)$");
    private static final Pattern NESTED_BRACKETS = Pattern.compile("\\[[^\\[\\]]*\\]");
    private static final Pattern PRONUNCIATION = Pattern.compile("\\\\[^\\\\]*\\\\");
    private static final Pattern SENSE_NUMBER = Pattern.compile("^(?:\\d+\\.|\\([a-z]\\))\\s+");
    private static final Pattern ATTRIBUTION = Pattern.compile("\\s*--\\s?[A-Z][^.]{0,60}\\.?\\s*$");
    private static final Pattern WORDNET_SENSE = Pattern.compile("(?:\\b(?:n|v|adj|adv)\\s+)?\\b\\d+:\\s");
    private static final Pattern WORDNET_LINKS = Pattern.compile("\\[(?:syn|ant|also|see|pl)\\b[^\\]]*\\]");
    private static final Pattern QUOTED = Pattern.compile("\"([^\"]+)\"");

    /** The kept texts of one file's content. */
    List<String> texts(String content) {
        return switch (this) {
            case HTML -> html(content);
            case TEXT -> text(content);
            case POD -> pod(content);
            case MAN -> man(content);
            case WEBSTER_DICTIONARY -> webster(content);
            case WORDNET_DICTIONARY -> wordnet(content);
            case DICTIONARY -> dictionary(content);
            case FORTUNE -> fortunes(content);
        };
    }

    private static List<String> html(String content) {
        String text = HTML_DROPPED.matcher(content).replaceAll("\n\n");
        text = HTML_BLOCK.matcher(text).replaceAll("\n\n");
        text = HTML_TAG.matcher(text).replaceAll("");
        List<String> kept = new ArrayList<>();
        for (String paragraph : BLANK_LINES.split(text)) {
            kept.addAll(ProseSentences.sentences(entities(paragraph)));
        }
        return kept;
    }

    static String entities(String text) {
        if (text.indexOf('&') < 0) {
            return text;
        }
        Matcher matcher = ENTITY.matcher(text);
        StringBuilder out = new StringBuilder(text.length());
        while (matcher.find()) {
            String name = matcher.group(1);
            String replacement;
            if (name.startsWith("#x")) {
                replacement = Character.toString(Integer.parseInt(name.substring(2), 16));
            } else if (name.startsWith("#")) {
                replacement = Character.toString(Integer.parseInt(name.substring(1)));
            } else {
                replacement = ENTITIES.getOrDefault(name, matcher.group());
            }
            matcher.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        matcher.appendTail(out);
        return out.toString();
    }

    private static List<String> text(String content) {
        List<String> kept = new ArrayList<>();
        boolean literal = false;
        for (String paragraph : BLANK_LINES.split(content.replace("\r", ""))) {
            boolean indented = paragraph.startsWith("\t") || paragraph.startsWith("    ") || paragraph.startsWith("\n    ");
            boolean skip = (literal && indented) || paragraph.strip().startsWith("..") || paragraph.strip().startsWith("|");
            literal = paragraph.stripTrailing().endsWith("::") || (literal && indented);
            if (skip) {
                continue;
            }
            StringBuilder joined = new StringBuilder();
            for (String line : paragraph.split("\n")) {
                if (!UNDERLINE.matcher(line).matches()) {
                    joined.append(BULLET.matcher(line).replaceFirst("")).append(' ');
                }
            }
            String prose = RST_MARKUP.matcher(RST_ROLE.matcher(joined).replaceAll("$1")).replaceAll("");
            kept.addAll(ProseSentences.sentences(prose.replace("::", ":")));
        }
        return kept;
    }

    private static List<String> pod(String content) {
        List<String> kept = new ArrayList<>();
        for (String paragraph : BLANK_LINES.split(content)) {
            if (paragraph.isBlank() || Character.isWhitespace(paragraph.charAt(0)) || paragraph.startsWith("=")) {
                continue;
            }
            String text = POD_DOUBLE.matcher(paragraph).replaceAll("$1");
            for (String previous = null; !text.equals(previous); ) {
                previous = text;
                text = POD_CODE.matcher(text).replaceAll(match -> Matcher.quoteReplacement(podCode(match.group(1))));
            }
            kept.addAll(ProseSentences.sentences(text));
        }
        return kept;
    }

    private static String podCode(String inner) {
        return inner.contains("|") ? inner.substring(0, inner.indexOf('|')) : inner.equals("gt") ? ">" : inner.equals("lt") ? "<" : inner;
    }

    private static List<String> man(String content) {
        List<String> kept = new ArrayList<>();
        StringBuilder paragraph = new StringBuilder();
        boolean noFill = false;
        for (String line : content.split("\n")) {
            if (line.startsWith(".nf") || line.startsWith(".EX")) {
                noFill = true;
            } else if (line.startsWith(".fi") || line.startsWith(".EE")) {
                noFill = false;
            } else if (noFill) {
                continue;
            } else if (line.startsWith(".") || line.startsWith("'")) {
                Matcher text = GROFF_TEXT_MACRO.matcher(line);
                if (text.matches()) {
                    paragraph.append(text.group(2).replace("\"", "")).append(' ');
                } else if (!line.startsWith(".\\\"") && !line.startsWith("'\\\"")) {
                    kept.addAll(ProseSentences.sentences(groffText(paragraph.toString())));
                    paragraph.setLength(0);
                }
            } else {
                paragraph.append(line).append(' ');
            }
        }
        kept.addAll(ProseSentences.sentences(groffText(paragraph.toString())));
        return kept;
    }

    private static String groffText(String text) {
        String plain = GROFF_NAMED.matcher(text).replaceAll(match -> Matcher.quoteReplacement(GROFF_GLYPHS.getOrDefault(match.group(1), "")));
        plain = plain.replace("\\-", "-").replace("\\(em", "\u2014").replace("\\(en", "\u2013").replace("\\(aq", "'")
                .replace("\\(dq", "\"").replace("\\(lq", "\u201c").replace("\\(rq", "\u201d").replace("\\e", "\\")
                .replace("\\ ", " ").replace("\\~", " ").replace("\\c", "");
        return GROFF_FONT.matcher(plain).replaceAll("").replace("\\", "");
    }

    /** GCIDE: one block per definition or quotation; brackets (etymology, sources), pronunciations and attributions go. */
    private static List<String> webster(String content) {
        List<String> kept = new ArrayList<>();
        for (String block : BLANK_LINES.split(content)) {
            String text = ProseSentences.normalize(block);
            if (text.startsWith("Syn:")) {
                continue;
            }
            for (String previous = null; !text.equals(previous); ) {
                previous = text;
                text = NESTED_BRACKETS.matcher(text).replaceAll("");
            }
            text = PRONUNCIATION.matcher(text).replaceAll("").replace("{", "").replace("}", "");
            text = ATTRIBUTION.matcher(SENSE_NUMBER.matcher(text).replaceFirst("")).replaceFirst("");
            kept.addAll(ProseSentences.sentences(text));
        }
        return kept;
    }

    /** WordNet: per sense, the gloss (a fragment, kept as it is) and each quoted example. */
    private static List<String> wordnet(String content) {
        List<String> kept = new ArrayList<>();
        StringBuilder entry = new StringBuilder();
        for (String line : (content + "\nend").split("\n")) {
            if (!line.isEmpty() && !Character.isWhitespace(line.charAt(0))) {
                String body = WORDNET_LINKS.matcher(ProseSentences.normalize(entry.toString())).replaceAll("").replace("{", "").replace("}", "");
                for (String sense : WORDNET_SENSE.split(body)) {
                    int examples = sense.indexOf("; \"");
                    kept.addAll(ProseSentences.whole(examples < 0 ? sense : sense.substring(0, examples), false));
                    Matcher quoted = QUOTED.matcher(examples < 0 ? "" : sense.substring(examples));
                    while (quoted.find()) {
                        kept.addAll(ProseSentences.whole(quoted.group(1), false));
                    }
                }
                entry.setLength(0);
            } else {
                entry.append(line).append(' ');
            }
        }
        return kept;
    }

    /** FOLDOC, the Jargon File, the Devil's Dictionary: blocks of prose with {cross references} and <categories>. */
    private static List<String> dictionary(String content) {
        List<String> kept = new ArrayList<>();
        for (String block : BLANK_LINES.split(content)) {
            String text = HTML_TAG.matcher(block).replaceAll("").replace("{", "").replace("}", "").replaceAll("\\(\\d{4}-\\d\\d-\\d\\d\\)", "");
            kept.addAll(ProseSentences.sentences(SENSE_NUMBER.matcher(ProseSentences.normalize(text)).replaceFirst("")));
        }
        return kept;
    }

    /** Fortunes are separated by lines of {@code %}; each is kept whole (a quotation is one text), its attribution dropped. */
    private static List<String> fortunes(String content) {
        List<String> kept = new ArrayList<>();
        for (String fortune : content.split("\n%\n")) {
            kept.addAll(ProseSentences.whole(ATTRIBUTION.matcher(ProseSentences.normalize(fortune)).replaceFirst(""), true));
        }
        return kept;
    }
}
