// Who is calling, from the request: the client IP (CF-Connecting-IP only;
// X-Forwarded-For is client-controlled and ignored), the User-Agent, and the
// coarse location Cloudflare attaches in request.cf.
import type { DeviceInfo, RequestOrigin } from "../core/domain";

const MAX_USER_AGENT = 512;
const MAX_DEVICE_NAME = 100;

export function requestOrigin(request: Request): RequestOrigin {
  const ip = request.headers.get("CF-Connecting-IP")?.trim() || null;
  const userAgent = request.headers.get("User-Agent")?.slice(0, MAX_USER_AGENT) || null;
  return { ip: ip && ip.length <= 64 ? ip : null, userAgent };
}

export function deviceInfo(request: Request, deviceName?: string | null): DeviceInfo {
  const origin = requestOrigin(request);
  const cf = (request as { cf?: { country?: unknown; city?: unknown } }).cf;
  const device: DeviceInfo = {};
  const name = deviceName?.trim().slice(0, MAX_DEVICE_NAME);
  if (name) device.name = name;
  if (origin.userAgent) device.userAgent = origin.userAgent;
  if (origin.ip) device.ip = origin.ip;
  if (typeof cf?.country === "string" && cf.country !== "T1") device.country = cf.country;
  if (typeof cf?.city === "string") device.city = cf.city;
  return device;
}
