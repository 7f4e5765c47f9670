import assert from "node:assert/strict";
import { foldHookName, validateHookName } from "../../src/hooks/mod.ts";
import { nearestHookName } from "../../src/hooks/hook_name.ts";

Deno.test("validateHookName: trims and keeps case, folds for comparison", () => {
  assert.deepEqual(validateHookName("  Deploys \t"), {
    ok: true,
    name: "Deploys",
    folded: "deploys",
  });
});

Deno.test("validateHookName: NFC, so composed and decomposed names are one name", () => {
  const composed = validateHookName("Café");
  const decomposed = validateHookName("Cafe\u0301");
  assert.ok(composed.ok && decomposed.ok);
  assert.equal(composed.folded, decomposed.folded);
  assert.equal(decomposed.name, "Café");
  assert.equal(foldHookName("ДЕПЛОЙ"), "деплой");
});

Deno.test("validateHookName: empty names get the how-to sentence", () => {
  for (const raw of ["", "   ", "\t\n"]) {
    const r = validateHookName(raw);
    assert.ok(!r.ok);
    assert.equal(r.code, "empty");
    assert.equal(
      r.reason,
      "The name is empty. Type /webhook_create <name>, for example /webhook_create deploys.",
    );
  }
});

Deno.test("validateHookName: at most 64 characters, counted as code points", () => {
  assert.ok(validateHookName("x".repeat(64)).ok);
  assert.ok(validateHookName("😀".repeat(64)).ok); // 128 UTF-16 units, 64 characters
  const r = validateHookName("x".repeat(70));
  assert.ok(!r.ok);
  assert.equal(r.code, "too_long");
  assert.match(r.reason, /too long \(70 characters, at most 64\)/);
});

Deno.test("validateHookName: control characters refused", () => {
  for (const raw of ["a\u0000b", "de\nploys", "x\u007f", "x\u0085y", "a\u2028b", "evil\u202Etxt"]) {
    const r = validateHookName(raw);
    assert.ok(!r.ok, JSON.stringify(raw));
    assert.equal(r.code, "control_characters");
    assert.match(r.reason, /control characters/);
  }
  // Emoji ZWJ sequences are fine.
  assert.ok(validateHookName("👩‍💻 builds").ok);
});

Deno.test("invisible characters (zero-width space, direction marks, word joiner, BOM, soft hyphen) are refused: a name that looks like another's", () => {
  for (const ch of ["\u200B", "\u200E", "\u200F", "\u2060", "\uFEFF", "\u00AD"]) {
    const r = validateHookName(`deplo${ch}ys`);
    assert.equal(r.ok ? "" : r.code, "control_characters", JSON.stringify(ch));
  }
  // Emoji sequences keep their joiner, variation selector and tag characters.
  for (const name of ["👨‍👩‍👧 family", "❤️ ops", "🏴󠁧󠁢󠁳󠁣󠁴󠁿 team"]) {
    assert.ok(validateHookName(name).ok, name);
  }
});

Deno.test("nearestHookName drops invisible characters (a name from elsewhere keeps its look) and blanks controls", () => {
  assert.equal(nearestHookName("deplo\u200Bys"), "deploys");
  assert.equal(nearestHookName("\uFEFFdeploys\u00AD"), "deploys");
  assert.equal(nearestHookName("deploy\nprod"), "deploy prod");
});
