// uploadFile → HTTP upload → sendFile, and participants paging.
import assert from "node:assert/strict";
import type { ChatRole } from "../../src/trueconf/mod.ts";
import { withClient } from "./_helpers.ts";

const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4]);

Deno.test("sendFile with a preview is a photo, without one a document", async () => {
  await withClient({}, {}, async (fake, client) => {
    fake.addChat({
      chatId: "g",
      title: "G",
      chatType: 2,
      participants: [{ userId: fake.botId, role: "user" }],
    });
    const photo = await client.sendFile("g", {
      bytes: png,
      name: "шарт.png",
      mimeType: "image/png",
      preview: { bytes: new Uint8Array([9, 9]), name: "preview.jpg", mimeType: "image/jpeg" },
    });
    assert.equal(photo.chatId, "g");
    const doc = await client.sendFile("g", {
      bytes: new TextEncoder().encode("a,b\n"),
      name: "report.csv",
      mimeType: "text/csv",
      caption: { text: "the *report*", parseMode: "markdown" },
    });
    assert.notEqual(doc.messageId, photo.messageId);
    const [p, d] = fake.sent.filter((s) => s.chatId === "g");
    assert.equal(p?.kind, "photo");
    assert.equal(p?.file?.name, "шарт.png");
    assert.equal(p?.file?.mimeType, "image/png");
    assert.deepEqual(p?.file?.bytes, png);
    assert.equal(p?.preview?.mimeType, "image/jpeg");
    assert.equal(p?.caption, undefined);
    assert.equal(d?.kind, "document");
    assert.equal(d?.preview, undefined);
    assert.deepEqual(d?.caption, { text: "the *report*", parseMode: "markdown" });
    const uploads = fake.requests.filter((r) => r.method === "uploadFile").map((r) => r.payload);
    assert.deepEqual(uploads, [{ fileSize: png.byteLength, fileName: "шарт.png" }, {
      fileSize: 4,
      fileName: "report.csv",
    }]);
    // Both uploads went over one kept-alive connection: no new connect (or TLS handshake).
    const ports = fake.uploadFraming.map((u) => u.clientPort);
    assert.equal(ports.length, 2);
    assert.equal(ports[0], ports[1]);
  });
});

Deno.test("sendFile with a caption: a 5.5.6 server answers the caption's own message id, an older one shows the caption on the file", async () => {
  for (const serverVersion of ["5.5.6.10902", "5.5.3.10765"]) {
    await withClient({ serverVersion }, {}, async (fake, client) => {
      fake.addChat({
        chatId: "g",
        title: "G",
        chatType: 2,
        participants: [{ userId: fake.botId, role: "user" }],
      });
      const file = {
        bytes: new TextEncoder().encode("a,b\n"),
        name: "report.csv",
        mimeType: "text/csv",
      };
      const plain = await client.sendFile("g", file);
      assert.equal(plain.captionMessageId, undefined);
      const doc = await client.sendFile("g", {
        ...file,
        caption: { text: "the report", parseMode: "text" },
      });
      const shown = fake.messagesIn("g").slice(1);
      if (serverVersion.startsWith("5.5.6")) {
        assert.deepEqual(shown.map((m) => m.kind), ["document", "text"]);
        assert.equal(doc.captionMessageId, shown[1]?.messageId);
        assert.equal(shown[1]?.text, "the report");
        assert.equal(shown[0]?.caption, undefined);
      } else {
        assert.equal(doc.captionMessageId, undefined);
        assert.deepEqual(shown.map((m) => m.kind), ["document"]);
        assert.deepEqual(shown[0]?.caption, { text: "the report", parseMode: "text" });
      }
    });
  }
});

Deno.test("sendFile: a failed HTTP upload never leads to sendFile", async () => {
  await withClient({ fileLimits: { maxSize: 4 } }, {}, async (fake, client) => {
    fake.addChat({
      chatId: "g",
      title: "G",
      chatType: 2,
      participants: [{ userId: fake.botId, role: "user" }],
    });
    await assert.rejects(
      client.sendFile("g", { bytes: png, name: "big.png", mimeType: "image/png" }),
    );
    assert.equal(fake.requests.filter((r) => r.method === "sendFile").length, 0);
  });
});

function participants(n: number, numeric: boolean): { userId: string; role: string | number }[] {
  const roles = ["owner", "admin", "user", "writer"] as const;
  return Array.from({ length: n }, (_, i) => {
    const role = i === 0 ? roles[0] : roles[1 + (i % 3)]!;
    return {
      userId: `u${i}@tc.test`,
      role: numeric
        ? ["owner", "admin", "user", "conf_owner", "conf_moderator", "favorites_owner", "writer"]
          .indexOf(role)
        : role,
    };
  });
}

for (
  const variant of [
    { name: "string roles", fake: {} },
    { name: "numeric roles", fake: { numericRoles: true } },
    {
      name: "bare array + numeric roles",
      fake: { numericRoles: true, participantsAsBareArray: true },
    },
  ]
) {
  Deno.test(`getChatParticipants pages through 450 members (${variant.name})`, async () => {
    await withClient(variant.fake, {}, async (fake, client) => {
      const list = participants(450, false);
      fake.addChat({ chatId: "big", title: "Big", chatType: 2, participants: list });
      const got = await client.getChatParticipants("big");
      assert.equal(got.length, 450);
      assert.deepEqual(got.map((p) => p.userId), list.map((p) => p.userId));
      assert.deepEqual(got.map((p) => p.role), list.map((p) => p.role as ChatRole));
      const pages = fake.requests.filter((r) => r.method === "getChatParticipants").map((r) =>
        r.payload
      );
      assert.deepEqual(
        pages,
        [1, 2, 3].map((pageNumber) => ({ chatId: "big", pageSize: 200, pageNumber })),
      );
    });
  });
}

Deno.test("getChatParticipants: exactly 200 members needs one empty page", async () => {
  await withClient({}, {}, async (fake, client) => {
    fake.addChat({
      chatId: "c200",
      title: "X",
      chatType: 2,
      participants: participants(200, true),
    });
    const got = await client.getChatParticipants("c200");
    assert.equal(got.length, 200);
    assert.equal(got[0]?.role, "owner");
    assert.equal(fake.requests.filter((r) => r.method === "getChatParticipants").length, 2);
  });
});

Deno.test("a large file is uploaded with its real Content-Length, byte for byte", async () => {
  await withClient({}, {}, async (fake, client) => {
    fake.addChat({
      chatId: "g",
      title: "G",
      chatType: 2,
      participants: [{ userId: fake.botId, role: "user" }],
    });
    // 3 MiB + 1: many 64 KiB writes and a short last one.
    const bytes = new Uint8Array(3 * 1024 * 1024 + 1);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i / 4096) & 0xff;
    await client.sendFile("g", { bytes, name: "dump.bin", mimeType: "application/octet-stream" });
    const [framing] = fake.uploadFraming;
    assert.equal(framing?.chunked, false);
    assert.equal(framing?.contentLength, framing?.bodyBytes);
    assert.ok((framing?.bodyBytes ?? 0) > bytes.length);
    const sent = fake.sent.find((s) => s.kind === "document");
    assert.equal(sent?.file?.size, bytes.length);
    assert.deepEqual(sent?.file?.bytes, bytes);
  });
});
