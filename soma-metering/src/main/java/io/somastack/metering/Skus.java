package io.somastack.metering;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The SKUs SomaStack bills, and the unit each is counted in:
 * <ul>
 *   <li>{@code tokens.input:<model>}, {@code tokens.output:<model>}: per {@code 1M tokens};</li>
 *   <li>{@code tool_call:<capsule>/<tool>} or {@code tool_call:<executor kind>}: per {@code call};</li>
 *   <li>{@code job_minute}: per {@code minute}; {@code memory_storage}: per {@code MB-hour}; {@code egress}: per {@code GB};</li>
 *   <li>{@code platform_fee:<tenant tier>}: per {@code month};</li>
 *   <li>{@code capsule:<price_sku>} (a marketplace manifest's {@code price_sku}): per {@code run} or per {@code month};</li>
 *   <li>{@code credit}: an amount credited, no unit price.</li>
 * </ul>
 */
public final class Skus {
    public static final String JOB_MINUTE = "job_minute";
    public static final String MEMORY_STORAGE = "memory_storage";
    public static final String EGRESS = "egress";
    public static final String CREDIT = "credit";
    public static final String PLATFORM_FEE = "platform_fee:";
    public static final String CAPSULE = "capsule:";
    public static final String TOOL_CALL = "tool_call:";

    private static final Pattern NAMED = Pattern.compile(
            "^(tokens\\.input|tokens\\.output|tool_call|platform_fee|capsule):[A-Za-z0-9][A-Za-z0-9._/:@-]{0,199}$");

    private Skus() {
    }

    /** The unit {@code sku} is counted in; empty for a name that is no SKU. Capsule SKUs are per {@code run} or {@code month}. */
    public static Optional<String> unit(String sku) {
        if (sku == null) {
            return Optional.empty();
        }
        switch (sku) {
            case JOB_MINUTE:
                return Optional.of("minute");
            case MEMORY_STORAGE:
                return Optional.of("MB-hour");
            case EGRESS:
                return Optional.of("GB");
            default:
                break;
        }
        if (!NAMED.matcher(sku).matches()) {
            return Optional.empty();
        }
        if (sku.startsWith("tokens.")) {
            return Optional.of("1M tokens");
        }
        if (sku.startsWith(TOOL_CALL)) {
            return Optional.of("call");
        }
        if (sku.startsWith(PLATFORM_FEE)) {
            return Optional.of("month");
        }
        return Optional.of("run");
    }

    public static boolean isCapsule(String sku) {
        return sku.startsWith(CAPSULE);
    }
}
