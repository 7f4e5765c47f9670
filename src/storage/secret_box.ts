/**
 * Secrets the bot must be able to use again (a sender's verification secret, an outgoing
 * hook's signing secret) cannot be stored as hashes like tokens are: they are sealed with
 * AES-256-GCM (WebCrypto) and opened when needed.
 *
 * The key comes from `WEBHOOK_SECRET_KEY` (base64 of 32 bytes) when set, otherwise from a
 * key file next to the storage file (`secret.key`, created at first start with mode 0600).
 * A copy of the KV file alone therefore reveals no secret. An in-memory store (`:memory:`,
 * tests) gets a fresh random key.
 *
 * A box opened with {@link SecretBox.forStore} also keeps the store's key check: a fixed text
 * sealed with the key the store's secrets are sealed with, and whether any secret has been
 * sealed yet. A command run with another key than serve's (a root shell without the service's
 * env file) is refused before it seals a secret serve could not open. Serve's key is the
 * store's: a serve with another key takes it over (so a lost key file never stops the bot;
 * secrets sealed with the old key are then set again), and says whether secrets were lost.
 *
 * @module
 */

import { storagePaths } from "./_path.ts";
import { secretKeyCheck } from "./keys.ts";
import { commitWhenFree } from "./store_busy.ts";

/** A sealed secret: `v1.<iv base64>.<ciphertext+tag base64>`. */
export type Sealed = string;

/** Name of the key file created beside the storage file. */
export const KEY_FILE_NAME = "secret.key";

const KEY_BYTES = 32;
const IV_BYTES = 12;

/**
 * Seals and opens secrets with one AES-GCM key.
 *
 * @example
 * ```ts
 * const box = await SecretBox.forStorage(":memory:");
 * const sealed = await box.seal("whsec_abc");
 * await box.open(sealed); // "whsec_abc"
 * ```
 */
export class SecretBox {
  #key: CryptoKey;
  /** The store whose key check {@link seal} keeps, once the check is known to hold. */
  #store: { kv: Deno.Kv; path: string; used: boolean } | null = null;
  /** Where the key came from, for messages: `WEBHOOK_SECRET_KEY`, the key file, or memory. */
  readonly source: string;
  /** The key file this box created (none existed), or null. */
  readonly createdFile: string | null;

  private constructor(key: CryptoKey, source: string, createdFile: string | null) {
    this.#key = key;
    this.source = source;
    this.createdFile = createdFile;
  }

  /** A box with a key made of exactly 32 raw bytes (`source` names it in messages). */
  static async fromBytes(
    raw: Uint8Array,
    source = "a given key",
    createdFile: string | null = null,
  ): Promise<SecretBox> {
    if (raw.length !== KEY_BYTES) {
      throw new TypeError(`The secret key must be ${KEY_BYTES} bytes, got ${raw.length}.`);
    }
    const key = await crypto.subtle.importKey(
      "raw",
      raw as Uint8Array<ArrayBuffer>,
      "AES-GCM",
      false,
      [
        "encrypt",
        "decrypt",
      ],
    );
    return new SecretBox(key, source, createdFile);
  }

  /**
   * The box for a storage path: `keySetting` (base64 of 32 bytes) when given, else the key
   * file beside a file store (created 0600 if missing), else (`:memory:`) a random key.
   * A KV Connect URL needs `keySetting`, since there is no local folder to keep a key in.
   */
  static async forStorage(storagePath: string, keySetting?: string | null): Promise<SecretBox> {
    if (keySetting) {
      return await SecretBox.fromBytes(decodeKeySetting(keySetting), "WEBHOOK_SECRET_KEY");
    }
    if (storagePath === ":memory:") {
      return await SecretBox.fromBytes(crypto.getRandomValues(new Uint8Array(KEY_BYTES)), "memory");
    }
    if (/^https?:\/\//i.test(storagePath)) {
      throw new Error(
        "WEBHOOK_SECRET_KEY is required with a KV Connect storage URL (there is no local folder " +
          "for a key file). Generate one with: openssl rand -base64 32",
      );
    }
    const { dirname, join } = await storagePaths();
    const path = join(dirname(storagePath), KEY_FILE_NAME);
    const { raw, created } = await readOrCreateKeyFile(path);
    return await SecretBox.fromBytes(
      raw,
      `the ${KEY_FILE_NAME} file beside the store`,
      created ? path : null,
    );
  }

  /**
   * {@link forStorage} for a store whose key check this box keeps (see the module doc).
   * `serve: true` (the instance whose key is the store's): the check is recorded now when
   * missing or another key's (`adopted`; `secretsLost` when secrets were sealed with that
   * other key: they cannot be opened any more). Other commands are checked when they seal,
   * with {@link SecretKeyMismatchError}, so listing and reading work with any key.
   */
  static async forStore(
    kv: Deno.Kv,
    storagePath: string,
    keySetting: string | null | undefined,
    options: { serve?: boolean } = {},
  ): Promise<SecretBox & { adopted: boolean; secretsLost: boolean }> {
    const box = await SecretBox.forStorage(storagePath, keySetting);
    let adopted = false;
    let secretsLost = false;
    let used = false;
    if (options.serve) {
      const seen = await kv.get<KeyCheck>(secretKeyCheck());
      const record = seen.value;
      if (record && !await box.#opens(record)) {
        adopted = true;
        secretsLost = record.used;
      }
      if (!record || adopted) {
        const check = { sealed: await box.#sealRaw(KEY_CHECK_TEXT), used: false };
        if (!(await commitWhenFree(kv, kv.atomic().check(seen).set(secretKeyCheck(), check))).ok) {
          // Another process recorded its key at the same moment: take it from the top.
          return await SecretBox.forStore(kv, storagePath, keySetting, options);
        }
      }
      used = !adopted && record?.used === true;
    }
    box.#store = { kv, path: storagePath, used };
    return Object.assign(box, { adopted, secretsLost });
  }

  /**
   * What `serve` would meet in the store's secrets, found without creating or recording
   * anything (for `check-config`): `none` (no secret sealed yet: any key will do), `fits` (the
   * key serve would use opens them), `other_key` (they were sealed with another key: serve
   * would adopt this one and could not open them), `no_key_file` (no WEBHOOK_SECRET_KEY and no
   * key file beside the store: serve would create a new key and could not open them).
   * `source` names the key serve would use.
   */
  static async predict(
    kv: Deno.Kv,
    storagePath: string,
    keySetting: string | null | undefined,
  ): Promise<{ state: "none" | "fits" | "other_key" | "no_key_file"; source: string }> {
    const record = (await kv.get<KeyCheck>(secretKeyCheck())).value;
    let source = "WEBHOOK_SECRET_KEY";
    let raw: Uint8Array | null;
    if (keySetting) raw = decodeKeySetting(keySetting);
    else {
      const { dirname, join } = await storagePaths();
      source = join(dirname(storagePath), KEY_FILE_NAME);
      raw = await readKeyFile(source);
    }
    if (!record?.used) return { state: "none", source };
    if (!raw) return { state: "no_key_file", source };
    const box = await SecretBox.fromBytes(raw, source);
    return { state: await box.#opens(record) ? "fits" : "other_key", source };
  }

  /** Seals `plain`; every call uses a fresh random IV. */
  async seal(plain: string): Promise<Sealed> {
    if (this.#store && !this.#store.used) await this.#markUsed(this.#store);
    return await this.#sealRaw(plain);
  }

  /**
   * Before the first secret this process seals: the store's check must be this key (else
   * {@link SecretKeyMismatchError}, and a key file created for nothing is removed again), and
   * it is marked used, so a serve with another key refuses to start from now on.
   */
  async #markUsed(store: { kv: Deno.Kv; path: string; used: boolean }): Promise<void> {
    for (;;) {
      const seen = await store.kv.get<KeyCheck>(secretKeyCheck());
      if (seen.value && !await this.#opens(seen.value)) {
        if (this.createdFile) await Deno.remove(this.createdFile).catch(() => {});
        throw new SecretKeyMismatchError(store.path, this.source);
      }
      if (seen.value?.used) break;
      const check = {
        sealed: seen.value?.sealed ?? await this.#sealRaw(KEY_CHECK_TEXT),
        used: true,
      };
      const op = store.kv.atomic().check(seen).set(secretKeyCheck(), check);
      if ((await commitWhenFree(store.kv, op)).ok) break;
    }
    store.used = true;
  }

  /** True when the store's check opens with this key. */
  async #opens(check: KeyCheck): Promise<boolean> {
    try {
      return await this.open(check.sealed) === KEY_CHECK_TEXT;
    } catch {
      return false;
    }
  }

  async #sealRaw(plain: string): Promise<Sealed> {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const ct = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv },
      this.#key,
      new TextEncoder().encode(plain),
    );
    return `v1.${b64(iv)}.${b64(new Uint8Array(ct))}`;
  }

  /** Opens a sealed secret. Throws when it was sealed with another key or altered. */
  async open(sealed: Sealed): Promise<string> {
    const [v, iv, ct] = sealed.split(".");
    if (v !== "v1" || !iv || !ct) throw new TypeError("Not a sealed secret.");
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: unb64(iv) },
        this.#key,
        unb64(ct),
      );
      return new TextDecoder().decode(plain);
    } catch (e) {
      throw new Error(
        "A stored secret cannot be opened with this key (was WEBHOOK_SECRET_KEY or the " +
          `${KEY_FILE_NAME} file changed?).`,
        { cause: e },
      );
    }
  }
}

/** The store's key check (`secret_key_check`). */
interface KeyCheck {
  /** {@link KEY_CHECK_TEXT} sealed with the store's key. */
  readonly sealed: Sealed;
  /** A secret has been sealed with that key (so another key would fail to open it). */
  readonly used: boolean;
}

/** What the store's key check seals. */
const KEY_CHECK_TEXT = "trueconf-webhook-bot secret key check v1";

/** The store's secrets are sealed with another key than this process has. */
export class SecretKeyMismatchError extends Error {
  /** Always `SecretKeyMismatchError`. */
  override name = "SecretKeyMismatchError";
  /** The message for the store at `storagePath` and a process whose key is from `source`. */
  constructor(storagePath: string, source: string) {
    super(
      `The secrets in ${storagePath} are sealed with another key than this process has (it has ${source}). ` +
        "Run it with the WEBHOOK_SECRET_KEY serve uses (on systemd: the service's EnvironmentFile, " +
        `docs/deploy.md "Offline commands"), or put back the ${KEY_FILE_NAME} file the store was used with.`,
    );
  }
}

function decodeKeySetting(setting: string): Uint8Array {
  let raw: Uint8Array;
  try {
    raw = unb64(setting.trim());
  } catch {
    throw new TypeError("WEBHOOK_SECRET_KEY must be base64 (openssl rand -base64 32).");
  }
  if (raw.length !== KEY_BYTES) {
    throw new TypeError(
      `WEBHOOK_SECRET_KEY must decode to ${KEY_BYTES} bytes, got ${raw.length} (openssl rand -base64 32).`,
    );
  }
  return raw;
}

/** How long a reader waits for a key file that is still shorter than a whole key. */
const SHORT_FILE_WAIT_MS = 2_000;
const SHORT_FILE_POLL_MS = 25;
/** A whole key file: 44 base64 characters (32 bytes). */
const KEY_TEXT_LENGTH = 44;

/**
 * Reads the key file, creating it when missing. `serve` and a `hooks …` command may start at
 * the same moment on a fresh store, so creation is atomic: the new key is written completely
 * into a private temp file (0600) in the same folder and then hard-linked to `secret.key`.
 * `link` fails when the name exists, so exactly one key wins, every loser reads the winner's,
 * and nobody ever sees a half-written key under the real name. A file shorter than a whole key
 * (written by an older version, or a copy in progress) is re-read for a short while before it
 * is reported.
 */
async function readOrCreateKeyFile(path: string): Promise<{ raw: Uint8Array; created: boolean }> {
  const existing = await readKeyFile(path);
  if (existing) return { raw: existing, created: false };
  const raw = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  const { dirname, join } = await storagePaths();
  const temp = join(dirname(path), `.${KEY_FILE_NAME}.${crypto.randomUUID()}.tmp`);
  try {
    await Deno.writeTextFile(temp, b64(raw) + "\n", { createNew: true, mode: 0o600 });
    await Deno.link(temp, path);
    return { raw, created: true };
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      // Another process won the race: its key is complete under the real name.
      const theirs = await readKeyFile(path);
      if (theirs) return { raw: theirs, created: false };
    }
    throw new Error(`Cannot create the secret key file ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    await Deno.remove(temp).catch(() => {});
  }
}

/** The key in the file, or null when there is no file. Waits briefly while it is short. */
async function readKeyFile(path: string): Promise<Uint8Array | null> {
  const deadline = Date.now() + SHORT_FILE_WAIT_MS;
  for (;;) {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw new Error(`Cannot read the secret key file ${path}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (text.trim().length >= KEY_TEXT_LENGTH || Date.now() >= deadline) {
      try {
        return decodeKeySetting(text);
      } catch (e) {
        throw new Error(
          `The secret key file ${path} is not a key (${(e as Error).message}). If no secret was ` +
            "ever sealed with it, delete it and start again; otherwise restore it from a backup.",
          { cause: e },
        );
      }
    }
    await new Promise((resolve) => setTimeout(resolve, SHORT_FILE_POLL_MS));
  }
}

function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function unb64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
