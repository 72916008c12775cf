// The client network a per-IP limit is keyed on: an IPv4 address as it is,
// an IPv6 address by its /64 (the smallest block a subscriber is normally
// given, so one client cannot rotate through the 2^64 addresses of its own
// prefix to get fresh buckets), and an IPv4-mapped IPv6 address
// (::ffff:192.0.2.1) as the IPv4 address it maps.

/**
 * The network a request's CF-Connecting-IP value names, as every per-network
 * rule keys it: clientNetwork, or for a value that is no address (never from
 * Cloudflare) the value itself, bounded; undefined without one (local tools).
 */
export function requestNetwork(connectingIp: string | null | undefined): string | undefined {
  const ip = connectingIp?.trim();
  if (!ip) return undefined;
  return clientNetwork(ip) ?? `raw:${ip.slice(0, 64)}`;
}

/** `192.0.2.1`, `ip6:2001:db8:1:2::/64`; undefined for a value that is no IP address. */
export function clientNetwork(ip: string): string | undefined {
  const text = ip.trim();
  if (isIPv4(text)) return text;
  const hextets = parseIPv6(text);
  if (!hextets) return undefined;
  const mapped = hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff;
  if (mapped) return [hextets[6]! >> 8, hextets[6]! & 0xff, hextets[7]! >> 8, hextets[7]! & 0xff].join(".");
  return `ip6:${hextets
    .slice(0, 4)
    .map((h) => h.toString(16))
    .join(":")}::/64`;
}

const IPV4_OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function isIPv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((part) => IPV4_OCTET.test(part));
}

/**
 * The eight 16-bit groups of an IPv6 address (`::`, a dotted IPv4 tail, brackets and a zone id allowed), or
 * undefined.
 */
function parseIPv6(raw: string): number[] | undefined {
  let text = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  if (text.length === 0 || text.length > 45) return undefined;

  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): number[] | undefined => {
    if (half === "") return [];
    const parts = half.split(":");
    const groups: number[] = [];
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes(".")) {
        if (!isIPv4(part)) return undefined;
        const [a, b, c, d] = part.split(".").map(Number) as [number, number, number, number];
        groups.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
        groups.push(parseInt(part, 16));
      } else {
        return undefined;
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // A dotted IPv4 part may only end the address.
  if (halves.length === 2 && halves[0]!.includes(".")) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  if (missing < 1) return undefined;
  return [...head, ...Array<number>(missing).fill(0), ...tail];
}
