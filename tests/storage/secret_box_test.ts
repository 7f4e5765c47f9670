import assert from "node:assert/strict";
import { join } from "node:path";
import { KEY_FILE_NAME, SecretBox, SecretKeyMismatchError } from "../../src/storage/secret_box.ts";

const MODULE = new URL("../../src/storage/secret_box.ts", import.meta.url).href;

/** True when every box opens what the first one sealed (they hold the same key). */
async function sameKey(boxes: SecretBox[]): Promise<boolean> {
  const sealed = await boxes[0]!.seal("whsec_same");
  for (const box of boxes) {
    if (await box.open(sealed).catch(() => null) !== "whsec_same") return false;
  }
  return true;
}

Deno.test("openers racing on a fresh store all get the one key that landed, file 0600, no temp left", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = join(dir, "bot.kv");
    const boxes = await Promise.all(
      Array.from({ length: 12 }, () => SecretBox.forStorage(storage)),
    );
    assert.ok(await sameKey(boxes), "two openers ended with different keys");
    // A later opener (the next start) reads the same key from the file.
    assert.ok(await sameKey([...boxes, await SecretBox.forStorage(storage)]));
    const info = await Deno.stat(join(dir, KEY_FILE_NAME));
    assert.equal(info.mode! & 0o777, 0o600);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, [KEY_FILE_NAME]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("separate processes starting at once on a fresh store agree on the key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const storage = join(dir, "bot.kv");
    // Each process seals a text with the key it got; the key file must open all of them.
    const script = `import { SecretBox } from ${JSON.stringify(MODULE)};
      const box = await SecretBox.forStorage(${JSON.stringify(storage)});
      console.log(await box.seal("from-" + Deno.pid));`;
    const runs = Array.from({ length: 4 }, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--no-config", script],
        stdout: "piped",
        stderr: "piped",
      }).output());
    const outputs = await Promise.all(runs);
    const box = await SecretBox.forStorage(storage);
    for (const out of outputs) {
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const sealed = new TextDecoder().decode(out.stdout).trim();
      assert.match(await box.open(sealed), /^from-\d+$/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a reader of a key file still being written waits for the whole key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, KEY_FILE_NAME);
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const whole = btoa(String.fromCharCode(...raw)) + "\n";
    const sealed = await (await SecretBox.fromBytes(raw)).seal("whsec_late");
    // A writer (an older version, or a copy in progress) has created the file but not filled it.
    await Deno.writeTextFile(path, whole.slice(0, 10), { mode: 0o600 });
    const opening = SecretBox.forStorage(join(dir, "bot.kv"));
    await Deno.writeTextFile(path, whole);
    assert.equal(await (await opening).open(sealed), "whsec_late");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a key file that stays empty is a clear error, not a new key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, KEY_FILE_NAME), "", { mode: 0o600 });
    await assert.rejects(
      () => SecretBox.forStorage(join(dir, "bot.kv")),
      /secret key file .* is not a key .*restore it from a backup/s,
    );
    assert.equal(await Deno.readTextFile(join(dir, KEY_FILE_NAME)), "", "the file was replaced");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// The store's key check (SecretBox.forStore): serve's key is the store's (it takes over, saying
// whether secrets were lost); a command with another key is refused when it would seal.
Deno.test("forStore: serve's key is the store's; a command with another key cannot seal", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const keyOf = (n: number) => btoa(String.fromCharCode(...new Uint8Array(32).fill(n)));
    const a = await SecretBox.forStore(kv, "store.kv", keyOf(1), { serve: true });
    assert.deepEqual([a.adopted, a.secretsLost], [false, false]);
    // The key file was lost (or WEBHOOK_SECRET_KEY changed) before any secret was sealed.
    const b = await SecretBox.forStore(kv, "store.kv", keyOf(2), { serve: true });
    assert.deepEqual([b.adopted, b.secretsLost], [true, false]);
    const sealed = await b.seal("whsec_x");
    // B's secrets exist now: a command with A is refused before it seals anything.
    const cli = await SecretBox.forStore(kv, "store.kv", keyOf(1));
    assert.equal(await cli.open(sealed).catch(() => "cannot"), "cannot");
    await assert.rejects(
      cli.seal("whsec_y"),
      (e: Error) =>
        e instanceof SecretKeyMismatchError && /it has WEBHOOK_SECRET_KEY/.test(e.message),
    );
    // The right key works everywhere.
    const again = await SecretBox.forStore(kv, "store.kv", keyOf(2), { serve: true });
    assert.deepEqual([again.adopted, again.secretsLost], [false, false]);
    assert.equal(await again.open(sealed), "whsec_x");
    assert.ok(await (await SecretBox.forStore(kv, "store.kv", keyOf(2))).seal("whsec_z"));
    // A serve with A takes the store over and says B's secrets are lost.
    const c = await SecretBox.forStore(kv, "store.kv", keyOf(1), { serve: true });
    assert.deepEqual([c.adopted, c.secretsLost], [true, true]);
  } finally {
    kv.close();
  }
});
