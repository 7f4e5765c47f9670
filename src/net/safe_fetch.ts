/**
 * `safeFetch`: downloads a user-supplied URL (an attachment of a webhook message) with the
 * SSRF guard applied to the first request and to every redirect hop:
 *
 * 1. {@link checkUrl}: scheme, credentials, address literals, local and metadata names;
 * 2. DNS once per hop; every answer must be allowed, or the hop is refused (a mixed
 *    answer is treated as hostile);
 * 3. the socket is opened to an address that passed the check, never to a second DNS
 *    answer, so DNS rebinding cannot redirect it;
 * 4. redirects are followed by hand, at most `maxRedirects`, each one checked again;
 * 5. connect and total timeouts, a streamed size cap, and an image check on request.
 *
 * @module
 */

import type { IncomingMessage } from "node:http";
import type { Logger } from "../log.ts";
import { silentLogger } from "../log.ts";
import { type Allowlist, matchAllowlistAddress, matchAllowlistHost } from "./allowlist.ts";
import {
  blockedRange,
  blockedReason,
  isAllowedForAllowlistedName,
  loadAddressClasses,
} from "./address_policy.ts";
import { checkLoadedUrl } from "./check_url.ts";
import { SafeFetchError } from "./safe_fetch_error.ts";
import { sniffImageType } from "./sniff_image_type.ts";
import { type IpAddress, normalizeHostname, parseAddress } from "./_host.ts";
import { pickFilename } from "./_filename.ts";
import { readBody, requestFirstReachable } from "./_pinned_request.ts";

/** Options of {@link safeFetch}. */
export interface SafeFetchOptions {
  /** Internal hosts and ranges the operator allows, from `parseAllowlist(WEBHOOK_URL_ALLOWLIST)`. */
  allowlist?: Allowlist;
  /** Largest body accepted; reading stops and the fetch fails with `too_large` beyond it. */
  maxBytes: number;
  /** Time to establish each TCP connection. Default 5 000 ms. */
  connectTimeoutMs?: number;
  /** Time for the whole fetch: DNS, every redirect hop and the body. Default 30 000 ms. */
  totalTimeoutMs?: number;
  /** Redirects followed at most. Default 5. */
  maxRedirects?: number;
  /**
   * `image`: the response must be an image (an `image/*` content type, or image magic
   * bytes when the type is absent or `application/octet-stream`), else `not_an_image`.
   * Default `any`.
   */
  expect?: "image" | "any";
  /**
   * Resolves a host name to addresses. Default: the system resolver via `node:dns`
   * (honours /etc/hosts and search domains). Injectable for tests. Called exactly once per hop.
   */
  resolve?: (hostname: string) => Promise<string[]>;
  /** Cancels the fetch; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Default `trueconf-webhook-bot`. */
  userAgent?: string;
  /**
   * Called just before each connection with the checked address the socket will be
   * opened to (for audit logs). An exception thrown here aborts the fetch and is passed on.
   */
  onConnect?: (target: ConnectTarget) => void;
  /** Debug lines for each hop. Default: silent. */
  logger?: Logger;
}

/** What {@link SafeFetchOptions.onConnect} is told. */
export interface ConnectTarget {
  /** The URL of this hop. */
  url: string;
  /** The checked address the socket goes to. */
  address: string;
  /** The port of that address. */
  port: number;
}

/** A downloaded file. */
export interface FetchedFile {
  /** The body, at most `maxBytes` long. */
  bytes: Uint8Array;
  /**
   * Media type without parameters, lower-case, "" when absent. With `expect: "image"` and
   * an absent or generic type, the type sniffed from the bytes.
   */
  contentType: string;
  /** From Content-Disposition, else the last URL path segment, decoded; null when neither. */
  filename: string | null;
  /** The URL after redirects. */
  finalUrl: string;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const GENERIC_TYPES = new Set(["", "application/octet-stream", "binary/octet-stream"]);

/**
 * Downloads a user-supplied URL through the SSRF guard (see the module doc). Throws
 * {@link SafeFetchError}, or `signal.reason` when the caller aborts.
 *
 * @example
 * ```ts
 * import { parseAllowlist } from "./allowlist.ts";
 *
 * async function panel(): Promise<Uint8Array> {
 *   const file = await safeFetch("https://grafana.example.com/render/panel.png", {
 *     maxBytes: 10 * 1024 * 1024,
 *     expect: "image",
 *     allowlist: parseAllowlist(Deno.env.get("WEBHOOK_URL_ALLOWLIST") ?? ""),
 *   });
 *   console.log(file.contentType); // "image/png"
 *   return file.bytes;
 * }
 * ```
 */
export async function safeFetch(url: string, options: SafeFetchOptions): Promise<FetchedFile> {
  const outer = options.signal;
  if (outer?.aborted) throw outer.reason;
  const totalMs = options.totalTimeoutMs ?? 30_000;
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new SafeFetchError("timeout", `the download did not finish within ${totalMs} ms`),
    );
  }, totalMs);
  const onOuterAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener("abort", onOuterAbort, { once: true });
  try {
    return await fetchWithRedirects(url, options, controller.signal);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onOuterAbort);
  }
}

async function fetchWithRedirects(
  url: string,
  options: SafeFetchOptions,
  signal: AbortSignal,
): Promise<FetchedFile> {
  const log = options.logger ?? silentLogger;
  const maxRedirects = options.maxRedirects ?? 5;
  await loadAddressClasses(); // the first fetch loads ipaddr.js (address_policy.ts says why)
  let current = checkLoadedUrl(url, options.allowlist);
  for (let hop = 0;; hop++) {
    const addresses = await resolveChecked(current, options, signal);
    const res = await connect(current, addresses, options, signal);
    const status = res.statusCode ?? 0;
    log.debug("safe fetch hop", { url: current.href, status, hop });

    if (REDIRECT_STATUSES.has(status)) {
      const location = res.headers.location;
      res.destroy();
      if (!location) {
        throw new SafeFetchError(
          "http_error",
          `${current.host} answered ${status} without a Location`,
          {
            status,
          },
        );
      }
      if (hop >= maxRedirects) {
        throw new SafeFetchError("too_many_redirects", `more than ${maxRedirects} redirects`);
      }
      let next: URL;
      try {
        next = new URL(location, current);
      } catch (cause) {
        throw new SafeFetchError("invalid_url", `${current.host} redirected to an invalid URL`, {
          cause,
        });
      }
      next.username = "";
      next.password = "";
      current = checkLoadedUrl(next.href, options.allowlist);
      continue;
    }

    if (status < 200 || status > 299) {
      res.destroy();
      throw new SafeFetchError("http_error", `${current.host} answered HTTP ${status}`, {
        status,
        // Server errors, timeouts and rate limits pass; other answers will repeat.
        permanent: !(status >= 500 || status === 408 || status === 425 || status === 429),
      });
    }
    return await readFile(res, current, options, signal);
  }
}

async function readFile(
  res: IncomingMessage,
  url: URL,
  options: SafeFetchOptions,
  signal: AbortSignal,
): Promise<FetchedFile> {
  const header = res.headers["content-type"] ?? "";
  let contentType = (header.split(";")[0] ?? "").trim().toLowerCase();
  const sniff = options.expect === "image" && GENERIC_TYPES.has(contentType);
  if (options.expect === "image" && !sniff && !contentType.startsWith("image/")) {
    res.destroy();
    throw new SafeFetchError("not_an_image", `expected an image, got ${contentType}`);
  }
  const bytes = await readBody(res, options.maxBytes, signal);
  if (sniff) {
    const sniffed = sniffImageType(bytes);
    if (!sniffed) {
      throw new SafeFetchError(
        "not_an_image",
        `expected an image, got ${contentType || "no content type"} and no known image format`,
      );
    }
    contentType = sniffed;
  }
  const disposition = res.headers["content-disposition"];
  return { bytes, contentType, filename: pickFilename(disposition, url), finalUrl: url.href };
}

/**
 * Resolves the hop's host once and returns its addresses, all of which passed the check
 * (a {@link SafeFetchError} `unsafe_url` otherwise; `url` has passed `checkUrl`). Also used by
 * `safe_request.ts`, and by the outgoing hooks' target check, which resolves without fetching.
 */
export async function resolveChecked(
  url: URL,
  options: SafeFetchOptions,
  signal: AbortSignal,
): Promise<IpAddress[]> {
  await loadAddressClasses(); // at once after the first load; the checks below classify
  const literal = parseAddress(url.hostname);
  if (literal) return [literal]; // checkUrl already classified it
  const host = normalizeHostname(url.hostname);
  let answers: string[];
  try {
    answers = await abortable(
      options.resolve ? options.resolve(host) : resolveSystem(host, signal),
      signal,
    );
  } catch (cause) {
    if (signal.aborted) throw signal.reason;
    if (cause instanceof SafeFetchError) throw cause;
    // The name does not exist (NXDOMAIN, `.invalid`): asking again will not help. A
    // resolver that cannot answer right now (EAI_AGAIN, timeouts) is transient. The sentence
    // reaches the sender and the creator's DM: the resolver's own text stays in `cause` (logs).
    const code = (cause as { code?: unknown } | null)?.code;
    const unknown = cause instanceof Deno.errors.NotFound || code === "ENOTFOUND";
    throw new SafeFetchError(
      "dns_failed",
      unknown
        ? `${host} does not resolve: no such host name`
        : `could not resolve ${host} right now${typeof code === "string" ? ` (${code})` : ""}`,
      { cause, permanent: unknown },
    );
  }
  if (answers.length === 0) {
    throw new SafeFetchError("dns_failed", `${host} has no address`, { permanent: true });
  }
  const byName = matchAllowlistHost(options.allowlist, host) !== null;
  const checked: IpAddress[] = [];
  for (const answer of answers) {
    const address = parseAddress(answer);
    if (!address) {
      throw new SafeFetchError("dns_failed", `the resolver returned "${answer}" for ${host}`);
    }
    const allowed = byName
      ? isAllowedForAllowlistedName(address, options.allowlist)
      : matchAllowlistAddress(options.allowlist, address) || blockedRange(address) === null;
    if (!allowed) {
      throw new SafeFetchError(
        "unsafe_url",
        `${host} resolves to ${address.toString()}, ${blockedReason(address)};` +
          " only public addresses can be fetched" +
          " (an operator can allow internal ones with WEBHOOK_URL_ALLOWLIST)",
      );
    }
    if (!checked.some((c) => c.toString() === address.toString())) checked.push(address);
  }
  // IPv4 first: a host without IPv6 connectivity then does not start with a failing attempt.
  return checked.sort((a, b) => (a.kind() === b.kind() ? 0 : a.kind() === "ipv4" ? -1 : 1));
}

/** Connects to the checked addresses in turn until one answers with response headers. */
async function connect(
  url: URL,
  addresses: IpAddress[],
  options: SafeFetchOptions,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  const headers = {
    "Host": url.host,
    "User-Agent": options.userAgent ?? "trueconf-webhook-bot",
    "Accept": options.expect === "image" ? "image/*" : "*/*",
    // node:http does not decompress, and the byte cap must apply to what is stored.
    "Accept-Encoding": "identity",
    "Connection": "close",
  };
  return await requestFirstReachable(
    url,
    addresses,
    { headers, connectTimeoutMs: options.connectTimeoutMs ?? 5_000, signal },
    (address) => options.onConnect?.({ url: url.href, address, port }),
  );
}

/**
 * The system resolver (getaddrinfo through `node:dns`), so `/etc/hosts`, search domains and
 * split-horizon DNS of an on-premises network work as they do for every other program on the
 * host. (`Deno.resolveDns` queries name servers directly and skips all of that.) The abort
 * signal is honoured by the caller's `abortable` wrapper. `node:dns` is loaded with the first
 * name to resolve, not at start.
 */
async function resolveSystem(host: string, _signal: AbortSignal): Promise<string[]> {
  const { lookup } = await import("node:dns/promises");
  const found = await lookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

/** Rejects with `signal.reason` once the signal aborts, whatever `promise` does. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
