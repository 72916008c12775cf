// The key of the per-client-network limit (AUTH_IP_RATE_LIMITER): an IPv4
// address as it is, an IPv6 address by its /64 whatever its spelling, and an
// IPv4-mapped IPv6 address as its IPv4 address. One client cannot get fresh
// buckets by rotating through the addresses of its own /64.
import { describe, expect, it } from "vitest";
import { clientNetwork } from "../../src/http/rate-limit";

describe("clientNetwork", () => {
  it.each([
    ["203.0.113.5", "203.0.113.5"],
    [" 203.0.113.5 ", "203.0.113.5"],
    ["0.0.0.0", "0.0.0.0"],
    ["255.255.255.255", "255.255.255.255"],
  ])("keeps IPv4 %j as it is: %s", (ip, network) => {
    expect(clientNetwork(ip)).toBe(network);
  });

  it.each([
    ["2001:db8:1:2:3:4:5:6", "ip6:2001:db8:1:2::/64"],
    ["2001:db8:1:2:ffff:ffff:ffff:ffff", "ip6:2001:db8:1:2::/64"],
    ["2001:0DB8:0001:0002:0000:0000:0000:0001", "ip6:2001:db8:1:2::/64"],
    ["2001:db8:1:2::", "ip6:2001:db8:1:2::/64"],
    ["2001:db8::1", "ip6:2001:db8:0:0::/64"],
    ["2001:db8:0:0:1::", "ip6:2001:db8:0:0::/64"],
    ["::1", "ip6:0:0:0:0::/64"],
    ["::", "ip6:0:0:0:0::/64"],
    ["[2001:db8:1:2::3]", "ip6:2001:db8:1:2::/64"],
    ["fe80::1%eth0", "ip6:fe80:0:0:0::/64"],
    ["1:2:3:4:5:6:7::", "ip6:1:2:3:4::/64"],
    ["1::2:3:4:5:6:7", "ip6:1:0:2:3::/64"],
    ["64:ff9b::192.0.2.1", "ip6:64:ff9b:0:0::/64"],
  ])("keys IPv6 %s on its /64: %s", (ip, network) => {
    expect(clientNetwork(ip)).toBe(network);
  });

  it.each([
    "::ffff:192.0.2.1",
    "::FFFF:192.0.2.1",
    "::ffff:c000:201",
    "0:0:0:0:0:ffff:192.0.2.1",
    "0000:0000:0000:0000:0000:ffff:c000:0201",
    "[::ffff:192.0.2.1]",
  ])("keys the IPv4-mapped %s as 192.0.2.1", (ip) => {
    expect(clientNetwork(ip)).toBe("192.0.2.1");
  });

  it("a /64 and its neighbours are different networks", () => {
    expect(clientNetwork("2001:db8:1:2::1")).not.toBe(clientNetwork("2001:db8:1:3::1"));
    expect(clientNetwork("2001:db8:1:2::1")).not.toBe(clientNetwork("2001:db8:2:2::1"));
  });

  it.each([
    "",
    "not an address",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "01.2.3.4",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::",
    "1::2::3",
    ":1:2:3:4:5:6:7",
    "gggg::1",
    "12345::1",
    "::ffff:1.2.3",
    "1.2.3.4::",
    "[2001:db8::1",
  ])("answers undefined for %j, which is no IP address", (ip) => {
    expect(clientNetwork(ip)).toBeUndefined();
  });
});
