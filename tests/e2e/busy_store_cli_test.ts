// An offline command's change beside a process that holds the store's write lock (a busy
// serving bot, a backup, sqlite3 by hand): Deno KV refuses the commit ("database is locked"),
// at once when the commit has checks, after about 5 s when it has none. The command keeps trying
// for STORE_WAIT_MS, says once on stderr that it waits, and succeeds once the lock is gone; a
// lock never let go ends with the busy sentence naming the true wait.
//
// A real CLI process (`import-json` of a named pipe). The lock is taken with node:sqlite's
// `BEGIN IMMEDIATE` after the CLI has opened and read the store (Deno KV's first read on a new
// handle waits for the lock without limit, which is openKv's own bound): the CLI opens the pipe
// only then, and the test's open of the pipe's other end returns when it does.
import assert from "node:assert/strict";
import { join } from "node:path";
import { STORE_WAIT_MS } from "../../src/storage/mod.ts";
import { TextLineStream } from "../../src/cli/_lines.ts";
import { otherConnection } from "../support/store_lock.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

const REFERENCE_JSON = JSON.stringify({
  webhooks: [{
    id: "6f1c2a3e-8b4d-4e5f-9a0b-1c2d3e4f5a6b",
    chat_id: "c_ops@trueconf.example",
    name: "Deploys",
    token: "g4yL-KtkMCidCvKVFX8g0ebzSZjtm0OQEJ85POTl-Io",
  }],
});

const STILL_TRYING = (path: string) =>
  `the store ${path} is busy: another process (most likely the running bot) keeps it locked; ` +
  `still trying, for up to ${STORE_WAIT_MS / 1000} s`;

/** `import-json <pipe>` started on the store `path`, its stderr read line by line. */
async function importFromPipe(dir: string, path: string) {
  const pipe = join(dir, "webhooks.json");
  const made = await new Deno.Command("mkfifo", { args: [pipe] }).output();
  assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--frozen", "--config", join(ROOT, "deno.json"), join(ROOT, "src/main.ts")]
      .concat(["import-json", pipe]),
    env: { WEBHOOK_STORAGE_PATH: path, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  const errLines: string[] = [];
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  const stderrDone = (async () => {
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TextLineStream(),
    );
    for await (const l of lines) {
      errLines.push(l);
      for (const w of waiters.filter((w) => w.pred(l))) w.resolve(l);
    }
  })();
  const status = child.status;
  return {
    /** Opens the pipe for writing: returns once the CLI has opened it (the store is open). */
    async writer(): Promise<Deno.FsFile> {
      const open = Deno.open(pipe, { write: true });
      const ended = await Promise.race([open.then(() => null), status]);
      if (ended !== null) {
        // The CLI ended without opening the pipe: let the pending open go, then fail.
        (await Deno.open(pipe, { read: true })).close();
        (await open).close();
        await stderrDone;
        assert.fail(`the CLI ended (${ended.code}) before reading the file:\n${errLines}`);
      }
      return await open;
    },
    /** The first stderr line `pred` accepts; fails when the CLI ends without one. */
    async line(pred: (l: string) => boolean, what: string): Promise<string> {
      const seen = errLines.find(pred);
      if (seen !== undefined) return seen;
      const { promise, resolve } = Promise.withResolvers<string>();
      waiters.push({ pred, resolve });
      const r = await Promise.race([promise, stderrDone.then(() => null)]);
      if (r === null) assert.fail(`no ${what} before the CLI ended:\n${errLines.join("\n")}`);
      return r;
    },
    async done() {
      const [s, out] = await Promise.all([status, stdout, stderrDone]);
      return { code: s.code, stdout: out, stderr: errLines.join("\n") };
    },
  };
}

/**
 * `import-json` of one hook on a fresh store (made by a first run), the store locked by another
 * connection once the CLI has opened it and before it commits.
 */
async function importUnderLock() {
  const dir = await Deno.makeTempDir({ prefix: "busy_store_cli_" });
  const path = join(dir, "webhooks.kv");
  const other = await otherConnection(path);
  const cleanup = async () => {
    other.close();
    await Deno.remove(dir, { recursive: true });
  };
  try {
    const cli = await importFromPipe(dir, path);
    const file = await cli.writer();
    other.lock(); // what a serving bot's writer does while it commits
    await file.write(new TextEncoder().encode(REFERENCE_JSON));
    file.close();
    return { path, cli, release: other.release, [Symbol.asyncDispose]: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** The hook records in the store at `path`. */
async function hookRecords(path: string): Promise<Deno.KvEntry<unknown>[]> {
  const kv = await Deno.openKv(path);
  try {
    return await Array.fromAsync(kv.list({ prefix: ["hook"] }));
  } finally {
    kv.close();
  }
}

Deno.test("an offline command's change waits out a store another process keeps locked, says so once, and lands once the lock is gone", async () => {
  await using run = await importUnderLock();
  const notice = await run.cli.line((l) => l.includes("still trying"), "busy notice");
  assert.equal(notice, STILL_TRYING(run.path));
  run.release();
  const r = await run.cli.done();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^imported {2}chat c_ops@trueconf\.example {2}"Deploys"/m);
  assert.equal(r.stderr, notice, "one notice, nothing else");
  // The change is in the store: the hook's URL works for the bot that opens it next.
  assert.equal((await hookRecords(run.path)).length, 1);
});

Deno.test("an offline command's change on a store kept locked past the bound ends with the busy sentence and its true wait, exit 1", async () => {
  await using run = await importUnderLock();
  const r = await run.cli.done();
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const [notice, error, ...rest] = r.stderr.split("\n");
  assert.equal(notice, STILL_TRYING(run.path));
  // At least the bound; a refusal that itself waited KV's 5 s may end a few seconds past it.
  const waited = error?.match(/kept it locked for more than (\d+) s;/)?.[1];
  assert.ok(waited !== undefined, r.stderr);
  assert.ok(Number(waited) >= STORE_WAIT_MS / 1000 && Number(waited) < 20, r.stderr);
  assert.equal(
    error,
    `error: the store ${run.path} is busy: another process (most likely the running bot) kept ` +
      `it locked for more than ${waited} s; what this command had not saved by then is not ` +
      `saved. Run the command again; if it keeps happening, run it while the bot is less ` +
      `busy or stopped.`,
  );
  assert.deepEqual(rest, []);
  run.release();
  assert.deepEqual(await hookRecords(run.path), [], "nothing saved");
});
