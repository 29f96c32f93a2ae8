package io.somastack.console;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The data of one time chart, carried by its page in {@code data-series} and drawn by
 * {@code overview.js} (uPlot): the span {@code [from, to)} the x axis always covers, the hours
 * (epoch seconds) that have data, and series of values per hour, each on the scale of its unit
 * (at most two units per chart: left and right axis). An hour a series has no value for is
 * {@code missing} (0 for counts, null, a gap, for latencies).
 */
final class Chart {
    private final Instant from;
    private final Instant to;
    private final List<Instant> hours;
    private final List<String> units = new ArrayList<>();
    private final List<Map<String, Object>> series = new ArrayList<>();

    Chart(Instant from, Instant to, TreeSet<Instant> hours) {
        this.from = from;
        this.to = to;
        this.hours = List.copyOf(hours);
    }

    /** Adds a series named {@code label} in {@code unit}: its value for each hour of the chart, else {@code missing}. */
    Chart series(String label, String unit, Map<Instant, ? extends Object> values, Object missing) {
        if (!units.contains(unit)) {
            if (units.size() == 2) {
                throw new IllegalArgumentException("A chart has at most two units, not " + unit + " besides " + units);
            }
            units.add(unit);
        }
        List<Object> column = new ArrayList<>(hours.size());
        hours.forEach(hour -> column.add(values.containsKey(hour) ? values.get(hour) : missing));
        Map<String, Object> one = new LinkedHashMap<>();
        one.put("label", label);
        one.put("unit", unit);
        one.put("values", column);
        series.add(one);
        return this;
    }

    /** The JSON the page carries; a caller escapes it for the attribute. */
    Map<String, Object> data() {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("from", from.getEpochSecond());
        data.put("to", to.getEpochSecond());
        data.put("hours", hours.stream().map(Instant::getEpochSecond).toList());
        data.put("units", units);
        data.put("series", series);
        return data;
    }
}
