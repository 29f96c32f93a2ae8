package io.somastack.bench;

import java.net.InetSocketAddress;

/**
 * Where the load generator sends its requests and what it sends: the same chat completion
 * request, addressed either straight to the upstream or through SomaStack.
 *
 * @param name {@code DIRECT} or {@code SOMASTACK}, as printed in the report
 * @param address the server's loopback address
 * @param request the complete HTTP/1.1 request, written as is for every call
 */
record Target(String name, InetSocketAddress address, byte[] request) {
    static final String DIRECT = "DIRECT";
    static final String SOMASTACK = "SOMASTACK";
}
