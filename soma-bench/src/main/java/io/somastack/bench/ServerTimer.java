package io.somastack.bench;

import java.util.OptionalDouble;

/**
 * Reads SomaStack's {@code http_server_requests_seconds} timer of successful chat completions
 * from its Prometheus text: the time from its before-handler to its after-handler, that is,
 * inside SomaStack but outside Jetty's connection handling and the network.
 *
 * @param count calls counted so far
 * @param seconds their summed duration
 */
record ServerTimer(double count, double seconds) {
    private static final String ROUTE = "route=\"/v1/chat/completions\"";
    private static final String STATUS = "status=\"200\"";

    static ServerTimer parse(String prometheusText) {
        double count = 0;
        double seconds = 0;
        for (String line : prometheusText.split("\n")) {
            if (!line.contains(ROUTE) || !line.contains(STATUS)) {
                continue;
            }
            double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            if (line.startsWith("http_server_requests_seconds_count{")) {
                count += value;
            } else if (line.startsWith("http_server_requests_seconds_sum{")) {
                seconds += value;
            }
        }
        return new ServerTimer(count, seconds);
    }

    /** The mean duration in milliseconds of the calls counted since {@code earlier}. */
    OptionalDouble meanMillisSince(ServerTimer earlier) {
        double calls = count - earlier.count();
        return calls <= 0 ? OptionalDouble.empty() : OptionalDouble.of((seconds - earlier.seconds()) / calls * 1000);
    }
}
