package io.somastack.tools;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/** Resolves a host name for the HTTP and MCP executors' SSRF guard (tests supply their own). */
@FunctionalInterface
public interface Resolver {
    /** The system resolver. */
    Resolver SYSTEM = host -> List.of(InetAddress.getAllByName(host));

    List<InetAddress> resolve(String host) throws UnknownHostException;
}
