/**
 * Sender trust for incoming hooks: `/webhook_verify` signatures and `/webhook_allow`
 * address lists, checked on the raw body before anything parses it (plugged into the HTTP
 * layer as per-hook guards, see `src/ingest/middleware/raw_body.ts`).
 *
 * Signature schemes are libraries where one exists: GitHub's with `@octokit/webhooks-methods`,
 * Standard Webhooks (and GitLab's signing) with `standardwebhooks`. Grafana's HMAC and the
 * shared-token modes are a few lines on WebCrypto with constant-time comparison.
 *
 * @module
 */
import { hexOf } from "../bytes.ts";
import { type BoundedCache, boundedCache } from "../bounded_cache.ts";
import { inCidrList, parseCidrList } from "../net/mod.ts";
import type { HookRecord, VerifyMode } from "./store.ts";

/** The verification modes `/webhook_verify` accepts (plus `off`). */
export const VERIFY_MODES: readonly VerifyMode[] = [
  "github",
  "gitlab",
  "grafana",
  "standard",
  "bearer",
];

/** A refusal the HTTP layer answers as `{ok:false, error: code, message}`. */
export interface TrustRefusal {
  readonly status: 401 | 403;
  readonly code: "signature_invalid" | "address_not_allowed";
  readonly message: string;
}

/** What the checks read of a request. */
export interface TrustRequest {
  readonly headers: Headers;
  readonly rawBody: Uint8Array;
  /** As the trusted-proxy rules resolve it. */
  readonly clientIp: string;
}

/** The parts of a hook the checks read (the HTTP layer's found hook carries them). */
export type TrustHook =
  & { readonly id: string }
  & Partial<Pick<HookRecord, "verification" | "allow">>;

/** Options of {@link SenderTrust}. */
export interface SenderTrustOptions {
  /** Opens a sealed secret (the hook store's `openSecret`). */
  openSecret: (sealed: string) => Promise<string>;
  /** Counts a refusal (for `/metrics`). */
  onRefused?: ((hookId: string, code: TrustRefusal["code"]) => void) | undefined;
  /** How many Standard Webhooks ids are remembered against replays. Default 100 000. */
  replayMax?: number | undefined;
}

/** How far a signed timestamp may be from now (Standard Webhooks' and Grafana's), 5 min. */
export const TOLERANCE_SECONDS = 300;

/**
 * Checks a request against a hook's allowlist and verification mode. Opened secrets are
 * cached per sealed value (a changed secret is a new sealed value), so the common path
 * does no decryption.
 *
 * @example
 * ```ts
 * import { type AppOptions, createApp } from "../ingest/app.ts";
 * import type { HookStore } from "./store.ts";
 *
 * function trustedApp(store: HookStore, options: AppOptions) {
 *   const trust = new SenderTrust({ openSecret: (s) => store.openSecret(s) });
 *   return createApp({ ...options, guards: trust.guards() });
 * }
 * ```
 */
export class SenderTrust {
  readonly #o: SenderTrustOptions;
  // The caches are made on first use and grow with their entries (src/bounded_cache.ts):
  // most bots never verify a signature or check an allowlist.
  #secretsCache: BoundedCache<string, string> | undefined;
  get #secrets(): BoundedCache<string, string> {
    return this.#secretsCache ??= boundedCache(10_000);
  }
  // Standard Webhooks ids seen within the tolerance window: a captured request replayed
  // within those 5 minutes is refused. In memory: one instance serves a store (the lease),
  // and after a restart the timestamp tolerance still bounds what can be replayed.
  #seenCache: BoundedCache<string, true> | undefined;
  get #seen(): BoundedCache<string, true> {
    return this.#seenCache ??= boundedCache(this.#o.replayMax ?? 100_000, {
      ttl: 2 * TOLERANCE_SECONDS * 1000,
    });
  }
  #cidrsCache: BoundedCache<string, ReturnType<typeof parseCidrList>> | undefined;
  get #cidrs(): BoundedCache<string, ReturnType<typeof parseCidrList>> {
    return this.#cidrsCache ??= boundedCache(10_000);
  }

  constructor(options: SenderTrustOptions) {
    this.#o = options;
  }

  /**
   * The two guards, address first (cheapest, and no secret is touched for strangers). A hook
   * without an allowlist or verification is answered synchronously: most hooks have neither,
   * and an awaited guard keeps every request's frames alive one more turn (issue 16).
   */
  guards(): ((
    hook: TrustHook,
    req: TrustRequest,
  ) => TrustRefusal | null | Promise<TrustRefusal | null>)[] {
    return [
      (hook, req) => this.#refused(hook, this.checkAddress(hook, req.clientIp)),
      (hook, req) =>
        hook.verification
          ? this.checkSignature(hook, req).then((r) => this.#refused(hook, r))
          : null,
    ];
  }

  /** `403 address_not_allowed` when the hook has an allowlist without the client's address. */
  checkAddress(hook: TrustHook, clientIp: string): TrustRefusal | null {
    if (!hook.allow || hook.allow.length === 0) return null;
    const key = hook.allow.join(",");
    let list = this.#cidrs.get(key);
    if (!list) {
      list = parseCidrList(key);
      this.#cidrs.set(key, list);
    }
    if (inCidrList(clientIp, list)) return null;
    return {
      status: 403,
      code: "address_not_allowed",
      message:
        `Requests to this webhook are accepted only from allowed addresses; ${clientIp} is not one. ` +
        `Ask the hook's owner to add it with /webhook_allow.`,
    };
  }

  /** `401 signature_invalid` when the hook verifies senders and this proof is missing or wrong. */
  async checkSignature(hook: TrustHook, req: TrustRequest): Promise<TrustRefusal | null> {
    const v = hook.verification;
    if (!v) return null;
    const secret = await this.#secret(v.secret);
    const h = req.headers;
    const why = await check(v.mode, secret, h, req.rawBody, this.#seen, hook.id);
    if (why === null) return null;
    return { status: 401, code: "signature_invalid", message: why };
  }

  /**
   * Call after each answered request: when the bot itself failed (5xx, 408, 429) the
   * sender will retry with the same `webhook-id`, so that id is released again.
   */
  requestDone(hookId: string, headers: Headers, status: number): void {
    if (status < 500 && status !== 408 && status !== 429) return;
    const id = headers.get("webhook-id");
    if (id !== null) this.#seen.delete(replayKey(hookId, id));
  }

  #refused(hook: TrustHook, r: TrustRefusal | null): TrustRefusal | null {
    if (r) this.#o.onRefused?.(hook.id, r.code);
    return r;
  }

  async #secret(sealed: string): Promise<string> {
    const hit = this.#secrets.get(sealed);
    if (hit !== undefined) return hit;
    const plain = await this.#o.openSecret(sealed);
    this.#secrets.set(sealed, plain);
    return plain;
  }
}

/**
 * The GitHub and Standard Webhooks verifiers, loaded with the first request to a hook that
 * uses one: a bot whose hooks verify nothing (and any bot until then) does without them
 * (docs/benchmarks.md, "Memory and start", session 3).
 */
let libraries: Promise<SignatureLibraries> | undefined;
interface SignatureLibraries {
  verifyGithub: typeof import("@octokit/webhooks-methods").verify;
  Webhook: typeof import("standardwebhooks").Webhook;
}
function signatureLibraries(): Promise<SignatureLibraries> {
  return libraries ??= Promise.all([
    import("@octokit/webhooks-methods"),
    import("standardwebhooks"),
  ]).then(
    ([github, standard]) => ({
      verifyGithub: github.verify,
      // A CommonJS package: imported lazily from the bundle `deno task start` runs
      // (src/start.ts), its namespace has only `default` (module.exports); Deno's own import
      // of the sources has the named export as well.
      Webhook: standard.default?.Webhook ?? standard.Webhook,
    }),
    (e) => {
      // A failed load (a broken install) fails this request; the next one tries again.
      libraries = undefined;
      throw e;
    },
  );
}

/** Returns null when the proof is valid, else the sentence for the sender. */
async function check(
  mode: VerifyMode,
  secret: string,
  h: Headers,
  body: Uint8Array,
  seen: BoundedCache<string, true>,
  hookId: string,
): Promise<string | null> {
  switch (mode) {
    case "github": {
      const sig = h.get("x-hub-signature-256");
      if (!sig) {
        return "This webhook verifies GitHub signatures: the X-Hub-Signature-256 header is missing. Set the webhook's Secret in GitHub.";
      }
      const { verifyGithub } = await signatureLibraries();
      const ok = await verifyGithub(secret, new TextDecoder().decode(body), sig).catch(() => false);
      return ok
        ? null
        : "X-Hub-Signature-256 does not match the body: check the webhook's Secret in GitHub.";
    }
    case "gitlab": {
      // GitLab sends its Secret token as a header; newer GitLab can also sign with
      // Standard Webhooks headers (its "signing token"): either proof is enough.
      if (h.get("webhook-signature")) return standard(secret, h, body, seen, hookId);
      const token = h.get("x-gitlab-token");
      if (!token) {
        return "This webhook verifies GitLab: the X-Gitlab-Token header is missing. Set the webhook's Secret token in GitLab.";
      }
      return await equal(token, secret)
        ? null
        : "X-Gitlab-Token is wrong: check the webhook's Secret token in GitLab.";
    }
    case "grafana": {
      const sig = h.get("x-grafana-alerting-signature");
      if (!sig) {
        return "This webhook verifies Grafana: the X-Grafana-Alerting-Signature header is missing. Set the contact point's HMAC secret.";
      }
      const ts = h.get("x-grafana-alerting-signature-timestamp") ??
        h.get("x-grafana-alerting-timestamp");
      let signed = body;
      if (ts !== null) {
        const t = Number(ts);
        if (!Number.isFinite(t) || Math.abs(Date.now() / 1000 - t) > TOLERANCE_SECONDS) {
          return "The Grafana signature timestamp is missing, malformed or more than 5 minutes off.";
        }
        signed = concat(new TextEncoder().encode(`${ts}:`), body);
      }
      const expected = await hmacHex(secret, signed);
      return await equal(sig.trim().toLowerCase().replace(/^sha256=/, ""), expected)
        ? null
        : "X-Grafana-Alerting-Signature does not match the body: check the contact point's HMAC secret.";
    }
    case "standard":
      return standard(secret, h, body, seen, hookId);
    case "bearer": {
      const auth = h.get("authorization") ?? "";
      const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
      if (!m) {
        return "This webhook needs Authorization: Bearer <secret> (e.g. Alertmanager http_config.authorization.credentials).";
      }
      return await equal(m[1]!, secret) ? null : "The bearer token is wrong.";
    }
  }
}

async function standard(
  secret: string,
  h: Headers,
  body: Uint8Array,
  seen: BoundedCache<string, true>,
  hookId: string,
): Promise<string | null> {
  const { Webhook } = await signatureLibraries();
  const headers: Record<string, string> = {};
  for (const k of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    const v = h.get(k);
    if (v !== null) headers[k] = v;
  }
  try {
    new Webhook(secret).verify(body, headers, { jsonParse: false });
  } catch (e) {
    return `Standard Webhooks signature refused: ${
      e instanceof Error ? e.message : String(e)
    } (webhook-id, webhook-timestamp within 5 minutes, webhook-signature v1 with the whsec_ secret).`;
  }
  const id = headers["webhook-id"]!;
  // Per hook: one sender may deliver the same message (same id) to several hooks.
  const key = replayKey(hookId, id);
  if (seen.has(key)) {
    return `webhook-id ${id.slice(0, 64)} was already accepted: a replay is refused.`;
  }
  seen.set(key, true);
  return null;
}

function replayKey(hookId: string, webhookId: string): string {
  return `${hookId}\n${webhookId}`;
}

/**
 * Constant-time string comparison (lengths leak, which a random secret makes harmless).
 * `node:crypto` is loaded with the first comparison, not at start.
 */
async function equal(a: string, b: string): Promise<boolean> {
  timingSafeEqual ??= (await import("node:crypto")).timingSafeEqual;
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
let timingSafeEqual: typeof import("node:crypto").timingSafeEqual | undefined;

async function hmacHex(secret: string, data: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return hexOf(
    new Uint8Array(await crypto.subtle.sign("HMAC", key, data as Uint8Array<ArrayBuffer>)),
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
