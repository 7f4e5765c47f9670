import assert from "node:assert/strict";
import {
  generateToken,
  hashToken,
  looksLikeToken,
  maskToken,
  tokenHint,
} from "../../src/hooks/mod.ts";

Deno.test("generateToken: 43 URL-safe characters, no padding", () => {
  for (let i = 0; i < 200; i++) {
    const t = generateToken();
    assert.equal(t.length, 43);
    assert.match(t, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(looksLikeToken(t));
  }
});

Deno.test("generateToken: unique over 10 000 draws, every base64url character seen", () => {
  const seen = new Set<string>();
  const chars = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const t = generateToken();
    seen.add(t);
    for (const c of t) chars.add(c);
  }
  assert.equal(seen.size, 10_000);
  assert.equal(chars.size, 64);
});

Deno.test("generateToken: characters are close to uniform (chi-square sanity)", () => {
  // The first 42 characters carry 6 full bits each; the last only 4.
  const counts = new Map<string, number>();
  const n = 5_000;
  for (let i = 0; i < n; i++) {
    for (const c of generateToken().slice(0, 42)) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  const expected = (n * 42) / 64;
  let chi = 0;
  for (const v of counts.values()) chi += (v - expected) ** 2 / expected;
  // 63 degrees of freedom: p = 1e-6 is near 130. A biased encoder lands far above.
  assert.ok(chi < 130, `chi-square ${chi}`);
});

Deno.test("hashToken: stable SHA-256 hex, differs per token", async () => {
  // SHA-256("abc"), a published test vector.
  assert.equal(
    await hashToken("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  const t = generateToken();
  assert.equal(await hashToken(t), await hashToken(t));
  assert.match(await hashToken(t), /^[0-9a-f]{64}$/);
  assert.notEqual(await hashToken(t), await hashToken(generateToken()));
});

Deno.test("maskToken and tokenHint show only the first and last four characters", () => {
  const t = "abcdEFGHijklMNOPqrstUVWXyz0123456789-_ABwxyz";
  assert.equal(maskToken(t), "abcd…wxyz");
  assert.deepEqual(tokenHint(t), { head: "abcd", tail: "wxyz" });
  assert.equal(maskToken({ head: "abcd", tail: "wxyz" }), "abcd…wxyz");
});

Deno.test("looksLikeToken: URL-safe, 20..128 characters", () => {
  assert.ok(looksLikeToken("a".repeat(20)));
  assert.ok(looksLikeToken("A-_9".repeat(32)));
  assert.ok(!looksLikeToken("a".repeat(19)));
  assert.ok(!looksLikeToken("a".repeat(129)));
  assert.ok(!looksLikeToken("abc+def/ghi=jklmnopqrstu"));
  assert.ok(!looksLikeToken("../../../../etc/passwd/xx"));
  assert.ok(!looksLikeToken(""));
});

Deno.test("hashToken in a fresh process: the first hashes, asked for together while node:crypto loads, are right", async () => {
  // node:crypto is loaded with the first hash (not at start): hashes asked for before it has
  // loaded wait for it, and each gets its own token's digest.
  const token = new URL("../../src/hooks/token.ts", import.meta.url).href;
  const code = `import { hashToken } from ${JSON.stringify(token)};
const first = await Promise.all(["abc", "x", "abc"].map((t) => hashToken(t)));
console.log(JSON.stringify([...first, await hashToken("x")]));`;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code], stderr: "inherit" })
    .output();
  assert.ok(out.success);
  const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const x = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
  assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [abc, x, abc, x]);
});
