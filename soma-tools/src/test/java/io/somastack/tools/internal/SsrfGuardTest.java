package io.somastack.tools.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every refused address class and spelling, without connecting anywhere. */
class SsrfGuardTest {
    private static InetAddress ip(String text) {
        try {
            return InetAddress.getByName(text);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private final SsrfGuard guard = new SsrfGuard(host -> {
        String address = Map.of("public.test", "93.184.216.34", "inside.test", "10.1.2.3", "metadata.test", "169.254.169.254",
                "mixed.test", "93.184.216.34").get(host);
        if (address == null) {
            throw new java.net.UnknownHostException(host);
        }
        return host.equals("mixed.test") ? List.of(ip(address), ip("127.0.0.1")) : List.of(ip(address));
    }, List.of());

    private void refused(String host, String reason) {
        assertThatThrownBy(() -> guard.check(host)).isInstanceOf(SsrfGuard.Refused.class)
                .satisfies(e -> assertThat(((SsrfGuard.Refused) e).reason()).as(host).isEqualTo(reason));
    }

    @Test
    void everyForbiddenClassIsRefusedWithItsReason() {
        refused("127.0.0.1", "loopback");
        refused("127.255.0.9", "loopback");
        refused("[::1]", "loopback");
        refused("10.0.0.1", "private");
        refused("172.16.5.4", "private");
        refused("192.168.1.1", "private");
        refused("[fd00::1]", "private");
        refused("169.254.169.254", "link_local");
        refused("[fe80::1]", "link_local");
        refused("100.64.0.1", "cgnat");
        refused("224.0.0.1", "multicast");
        refused("[ff02::1]", "multicast");
        refused("0.0.0.0", "unspecified");
        refused("[::]", "unspecified");
        refused("255.255.255.255", "reserved");
    }

    @Test
    void ipSpellingsAreReadAsResolversReadThem() {
        refused("2130706433", "loopback");
        refused("0x7f.1", "loopback");
        refused("0177.0.0.1", "loopback");
        refused("0x7f000001", "loopback");
        refused("127.1", "loopback");
        refused("[::ffff:127.0.0.1]", "loopback");
        refused("[::ffff:a9fe:a9fe]", "link_local");
        refused("[64:ff9b::a00:1]", "private");
        refused("0xa9.0xfe.0xa9.0xfe", "link_local");
    }

    @Test
    void namesAreResolvedOnceAndEveryAddressMustBePublic() {
        assertThat(guard.check("public.test")).containsExactly(ip("93.184.216.34"));
        refused("inside.test", "private");
        refused("metadata.test", "link_local");
        refused("mixed.test", "loopback");
        refused("nowhere.test", "unresolvable");
        assertThat(guard.check("93.184.216.34")).containsExactly(ip("93.184.216.34"));
    }

    @Test
    void theOperatorsAllowListLetsAddressesThrough() {
        SsrfGuard allowing = new SsrfGuard(host -> List.of(ip("127.0.0.1")), List.of("127.0.0.1", "10.20.0.0/16"));
        assertThat(allowing.check("127.0.0.1")).containsExactly(ip("127.0.0.1"));
        assertThat(allowing.check("10.20.3.4")).containsExactly(ip("10.20.3.4"));
        assertThatThrownBy(() -> allowing.check("10.21.0.1")).isInstanceOf(SsrfGuard.Refused.class);
        assertThatThrownBy(() -> allowing.check("127.0.0.2")).isInstanceOf(SsrfGuard.Refused.class);
    }
}
