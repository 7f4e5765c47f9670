/**
 * `check-config`: settings are already valid when this runs (main exits 2 otherwise); this
 * checks what `serve` will need — the storage file (a file, writable, not held by a running
 * instance, its sealed secrets openable with the key serve would use), the listen address
 * (free, permitted) — and reaches TrueConf the way `serve`
 * would — OAuth (or the static token), one WebSocket handshake, one `auth` — and prints a
 * step-by-step report. It never creates the storage file or takes the store's lease.
 *
 * @module
 */
import { type Config, configWarnings, readCaFile, trueconfEndpoint } from "../config.ts";
import {
  inspectStorage,
  judgeLease,
  leaseLockFile,
  type LeaseRecord,
  openKv,
  readLease,
  SecretBox,
  STORE_NOTICE_MS,
  STORE_WAIT_MS,
  storeBusySentence,
  storeWaitingSentence,
  thisHost,
} from "../storage/mod.ts";
import { checkTrueConf, TrueConfClient, trueConfErrorSentence } from "../trueconf/mod.ts";
import { errorText } from "../error_text.ts";
import type { Out } from "./hooks_cli.ts";
import { listenAddress, listenProblem } from "./_listen_problem.ts";

/** Options of {@link checkConfig}; tests shorten the timeout. */
export interface CheckConfigOptions {
  timeoutMs?: number;
  /**
   * After the checks pass, post a test message and a small file into the bot's own Favorites
   * chat through the client `serve` uses: proves sending and uploading, not only logging in.
   */
  sendTest?: boolean;
  /** PEM text of TRUECONF_CA_FILE; read from the file when absent. */
  caPem?: string;
}

/** Prints the report; returns 0 when every step passed, 2 for an unreadable TRUECONF_CA_FILE, 1 otherwise. */
export async function checkConfig(
  config: Config,
  out: Out,
  options: CheckConfigOptions = {},
): Promise<number> {
  const tc = config.trueconf;
  const scheme = tc.https ? "https" : "http";
  out(
    `settings: OK (TrueConf ${scheme}://${tc.server}:${tc.port}, public URL ${config.publicUrl})`,
  );
  let caPem = options.caPem;
  if (!caPem && tc.caFile) {
    try {
      caPem = await readCaFile(tc.caFile);
    } catch (e) {
      out(`FAIL  ${errorText(e)}`);
      return 2; // a bad setting, as `serve` treats it (and systemd does not restart on 2)
    }
  }
  for (const warning of configWarnings(config)) out(`note: ${warning}`);
  const local = await checkLocal(config, out);
  if (!tc.verifyTls && tc.https) {
    out("note: TLS verification is OFF for TrueConf (TRUECONF_VERIFY_SSL=false)");
  }
  const report = await checkTrueConf({
    ...trueconfEndpoint(config, caPem),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  for (const step of report.steps) {
    out(`${step.ok ? "OK  " : "FAIL"}  ${step.name.padEnd(9)} ${step.detail} (${step.ms} ms)`);
  }
  const sent = report.ok && options.sendTest
    ? await sendTest(config, caPem, out, options.timeoutMs ?? 15_000)
    : true;
  if (report.ok && local && sent) {
    out(
      `PASS: the bot can log in to TrueConf as ${report.botId ?? "(unknown id)"}${
        options.sendTest ? ", send and upload" : ""
      }.`,
    );
    return 0;
  }
  out("FAIL: the bot cannot work with these settings; see the failed step above.");
  return 1;
}

function line(out: Out, ok: boolean | "note", name: string, detail: string): void {
  out(`${ok === "note" ? "note" : ok ? "OK  " : "FAIL"}  ${name.padEnd(9)} ${detail}`);
}

/** The storage file and the listen address, as `serve` will meet them. False when one fails. */
async function checkLocal(config: Config, out: Out): Promise<boolean> {
  const storage = await inspectStorage(config.storagePath);
  line(out, storage.ok, "storage", storage.detail);
  let liveHere = false;
  if (storage.ok && storage.exists && !/^https?:\/\//i.test(config.storagePath)) {
    let holder: LeaseRecord | null = null;
    let secrets: Awaited<ReturnType<typeof SecretBox.predict>> | null = null;
    let kv: Deno.Kv;
    try {
      // The file exists (checked above), so openKv creates nothing; a store another process
      // keeps locked gets the offline commands' bound instead of a check that never ends.
      kv = await openKv(config.storagePath, {
        answerWithinMs: STORE_WAIT_MS,
        onWaiting: () => line(out, "note", "storage", storeWaitingSentence(config.storagePath)),
        waitingAfterMs: STORE_NOTICE_MS,
      });
    } catch (e) {
      // openKv's errors are the operator's sentences already (they name the file).
      line(out, false, "storage", storeBusySentence(e, config.storagePath) ?? errorText(e));
      return false;
    }
    try {
      holder = await readLease(kv);
      secrets = await SecretBox.predict(kv, config.storagePath, config.secretKey);
    } catch (e) {
      line(
        out,
        false,
        "storage",
        storeBusySentence(e, config.storagePath) ??
          `${config.storagePath} cannot be read as a KV database: ${errorText(e)}`,
      );
      return false;
    } finally {
      kv.close();
    }
    if (holder) {
      const lease = judgeLease(holder, leaseLockFile(config.storagePath));
      liveHere = lease.live && holder.host === thisHost();
      line(out, "note", "lease", lease.detail);
    }
    if (secrets && !reportSecrets(out, secrets)) return false;
  }
  return storage.ok && checkListen(config, out, liveHere);
}

/**
 * The store's sealed secrets (verification and signing) against the key serve would use: with
 * another key (a restore without secret.key, a new WEBHOOK_SECRET_KEY) serve starts, adopts
 * that key, and every hook with /webhook_verify answers 500. False when that would happen.
 */
function reportSecrets(
  out: Out,
  { state, source }: Awaited<ReturnType<typeof SecretBox.predict>>,
): boolean {
  if (state === "none") return true;
  if (state === "fits") {
    line(out, true, "secrets", `the store's secrets open with ${source}`);
    return true;
  }
  line(
    out,
    false,
    "secrets",
    (state === "no_key_file"
      ? `the store's secrets were sealed with a key file ${source} that is not there (and WEBHOOK_SECRET_KEY is not set)`
      : `the store's secrets were sealed with another key than ${source}`) +
      ": serve would start with a new key, and hooks with /webhook_verify would answer 500 and outgoing hooks could not sign. Put back the key the store was used with (WEBHOOK_SECRET_KEY, or the secret.key file beside the store); to give those secrets up instead, start serve once and set them again (/webhook_verify, /webhook_rotate)",
  );
  return false;
}

function checkListen(config: Config, out: Out, runningHere: boolean): boolean {
  const { host, port } = config.http;
  const where = listenAddress(host, port);
  try {
    // Port 0 too: the host must still be an address of this machine.
    Deno.listen({ hostname: host, port }).close();
    line(
      out,
      true,
      "listen",
      port === 0 ? `${where}: a free port is picked at start` : `${where} is free`,
    );
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse && runningHere) {
      line(out, "note", "listen", `${where} is in use, as expected while the instance above runs`);
      return true;
    }
    line(out, false, "listen", listenProblem(host, port, e));
    return false;
  }
}

/** A 1×1 PNG, sent as a document: the upload path without a preview. */
const PIXEL = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

/** `--send-test`: a text and a file into the bot's Favorites, as serve would send them. */
async function sendTest(
  config: Config,
  caPem: string | undefined,
  out: Out,
  timeoutMs: number,
): Promise<boolean> {
  const client = new TrueConfClient({
    ...trueconfEndpoint(config, caPem),
    requestTimeoutMs: timeoutMs,
    uploadTimeoutMs: Math.max(timeoutMs, 30_000),
  });
  let step = "favorites";
  let t0 = Date.now();
  try {
    client.start();
    await client.ready(timeoutMs);
    const chat = await client.createFavoritesChat();
    line(out, true, "favorites", `the bot's Favorites chat ${chat} (${Date.now() - t0} ms)`);
    step = "send";
    t0 = Date.now();
    const when = new Date().toISOString();
    const sent = await client.sendMessage(
      chat,
      `trueconf-webhook-bot check-config --send-test: sending works (${when}).`,
      "text",
    );
    line(out, true, "send", `message ${sent.messageId} (${Date.now() - t0} ms)`);
    step = "upload";
    t0 = Date.now();
    const file = await client.sendFile(chat, {
      bytes: PIXEL,
      name: "check-config.png",
      mimeType: "image/png",
      caption: { text: "…and uploading works.", parseMode: "text" },
    });
    line(out, true, "upload", `file message ${file.messageId} (${Date.now() - t0} ms)`);
    return true;
  } catch (e) {
    line(out, false, step, `${trueConfErrorSentence(e)} (${Date.now() - t0} ms)`);
    return false;
  } finally {
    await client.close();
  }
}
