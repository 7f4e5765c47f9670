// A service's answer sent compressed (`Content-Encoding`): read exactly like an incoming hook
// POST (issue 12), which decodes gzip, deflate, br and zstd, with the answer's 1 MiB cap on the
// decoded bytes. The bot's calls send no Accept-Encoding, and without one any coding is
// acceptable (RFC 9110 12.5.3), so a service (or the proxy in front of it) may compress; the
// answer was read as raw bytes: "the answer could not be read: The body is not valid UTF-8".
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { withHookTo, withOutgoingBot } from "./_receiver.ts";

const compressed = (body: Uint8Array, type: string, coding = "gzip") =>
  new Response(new Uint8Array(body), {
    headers: { "content-type": type, "content-encoding": coding },
  });

Deno.test("an answer sent with Content-Encoding: gzip is decoded and posted as a reply", async () => {
  await withOutgoingBot({}, async (b) => {
    await withHookTo(
      b,
      { name: "deploys", triggers: ["/deploy"] },
      () =>
        compressed(
          gzipSync(new TextEncoder().encode('{"text":"deployed **staging**"}')),
          "application/json",
        ),
      async ({ alice }) => {
        const t = b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy staging" });
        await b.fake.waitFor(() => b.fake.messagesIn("ops").length > 0);
        const [reply] = b.fake.messagesIn("ops");
        assert.equal(reply!.text, "deployed **staging**");
        assert.equal(reply!.replyMessageId, t.messageId);
      },
    );
  });
});

Deno.test("a compressed answer that decodes past 1 MiB, or in an unknown coding, is refused by name, not posted", async () => {
  await withOutgoingBot({}, async (b) => {
    await withHookTo(
      b,
      { name: "deploys", triggers: ["/deploy"] },
      (body) =>
        body.args === "bomb"
          ? compressed(gzipSync(new Uint8Array(8 * 1024 * 1024).fill(0x61)), "text/plain")
          : compressed(new TextEncoder().encode("hi"), "text/plain", "snappy"),
      async ({ alice }) => {
        b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy bomb" });
        await b.fake.waitFor(() => b.fake.messagesIn("ops").length > 0);
        assert.match(b.fake.messagesIn("ops")[0]!.text ?? "", /more than 1 MiB/);
        b.fake.pushMessage({ chatId: "ops", authorId: alice, text: "/deploy other" });
        await b.fake.waitFor(() => b.fake.messagesIn("ops").length > 1);
        assert.match(b.fake.messagesIn("ops")[1]!.text ?? "", /Content-Encoding: snappy/);
      },
    );
  });
});
