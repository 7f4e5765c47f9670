/**
 * Safe outbound fetch: every download of a user-supplied URL goes through here, so the
 * bot cannot be turned against its own network (SSRF). See {@link safeFetch}.
 *
 * @module
 */

export { resolveChecked, safeFetch } from "./safe_fetch.ts";
export type { ConnectTarget, FetchedFile, SafeFetchOptions } from "./safe_fetch.ts";
export { SafeFetchError } from "./safe_fetch_error.ts";
export type { SafeFetchErrorCode, SafeFetchErrorOptions } from "./safe_fetch_error.ts";
export { safeRequest } from "./safe_request.ts";
export type { SafeRequestOptions, SafeResponse } from "./safe_request.ts";
export { checkUrl } from "./check_url.ts";
export { EMPTY_ALLOWLIST, parseAllowlist } from "./allowlist.ts";
export type { Allowlist } from "./allowlist.ts";
export { type IpAddress, IPv4, IPv6, parseIp, parseIpCidr, processIp } from "./ip_address.ts";
export { isAddressAllowed } from "./address_policy.ts";
export { type CidrList, inCidrList, mappedAsIPv4, parseCidrList } from "./cidr_list.ts";
export { sniffImageType } from "./sniff_image_type.ts";
export { cleanFileName } from "./_filename.ts";
export type { ImageMime } from "./sniff_image_type.ts";
export { decodeExtValue, type HeaderValue, parseHeaderValue } from "./header_params.ts";
