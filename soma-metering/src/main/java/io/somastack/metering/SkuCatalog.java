package io.somastack.metering;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.somastack.kernel.Clock;
import io.somastack.kernel.ErrorCode;
import io.somastack.kernel.Ids;
import io.somastack.kernel.Json;
import io.somastack.kernel.Money;
import io.somastack.kernel.SomaException;
import io.somastack.store.AuditEntry;
import io.somastack.store.GroupCommit;
import io.somastack.store.Tx;
import java.math.BigDecimal;
import java.sql.Timestamp;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Currency;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.BiConsumer;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import tools.jackson.databind.JsonNode;

/**
 * The SKU catalog: every price SomaStack bills by ({@link Skus}), versioned by whole periods,
 * all in one currency. A new version that overlaps another of the same SKU is refused (400,
 * with every other problem of the request). Versions are never edited: a price change is a
 * new version after the old one's {@code effective_to}. Thread-safe.
 */
public final class SkuCatalog {
    /** Notified at the commit of every change to {@code sku_prices} (migration V3_25), so caches of versions drop them. */
    public static final String CHANNEL = "soma_sku_prices";

    private final Jdbi jdbi;
    private final GroupCommit commit;
    private final Clock clock;
    private final Ids ids;
    private final String currency;
    private final Runnable changed;

    public SkuCatalog(Jdbi jdbi, GroupCommit commit, Clock clock, Ids ids, String currency) {
        this(jdbi, commit, clock, ids, currency, () -> { });
    }

    /** A catalog that runs {@code changed} after each version it adds has committed (this node's caches drop prices at once). */
    public SkuCatalog(Jdbi jdbi, GroupCommit commit, Clock clock, Ids ids, String currency, Runnable changed) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.commit = requireNonNull(commit, "commit is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.ids = requireNonNull(ids, "ids is null");
        this.currency = requireNonNull(currency, "currency is null");
        this.changed = requireNonNull(changed, "changed is null");
    }

    /** The catalog's one currency (ISO 4217). */
    public String currency() {
        return currency;
    }

    /** Adds a version, or refuses it with a 400 listing every problem (an overlap included). */
    public SkuPrice add(NewPrice request, String actor, String requestId) {
        return add(request, actor, requestId, (tx, price) -> { });
    }

    /** {@link #add(NewPrice, String, String)}, running {@code alsoInTransaction} in the transaction that writes it. */
    public SkuPrice add(NewPrice request, String actor, String requestId, BiConsumer<Tx, SkuPrice> alsoInTransaction) {
        List<String> problems = new ArrayList<>();
        Optional<SkuPrice> price = validate(request, problems);
        price.ifPresent(candidate -> overlapping(candidate, versions(candidate.sku()), problems));
        refuseIfAny(problems);
        SkuPrice created = price.orElseThrow();
        SkuPrice added = commit.execute(tx -> {
            // One writer per SKU at a time across nodes, so two overlapping versions cannot both pass the check.
            tx.handle().createQuery("SELECT 1 FROM pg_advisory_xact_lock(hashtext(:key))").bind("key", "sku:" + created.sku()).mapTo(Integer.class).one();
            List<String> late = new ArrayList<>();
            overlapping(created, versions(tx.handle(), created.sku()), late);
            refuseIfAny(late);
            insert(tx.handle(), created);
            alsoInTransaction.accept(tx, created);
            tx.audit(new AuditEntry(Optional.empty(), actor, "price.create", created.id().toString(), requestId, Map.of(
                    "sku", created.sku(), "pricing", created.pricing().wire(), "effective_from", created.effectiveFrom().toString(),
                    "effective_to", created.effectiveTo().map(LocalDate::toString).orElse("open"))));
            return created;
        });
        changed.run();
        return added;
    }

    /**
     * Adds the versions a config file lists, at start-up: one already in the catalog (same SKU and
     * {@code effective_from}) is left alone, so restarting with the same file changes nothing.
     */
    public void seed(List<NewPrice> prices) {
        for (NewPrice price : prices) {
            boolean known = versions(price.sku() == null ? "" : price.sku()).stream()
                    .anyMatch(version -> version.effectiveFrom().equals(period(price.effectiveFrom(), "effective_from", new ArrayList<>())));
            if (!known) {
                add(price, "config", "start-up");
            }
        }
    }

    /** Every version, by SKU then date. */
    public List<SkuPrice> list() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM sku_prices ORDER BY sku, effective_from")
                .map((rs, ctx) -> read(rs)).list());
    }

    /** The version of each SKU in effect during the period starting {@code periodStart}. */
    public Map<String, SkuPrice> inEffect(LocalDate periodStart) {
        Map<String, SkuPrice> prices = new LinkedHashMap<>();
        jdbi.withHandle(handle -> handle.createQuery("""
                SELECT * FROM sku_prices WHERE effective_from <= :start AND (effective_to IS NULL OR effective_to > :start)""")
                .bind("start", periodStart).map((rs, ctx) -> read(rs)).list())
                .forEach(price -> prices.put(price.sku(), price));
        return prices;
    }

    /** The version of {@code sku} in effect during the period starting {@code periodStart}, read on {@code handle}. */
    public static Optional<SkuPrice> inEffect(Handle handle, String sku, LocalDate periodStart) {
        return handle.createQuery("""
                SELECT * FROM sku_prices WHERE sku = :sku AND effective_from <= :start AND (effective_to IS NULL OR effective_to > :start)""")
                .bind("sku", sku).bind("start", periodStart).map((rs, ctx) -> read(rs)).findOne();
    }

    private List<SkuPrice> versions(String sku) {
        return jdbi.withHandle(handle -> versions(handle, sku));
    }

    private static List<SkuPrice> versions(Handle handle, String sku) {
        return handle.createQuery("SELECT * FROM sku_prices WHERE sku = :sku ORDER BY effective_from").bind("sku", sku)
                .map((rs, ctx) -> read(rs)).list();
    }

    private static void overlapping(SkuPrice candidate, List<SkuPrice> existing, List<String> problems) {
        for (SkuPrice version : existing) {
            if (version.overlaps(candidate.effectiveFrom(), candidate.effectiveTo())) {
                problems.add("%s from %s%s overlaps its price %s in effect from %s%s".formatted(candidate.sku(),
                        candidate.effectiveFrom(), candidate.effectiveTo().map(to -> " to " + to).orElse(" on"), version.id(),
                        version.effectiveFrom(), version.effectiveTo().map(to -> " to " + to).orElse(" on")));
            }
        }
    }

    private static void refuseIfAny(List<String> problems) {
        if (!problems.isEmpty()) {
            throw new SomaException(ErrorCode.INVALID_REQUEST, "The price is refused: " + String.join("; ", problems),
                    Map.of("errors", List.copyOf(problems)));
        }
    }

    private Optional<SkuPrice> validate(NewPrice request, List<String> problems) {
        Optional<String> unit = Skus.unit(request.sku());
        if (request.sku() == null) {
            problems.add("sku is required");
        } else if (unit.isEmpty()) {
            problems.add("sku '%s' is not a SKU: use tokens.input:<model>, tokens.output:<model>, tool_call:<capsule>/<tool>, "
                    .formatted(shown(request.sku())) + "tool_call:<executor kind>, job_minute, memory_storage, egress, "
                    + "platform_fee:<tier> or capsule:<price_sku>");
        }
        String requestedCurrency = request.currency() == null ? currency : request.currency();
        if (!isIsoCurrency(requestedCurrency)) {
            problems.add("currency '%s' is not an ISO 4217 currency".formatted(shown(requestedCurrency)));
        } else if (!requestedCurrency.equals(currency)) {
            problems.add("currency '%s' is not the price book's currency %s".formatted(requestedCurrency, currency));
        }
        String resolvedUnit = unit.orElse("");
        if (request.sku() != null && Skus.isCapsule(request.sku()) && unit.isPresent()) {
            if (request.unit() == null || !(request.unit().equals("run") || request.unit().equals("month"))) {
                problems.add("unit of a capsule SKU must be run or month");
            } else {
                resolvedUnit = request.unit();
            }
            if (request.revenueShare() == null) {
                problems.add("revenue_share (the publisher's share, 0 to 1) is required for a capsule SKU");
            }
        } else {
            if (request.unit() != null && unit.isPresent() && !request.unit().equals(resolvedUnit)) {
                problems.add("unit of %s is %s, not '%s'".formatted(request.sku(), resolvedUnit, shown(request.unit())));
            }
            if (request.revenueShare() != null) {
                problems.add("revenue_share is only for capsule SKUs");
            }
        }
        if (request.revenueShare() != null && (request.revenueShare().signum() < 0 || request.revenueShare().compareTo(BigDecimal.ONE) > 0
                || request.revenueShare().stripTrailingZeros().scale() > 6)) {
            problems.add("revenue_share must be between 0 and 1 with at most 6 decimal places");
        }
        SkuPrice.Pricing pricing = switch (request.pricing() == null ? "flat" : request.pricing()) {
            case "flat" -> SkuPrice.Pricing.FLAT;
            case "tiered" -> SkuPrice.Pricing.TIERED;
            case "volume" -> SkuPrice.Pricing.VOLUME;
            default -> {
                problems.add("pricing must be flat, tiered or volume, not '%s'".formatted(shown(request.pricing())));
                yield null;
            }
        };
        List<SkuPrice.Tier> tiers = new ArrayList<>();
        if (pricing == SkuPrice.Pricing.FLAT) {
            if (request.tiers() != null) {
                problems.add("tiers are for tiered or volume pricing; a flat price has unit_price");
            }
            amount(request.unitPrice(), "unit_price", true, problems)
                    .ifPresent(price -> tiers.add(new SkuPrice.Tier(Optional.empty(), price, Money.ZERO)));
        } else if (pricing != null) {
            if (request.unitPrice() != null) {
                problems.add("unit_price is for flat pricing; %s pricing has tiers".formatted(pricing.wire()));
            }
            tiers(request.tiers(), problems, tiers);
        }
        LocalDate from = period(request.effectiveFrom(), "effective_from", problems);
        Optional<LocalDate> to = request.effectiveTo() == null ? Optional.empty()
                : Optional.ofNullable(period(request.effectiveTo(), "effective_to", problems));
        if (request.effectiveFrom() == null) {
            problems.add("effective_from is required (a month: 2026-11)");
        }
        if (from != null && to.isPresent() && !to.get().isAfter(from)) {
            problems.add("effective_to (%s) must be after effective_from (%s)".formatted(to.get(), from));
        }
        if (!problems.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new SkuPrice(ids.next(), request.sku(), currency, pricing, resolvedUnit, tiers,
                Optional.ofNullable(request.revenueShare()), from, to));
    }

    private static void tiers(List<NewTier> requested, List<String> problems, List<SkuPrice.Tier> tiers) {
        if (requested == null || requested.isEmpty()) {
            problems.add("tiers are required: [{up_to, unit_price, flat_fee}], the last without up_to");
            return;
        }
        BigDecimal previous = BigDecimal.ZERO;
        for (int i = 0; i < requested.size(); i++) {
            NewTier tier = requested.get(i);
            if (tier == null) {
                problems.add("tiers[%d] must be an object".formatted(i));
                continue;
            }
            boolean last = i == requested.size() - 1;
            if (last && tier.upTo() != null) {
                problems.add("tiers[%d] is the last tier: it must have no up_to".formatted(i));
            } else if (!last && tier.upTo() == null) {
                problems.add("tiers[%d].up_to is required (only the last tier is open-ended)".formatted(i));
            } else if (tier.upTo() != null && tier.upTo().compareTo(previous) <= 0) {
                problems.add("tiers[%d].up_to (%s) must be greater than %s".formatted(i, tier.upTo().toPlainString(), previous.toPlainString()));
            } else if (tier.upTo() != null && (tier.upTo().stripTrailingZeros().scale() > Money.SCALE || tier.upTo().precision() > 30)) {
                problems.add("tiers[%d].up_to has too many digits".formatted(i));
            }
            Optional<Money> unitPrice = amount(tier.unitPrice(), "tiers[%d].unit_price".formatted(i), true, problems);
            Optional<Money> flatFee = amount(tier.flatFee(), "tiers[%d].flat_fee".formatted(i), false, problems);
            if (unitPrice.isPresent()) {
                tiers.add(new SkuPrice.Tier(Optional.ofNullable(tier.upTo()), unitPrice.get(), flatFee.orElse(Money.ZERO)));
            }
            if (tier.upTo() != null) {
                previous = tier.upTo();
            }
        }
    }

    private static Optional<Money> amount(BigDecimal value, String name, boolean required, List<String> problems) {
        if (value == null) {
            if (required) {
                problems.add(name + " is required");
            }
            return Optional.empty();
        }
        if (value.signum() < 0) {
            problems.add("%s must not be negative, not %s".formatted(name, value.toPlainString()));
            return Optional.empty();
        }
        if (value.precision() - value.scale() > 15) {
            problems.add("%s has more than 15 digits before the decimal point".formatted(name));
            return Optional.empty();
        }
        try {
            return Optional.of(Money.of(value));
        } catch (SomaException e) {
            problems.add("%s: %s".formatted(name, e.detail()));
            return Optional.empty();
        }
    }

    /** A period's first day from {@code 2026-11} or {@code 2026-11-01}; null (and a problem) otherwise. */
    private static LocalDate period(String text, String name, List<String> problems) {
        if (text == null) {
            return null;
        }
        try {
            if (text.length() == 7) {
                LocalDate first = YearMonth.parse(text).atDay(1);
                return inRange(first, name, problems);
            }
            LocalDate date = LocalDate.parse(text);
            if (date.getDayOfMonth() != 1) {
                problems.add("%s (%s) must be the first day of a month: prices change between periods only".formatted(name, text));
                return null;
            }
            return inRange(date, name, problems);
        } catch (DateTimeParseException e) {
            problems.add("%s '%s' is not a month (2026-11) or a month's first day (2026-11-01)".formatted(name, shown(text)));
            return null;
        }
    }

    private static LocalDate inRange(LocalDate date, String name, List<String> problems) {
        if (date.getYear() < 1 || date.getYear() > 9999) {
            problems.add("%s must be in the years 0001 to 9999".formatted(name));
            return null;
        }
        return date;
    }

    private static boolean isIsoCurrency(String code) {
        if (code == null || !code.matches("^[A-Z]{3}$")) {
            return false;
        }
        try {
            Currency.getInstance(code);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String shown(String text) {
        if (text == null) {
            return "null";
        }
        String printable = text.codePoints().map(c -> Character.isISOControl(c) || Character.getType(c) == Character.SURROGATE ? '?' : c)
                .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
        return printable.length() > 64 ? printable.substring(0, 64) + "..." : printable;
    }

    private void insert(Handle handle, SkuPrice price) {
        List<Map<String, Object>> tiers = price.tiers().stream().map(tier -> {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("up_to", tier.upTo().map(BigDecimal::toPlainString).orElse(null));
            row.put("unit_price", tier.unitPrice().amount().toPlainString());
            row.put("flat_fee", tier.flatFee().amount().toPlainString());
            return row;
        }).toList();
        handle.createUpdate("""
                INSERT INTO sku_prices (id, sku, currency, pricing, unit, tiers, revenue_share, effective_from, effective_to, created_at)
                VALUES (:id, :sku, :currency, :pricing, :unit, CAST(:tiers AS jsonb), :share, :from, :to, :at)""")
                .bind("id", price.id()).bind("sku", price.sku()).bind("currency", price.currency()).bind("pricing", price.pricing().wire())
                .bind("unit", price.unit()).bind("tiers", Json.text(tiers)).bind("share", price.revenueShare().orElse(null))
                .bind("from", price.effectiveFrom()).bind("to", price.effectiveTo().orElse(null))
                .bind("at", Timestamp.from(clock.now())).execute();
    }

    private static SkuPrice read(java.sql.ResultSet rs) throws java.sql.SQLException {
        List<SkuPrice.Tier> tiers = new ArrayList<>();
        for (JsonNode tier : Json.mapper().readTree(rs.getString("tiers"))) {
            JsonNode upTo = tier.get("up_to");
            tiers.add(new SkuPrice.Tier(upTo == null || upTo.isNull() ? Optional.empty() : Optional.of(new BigDecimal(upTo.asString())),
                    Money.of(tier.get("unit_price").asString()), Money.of(tier.get("flat_fee").asString())));
        }
        return new SkuPrice((UUID) rs.getObject("id"), rs.getString("sku"), rs.getString("currency"),
                SkuPrice.Pricing.valueOf(rs.getString("pricing").toUpperCase(java.util.Locale.ROOT)), rs.getString("unit"), tiers,
                Optional.ofNullable(rs.getBigDecimal("revenue_share")), rs.getObject("effective_from", LocalDate.class),
                Optional.ofNullable(rs.getObject("effective_to", LocalDate.class)));
    }

    /** A price as an operator posts it, or as the config file lists it. */
    public record NewPrice(String sku, String currency, String pricing, String unit, @JsonProperty("unit_price") BigDecimal unitPrice,
            List<NewTier> tiers, @JsonProperty("revenue_share") BigDecimal revenueShare,
            @JsonProperty("effective_from") String effectiveFrom, @JsonProperty("effective_to") String effectiveTo) {
    }

    /** One tier of a new price; {@code up_to} absent on the last. */
    public record NewTier(@JsonProperty("up_to") BigDecimal upTo, @JsonProperty("unit_price") BigDecimal unitPrice,
            @JsonProperty("flat_fee") BigDecimal flatFee) {
    }
}
