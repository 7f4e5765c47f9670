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
 * @module
 */

import { storagePaths } from "./_path.ts";

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

  private constructor(key: CryptoKey) {
    this.#key = key;
  }

  /** A box with a key made of exactly 32 raw bytes. */
  static async fromBytes(raw: Uint8Array): Promise<SecretBox> {
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
    return new SecretBox(key);
  }

  /**
   * The box for a storage path: `keySetting` (base64 of 32 bytes) when given, else the key
   * file beside a file store (created 0600 if missing), else (`:memory:`) a random key.
   * A KV Connect URL needs `keySetting`, since there is no local folder to keep a key in.
   */
  static async forStorage(storagePath: string, keySetting?: string | null): Promise<SecretBox> {
    if (keySetting) return await SecretBox.fromBytes(decodeKeySetting(keySetting));
    if (storagePath === ":memory:") {
      return await SecretBox.fromBytes(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
    }
    if (/^https?:\/\//i.test(storagePath)) {
      throw new Error(
        "WEBHOOK_SECRET_KEY is required with a KV Connect storage URL (there is no local folder " +
          "for a key file). Generate one with: openssl rand -base64 32",
      );
    }
    const { dirname, join } = await storagePaths();
    return await SecretBox.fromBytes(
      await readOrCreateKeyFile(join(dirname(storagePath), KEY_FILE_NAME)),
    );
  }

  /** Seals `plain`; every call uses a fresh random IV. */
  async seal(plain: string): Promise<Sealed> {
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
async function readOrCreateKeyFile(path: string): Promise<Uint8Array> {
  const existing = await readKeyFile(path);
  if (existing) return existing;
  const raw = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
  const { dirname, join } = await storagePaths();
  const temp = join(dirname(path), `.${KEY_FILE_NAME}.${crypto.randomUUID()}.tmp`);
  try {
    await Deno.writeTextFile(temp, b64(raw) + "\n", { createNew: true, mode: 0o600 });
    await Deno.link(temp, path);
    return raw;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      // Another process won the race: its key is complete under the real name.
      const theirs = await readKeyFile(path);
      if (theirs) return theirs;
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
