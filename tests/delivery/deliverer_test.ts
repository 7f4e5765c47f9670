// The deliverer on its own, with a scripted chat: what a run reports when the chat is lost
// part-way, deferred attachments included (the parts a run has not handled yet are derived
// from where it is, not kept in a set, issue 16).
import assert from "node:assert/strict";
import { Deliverer, type Part } from "../../src/delivery/deliverer.ts";
import type { FetchedFile } from "../../src/net/mod.ts";
import { TrueConfApiError } from "../../src/trueconf/mod.ts";

Deno.test("a chat lost mid-run fails every part not posted yet, a deferred download's too, in part order", async () => {
  let release!: () => void;
  const slow = new Promise<void>((resolve) => release = resolve);
  let fetched: Promise<FetchedFile> | undefined;
  const sent: string[] = [];
  const deliverer = new Deliverer({
    chat: {
      sendMessage(chatId, text) {
        if (text === "second") {
          return Promise.reject(new TrueConfApiError("sendMessage", 304, "no such chat"));
        }
        sent.push(text);
        return Promise.resolve({ chatId, messageId: `m${sent.length}`, timestamp: 0 });
      },
      sendFile: () => Promise.reject(new Error("no file reaches a lost chat")),
    },
    fetchUrl: () =>
      fetched = slow.then(() => {
        throw new Error("the host went away");
      }),
    previews: null,
    deferAfterMs: 0,
  });
  const parts: Part[] = [
    { kind: "text", text: "first", parseMode: "text", label: "text 1/2" },
    {
      kind: "attachment",
      attachment: { kind: "document", source: { type: "url", url: "https://x.example/slow" } },
      label: "file 1 (slow)",
    },
    { kind: "text", text: "second", parseMode: "text", label: "text 2/2" },
    {
      kind: "attachment",
      attachment: { kind: "document", source: { type: "bytes", bytes: new Uint8Array(1) } },
      label: "file 2 (upload)",
    },
  ];
  const r = await deliverer.run("chat", parts);
  release();
  await fetched?.catch(() => {}); // the download's budget timer ends with it
  assert.deepEqual(sent, ["first"]);
  assert.deepEqual(r.messageIds, ["m1"]);
  assert.deepEqual(r.failures.map((f) => [f.item, f.code]), [
    ["file 1 (slow)", "chat_unavailable"],
    ["text 2/2", "chat_unavailable"],
    ["file 2 (upload)", "chat_unavailable"],
  ]);
  assert.equal(r.stoppedAt, null);
  assert.equal(r.error?.code, "chat_unavailable");
});
