// docs/outgoing.md's verification snippets, run as a reader would paste them: the Python
// function and the curl+openssl lines check a real signed call the bot made to a loopback
// receiver (the bytes and headers as received), so the docs cannot drift from the signing.
// Each needs its tool on the machine (python3; bash, openssl, base64, od); without it the test
// is reported as ignored, not passed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Received, withHookTo, withOutgoingBot } from "./_receiver.ts";

const DOC = await Deno.readTextFile(join(import.meta.dirname!, "../../docs/outgoing.md"));

/** The body of the first fenced block of `lang` that follows `heading` in the doc. */
function snippet(heading: string, lang: string): string {
  const from = DOC.indexOf(heading);
  assert.ok(from >= 0, `docs/outgoing.md has "${heading}"`);
  const open = DOC.indexOf("```" + lang + "\n", from);
  assert.ok(open >= 0, `a ${lang} block after "${heading}"`);
  const start = open + lang.length + 4;
  return DOC.slice(start, DOC.indexOf("```", start));
}

function has(...tools: string[]): boolean {
  return tools.every((t) => {
    try {
      return new Deno.Command("sh", { args: ["-c", `command -v ${t}`], stdout: "null" })
        .outputSync().success;
    } catch {
      return false;
    }
  });
}

/** One real call: trigger `/job x` and capture what the receiver got, with the secret. */
async function capture(): Promise<{ call: Received; secret: string }> {
  let out: { call: Received; secret: string } | null = null;
  await withOutgoingBot({}, (b) =>
    withHookTo(
      b,
      { name: "ci", triggers: ["/job"], title: "Ops «ü» & co" },
      () => new Response(null, { status: 204 }),
      async ({ alice, r, secret }) => {
        b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/job ünï “quoted” 🚀" });
        out = { call: await r.nth(1), secret };
      },
    ));
  assert.ok(out);
  return out;
}

async function run(cmd: string, args: string[], stdin: string): Promise<string> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const { code, stdout, stderr } = await child.output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, err);
  return new TextDecoder().decode(stdout).trim();
}

Deno.test({
  name: "docs/outgoing.md's Python verify() accepts a real call and rejects a changed body",
  ignore: !has("python3"),
  async fn() {
    const { call, secret } = await capture();
    const harness = [
      snippet("**Python**", "python"),
      "import json, sys",
      "data = json.load(sys.stdin)",
      "body = data['body'].encode()",
      "print(verify(data['secret'], data['headers'], body), " +
      "verify(data['secret'], data['headers'], body + b' '))",
    ].join("\n");
    const said = await run(
      "python3",
      ["-c", harness],
      JSON.stringify({
        secret,
        headers: Object.fromEntries(call.headers),
        body: call.raw,
      }),
    );
    assert.equal(said, "True False");
  },
});

Deno.test({
  name: "docs/outgoing.md's curl+openssl lines compute the webhook-signature of a real call",
  ignore: !has("bash", "openssl", "base64", "od"),
  async fn() {
    const { call, secret } = await capture();
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(join(dir, "body.json"), call.raw);
      // The doc's first line sets SECRET, ID and TS to placeholders; the real ones come first
      // and that line is left out.
      const lines = snippet("**curl + openssl**", "sh").split("\n")
        .filter((l) => !l.startsWith("SECRET="));
      const script = [
        `cd ${JSON.stringify(dir)}`,
        `SECRET=${JSON.stringify(secret)}; ID=${JSON.stringify(call.headers.get("webhook-id"))}`,
        `TS=${JSON.stringify(call.headers.get("webhook-timestamp"))}`,
        ...lines,
      ].join("\n");
      const sig = await run("bash", ["-eo", "pipefail"], script);
      assert.equal(`v1,${sig}`, call.headers.get("webhook-signature"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
