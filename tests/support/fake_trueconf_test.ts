// Drives the fake TrueConf server with a raw `ws` client and fetch, proving the protocol
// quirks of shared/trueconf-chatbot-api.md §10 that the bot's client tests rely on.

import assert from "node:assert/strict";
// @ts-types="@types/ws"
import WebSocket from "ws";
import {
  FakeTrueConf,
  type FakeTrueConfOptions,
  makeTestCertificates,
  type SentRecord,
} from "./fake_trueconf.ts";

type Frame = { type: number; id: number; method?: string; payload?: unknown };

/** A minimal protocol client: frames in order, request/response by id, no auto-ack. */
class RawClient {
  readonly frames: Frame[] = [];
  #nextId = 1;
  #waiters = new Set<() => void>();
  #closed: Promise<void>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.frames.push(JSON.parse(String(data)));
      for (const w of [...this.#waiters]) w();
    });
    this.#closed = new Promise((r) => ws.on("close", () => r()));
    ws.on("error", () => {});
  }

  static async open(url: string, protocols?: string[], ca?: string): Promise<RawClient> {
    const ws = new WebSocket(url, protocols, ca ? { ca } : {});
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return client;
  }

  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Resolves with the first frame (received so far or later) matching `pred`. */
  next(pred: (f: Frame) => boolean, timeoutMs = 2000): Promise<Frame> {
    const found = this.frames.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const f = this.frames.find(pred);
        if (f) done(() => resolve(f));
      };
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        fn();
      };
      const timer = setTimeout(() => done(() => reject(new Error("no such frame"))), timeoutMs);
      this.#waiters.add(check);
    });
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  async request(method: string, payload: unknown): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    this.send({ type: 1, id, method, payload });
    const res = await this.next((f) => f.type === 2 && f.id === id);
    return res.payload as Record<string, unknown>;
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.#closed;
  }
}

async function token(fake: FakeTrueConf): Promise<string> {
  const res = await fetch(`${fake.baseUrl}/bridge/api/client/v1/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_id: "chat_bot",
      grant_type: "password",
      username: "webhook_bot",
      password: "secret",
    }),
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function authed(fake: FakeTrueConf, receiveUnread = false): Promise<RawClient> {
  const c = await RawClient.open(fake.wsUrl);
  const res = await c.request("auth", {
    token: await token(fake),
    tokenType: "JWT",
    receiveUnread,
    receiveSystemMessageEnvelopes: false,
  });
  assert.equal(typeof res.userId, "string");
  return c;
}

async function withFake(
  options: FakeTrueConfOptions,
  fn: (fake: FakeTrueConf) => Promise<void>,
): Promise<void> {
  const fake = await FakeTrueConf.start({ users: [{ login: "alice", password: "a" }], ...options });
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

function jwtPayload(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")));
}

async function upload(
  fake: FakeTrueConf,
  c: RawClient,
  name: string,
  bytes: Uint8Array,
  preview?: Uint8Array,
): Promise<string> {
  const task = await c.request("uploadFile", { fileSize: bytes.length, fileName: name });
  const form = new FormData();
  form.append("file", new File([bytes as BufferSource], name, { type: "image/png" }));
  if (preview) {
    form.append(
      "preview",
      new File([preview as BufferSource], "preview.jpg", { type: "image/jpeg" }),
    );
  }
  const res = await fetch(`${fake.baseUrl}/bridge/api/client/v1/files`, {
    method: "POST",
    headers: { "Upload-Task-Id": String(task.uploadTaskId) },
    body: form,
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { temporalFileId: string }).temporalFileId;
}

Deno.test("OAuth: 201 with a real JWT and both expiry fields; 401/5xx/non-JSON modes", async () => {
  await withFake({ now: () => 1_700_000_000_000, tokenTtlSeconds: 3600 }, async (fake) => {
    const url = `${fake.baseUrl}/bridge/api/client/v1/oauth/token`;
    const post = (body: unknown) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const creds = { client_id: "chat_bot", grant_type: "password", username: "webhook_bot" };
    const ok = await post({ ...creds, password: "secret", client_secret: "" });
    assert.equal(ok.status, 201);
    const body = await ok.json();
    assert.equal(body.token_type, "JWT");
    assert.equal(body.expires_in, 3600);
    assert.equal(body.expires_at, 1_700_000_000 + 3600);
    assert.equal(jwtPayload(body.access_token).exp, 1_700_000_000 + 3600);
    assert.equal(fake.tokensIssued, 1);

    const wrong = await post({ ...creds, password: "nope" });
    assert.equal(wrong.status, 401);
    assert.deepEqual(await wrong.json(), {
      error: "invalid_grant",
      error_description: "invalid_grant",
    });
    const numeric = await post({ ...creds, password: 1234 });
    assert.equal(numeric.status, 400);
    await numeric.body?.cancel();

    fake.setOAuthMode("server_error");
    const down = await post({ ...creds, password: "secret" });
    assert.equal(down.status, 500);
    await down.body?.cancel();
    fake.setOAuthMode("non_json");
    const html = await post({ ...creds, password: "secret" });
    assert.equal(html.status, 502);
    assert.match(await html.text(), /<html>/);
    assert.equal(fake.oauthRequests.length, 5);

    const server = await (await fetch(`${fake.baseUrl}/api/v4/server`)).json();
    assert.equal(server.product.display_name, "video.example.com");
    assert.match(server.product.version, /^5\.5\.3\./);
  });
});

Deno.test("OAuth hang mode is released by close()", async () => {
  const fake = await FakeTrueConf.start();
  fake.setOAuthMode("hang");
  const pending = fetch(`${fake.baseUrl}/bridge/api/client/v1/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  await fake.waitFor(() => fake.oauthRequests.length === 1);
  await fake.close();
  const res = await pending;
  assert.equal(res.status, 503);
  await res.body?.cancel();
});

Deno.test("WS on both paths; json.v1 echoed only when offered", async () => {
  await withFake({}, async (fake) => {
    const a = await RawClient.open(fake.wsUrl);
    const b = await RawClient.open(`${fake.wsUrl}/`, ["json.v1"]);
    assert.equal(a.ws.protocol, "");
    assert.equal(b.ws.protocol, "json.v1");
    assert.deepEqual(fake.handshakes.map((h) => [h.path, h.protocol]), [
      ["/websocket/chat_bot", null],
      ["/websocket/chat_bot/", "json.v1"],
    ]);
    await fake.waitFor(() => fake.connections === 2);
    const pong = new Promise((r) => a.ws.once("pong", r));
    a.ws.ping();
    await pong;
    await a.close();
    await b.close();
  });
});

Deno.test("auth: 200 before auth, 204 bad type, 201 unknown token, 203 expired, success payload", async () => {
  await withFake({ userIdSuffix: "/4f2a" }, async (fake) => {
    const c = await RawClient.open(fake.wsUrl);
    assert.equal((await c.request("sendMessage", {})).errorCode, 200);
    const jwt = await token(fake);
    assert.equal((await c.request("auth", { token: jwt, tokenType: "Bearer" })).errorCode, 204);
    const unknown = await c.request("auth", { token: "a.b.c", tokenType: "JWT" });
    assert.equal(unknown.errorCode, 201);
    assert.equal(typeof unknown.errorDescription, "string");
    fake.failNextAuth(202);
    assert.equal((await c.request("auth", { token: jwt, tokenType: "JWT" })).errorCode, 202);
    const ok = await c.request("auth", { token: jwt, tokenType: "JWT", receiveUnread: false });
    assert.equal(ok.errorCode, 0);
    assert.equal(ok.userId, "webhook_bot@video.example.com/4f2a");
    assert.equal(typeof ok.connectionId, "string");
    assert.equal(fake.authorizedConnections, 1);

    // Expiry does not kill the live session; it shows at the next auth, or on requests when asked.
    fake.expireAllTokens();
    assert.equal((await c.request("getFileUploadLimits", {})).errorCode, 0);
    fake.emit203OnRequests(true);
    assert.equal((await c.request("getFileUploadLimits", {})).errorCode, 203);
    const c2 = await RawClient.open(fake.wsUrl);
    assert.equal((await c2.request("auth", { token: jwt, tokenType: "JWT" })).errorCode, 203);
    // Response ids echo the request ids exactly, out-of-order ids included.
    c2.send({ type: 1, id: 4_000_000_000, method: "nope", payload: {} });
    const odd = await c2.next((f) => f.id === 4_000_000_000);
    assert.equal(odd.type, 2);
    // Anything before a successful auth is answered 200 and recorded against the client.
    assert.deepEqual(
      fake.protocolErrors.filter((e) => e.includes("before a successful auth")),
      [
        "sendMessage sent before a successful auth on this socket",
        "nope sent before a successful auth on this socket",
      ],
    );
    await c.close();
    await c2.close();
  });
});

Deno.test("pushes: full envelope, ids from 10000, acks recorded, unread replay", async () => {
  await withFake({}, async (fake) => {
    const alice = fake.userId("alice");
    const dm = fake.p2pChatId(alice);
    // Nobody connected: queued as unread, replayed only to receiveUnread:true.
    const early = fake.pushMessage({ chatId: dm, authorId: alice, text: "while offline" });
    const c = await authed(fake, true);
    const replay = await c.next((f) => f.type === 1);
    assert.deepEqual(replay.payload, early);
    assert.ok(replay.id >= 10_000);

    const text = `${fake.mention(fake.botId, "Bot", "&do=profile")} /webhook_list`;
    const env = fake.pushMessage({ chatId: dm, authorId: alice, text });
    const frame = await c.next((f) => f.type === 1 && f.id !== replay.id);
    assert.equal(frame.method, "sendMessage");
    assert.deepEqual(frame.payload, env);
    assert.equal(env.type, 200);
    assert.deepEqual(env.author, { id: alice, type: 1 });
    assert.equal(env.content.parseMode, "html");
    assert.equal(env.isEdited, false);
    assert.equal(env.replyMessageId, null);
    assert.equal(typeof env.box.id, "number");
    assert.equal(typeof env.box.position, "string");
    assert.ok(env.timestamp > 1e12);

    const evId = fake.pushEvent("uploadFileProgress", { fileId: "f", progress: 10 });
    await c.next((f) => f.id === evId);
    c.send({ type: 2, id: frame.id });
    c.send({ type: 2, id: evId });
    await fake.waitFor(() => fake.acks.has(frame.id) && fake.acks.has(evId));
    assert.equal(fake.acks.has(replay.id), false);
    c.send({ type: 2, id: 5 }); // never pushed
    await fake.waitFor(() => fake.protocolErrors.length === 1);
    await c.close();

    // receiveUnread:false drops what was queued.
    fake.pushMessage({ chatId: dm, authorId: alice, text: "dropped" });
    const d = await authed(fake, false);
    await d.request("getFileUploadLimits", {});
    assert.equal(d.frames.filter((f) => f.type === 1).length, 0);
    await d.close();
  });
});

Deno.test("repushUnacked re-sends an event until it is acked", async () => {
  await withFake({}, async (fake) => {
    const c = await authed(fake);
    fake.repushUnacked(20);
    const id = fake.pushEvent("editMessage", { chatId: "x" });
    await fake.waitFor(() => c.frames.filter((f) => f.id === id).length >= 2);
    c.send({ type: 2, id });
    await fake.waitFor(() => fake.acks.has(id));
    assert.deepEqual(fake.unackedPushes, []);
    await c.close();
  });
});

Deno.test("chats: sendMessage record and 303/304, P2P idempotent, getChatByID, participants", async () => {
  await withFake({ participantsAsBareArray: true, numericRoles: true }, async (fake) => {
    const alice = fake.userId("alice");
    fake.addChat({
      chatId: "grp",
      title: "Ops",
      chatType: 2,
      participants: [{ userId: alice, role: "owner" }, { userId: fake.botId, role: "user" }],
    });
    fake.addChat({
      chatId: "chan",
      title: "News",
      chatType: 6,
      participants: [],
      readOnlyForBot: true,
    });
    const c = await authed(fake);
    const res = await c.request("sendMessage", {
      chatId: "grp",
      replyMessageId: null,
      content: { text: "**hi**", parseMode: "markdown" },
    });
    assert.equal(res.chatId, "grp");
    assert.equal(typeof res.messageId, "string");
    assert.equal(typeof res.timestamp, "number");
    assert.deepEqual(
      fake.messagesIn("grp").map((r) => [r.kind, r.text, r.parseMode, r.messageId]),
      [["text", "**hi**", "markdown", res.messageId]],
    );
    const send = (chatId: string) =>
      c.request("sendMessage", { chatId, content: { text: "x", parseMode: "text" } });
    assert.equal((await send("chan")).errorCode, 303);
    assert.equal((await send("nope")).errorCode, 304);

    const p1 = await c.request("createP2PChat", { userId: alice });
    const p2 = await c.request("createP2PChat", { userId: "alice" });
    assert.equal(p1.chatId, p2.chatId);
    assert.equal(p1.chatId, fake.p2pChatId(alice));
    assert.notEqual((await c.request("createP2PChat", { userId: "bob@elsewhere" })).errorCode, 0);

    const info = await c.request("getChatByID", { chatId: "grp" });
    assert.equal(info.title, "Ops");
    assert.equal(info.chatType, 2);
    assert.equal(info.unreadMessages, 0);
    assert.equal(info.avatarUrl, null);
    assert.equal((info.lastMessage as { messageId: string }).messageId, res.messageId);
    assert.equal((await c.request("getChatByID", { chatId: "nope" })).errorCode, 304);

    // Bare array payload (no errorCode possible) with numeric roles, 1-based pages.
    c.send({
      type: 1,
      id: 900,
      method: "getChatParticipants",
      payload: { chatId: "grp", pageSize: 1, pageNumber: 2 },
    });
    const page = await c.next((f) => f.id === 900);
    assert.deepEqual(page.payload, [{ userId: fake.botId, role: 2 }]);
    // A bare login is answered, but the SDK never sends one: recorded.
    assert.deepEqual(fake.protocolErrors, [
      'createP2PChat: payload.userId "alice" has no @server (the SDK adds the server\'s domain)',
    ]);
    await c.close();
  });
});

Deno.test("files: preview → photo, none → document; 310 without task; null temporalFileId → 308", async () => {
  await withFake({}, async (fake) => {
    const alice = fake.userId("alice");
    const dm = fake.p2pChatId(alice);
    const c = await authed(fake);
    const png = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
    const photoId = await upload(fake, c, "pic.png", png, new Uint8Array([255, 216, 255]));
    const docId = await upload(fake, c, "отчёт.png", png);

    const photo = await c.request("sendFile", {
      chatId: dm,
      content: { temporalFileId: photoId, caption: { text: "look", parseMode: "text" } },
    });
    assert.equal(photo.errorCode, 0);
    assert.equal(typeof photo.fileId, "string");
    await c.request("sendFile", { chatId: dm, content: { temporalFileId: docId } });
    const [p, d] = fake.messagesIn(dm);
    assert.equal(p?.kind, "photo");
    assert.deepEqual(p?.preview, { name: "preview.jpg", mimeType: "image/jpeg", size: 3 });
    assert.deepEqual(p?.caption, { text: "look", parseMode: "text" });
    assert.deepEqual(p?.file?.bytes, png);
    assert.equal(d?.kind, "document");
    assert.equal(d?.file?.name, "отчёт.png");
    assert.equal(d?.preview, undefined);

    const nul = await c.request("sendFile", { chatId: dm, content: { temporalFileId: null } });
    assert.equal(nul.errorCode, 308);

    const stale = await fetch(`${fake.baseUrl}/bridge/api/client/v1/files`, {
      method: "POST",
      headers: { "Upload-Task-Id": "gone" },
      body: new FormData(),
    });
    assert.equal(stale.status, 400);
    assert.deepEqual(await stale.json(), {
      error: 310,
      error_description: "No task found for request_id: gone",
    });

    // RFC 5987 filename* is decoded (Deno's formData() would drop it).
    const task = await c.request("uploadFile", { fileSize: 2, fileName: "ф.txt" });
    const body =
      "--B\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%D1%84.txt\r\n" +
      "Content-Type: text/plain\r\n\r\nhi\r\n--B--\r\n";
    const raw = await fetch(`${fake.baseUrl}/bridge/api/client/v1/files`, {
      method: "POST",
      headers: {
        "Upload-Task-Id": String(task.uploadTaskId),
        "content-type": "multipart/form-data; boundary=B",
      },
      body,
    });
    assert.equal(raw.status, 200);
    await raw.body?.cancel();
    assert.equal(fake.uploads.at(-1)?.file.name, "ф.txt");

    assert.equal((await c.request("uploadFile", { fileSize: 5 })).errorCode, 310); // 5.5.3 needs fileName
    fake.setFileLimits({ maxSize: 10, extensions: { mode: "block", list: ["exe"] } });
    const limits = await c.next((f) => f.type === 1 && f.method === "getFileUploadLimits");
    assert.deepEqual(limits.payload, { maxSize: 10, extensions: { mode: "block", list: ["exe"] } });
    assert.equal(
      (await c.request("uploadFile", { fileSize: 11, fileName: "a.txt" })).errorCode,
      310,
    );
    assert.equal(
      (await c.request("uploadFile", { fileSize: 1, fileName: "a.EXE" })).errorCode,
      310,
    );
    assert.equal((await c.request("uploadFile", { fileSize: 1, fileName: "a.txt" })).errorCode, 0);
    await c.close();
  });
});

Deno.test("faults: dropAll loses pending answers; refuse/resume listens on the same port", async () => {
  await withFake({}, async (fake) => {
    const c = await authed(fake);
    fake.setMethodDelay("sendMessage", "never");
    c.send({ type: 1, id: 50, method: "sendMessage", payload: {} });
    await fake.waitFor(() => fake.requests.some((r) => r.id === 50));
    fake.dropAll();
    await c.closed;
    assert.equal(c.frames.some((f) => f.id === 50), false);
    fake.setMethodDelay("sendMessage", 0);

    const port = fake.port;
    const d = await authed(fake);
    await fake.refuseConnections(true);
    await d.closed;
    await assert.rejects(fetch(`${fake.baseUrl}/api/v4/server`));
    await fake.refuseConnections(false);
    assert.equal(fake.port, port);
    const e = await authed(fake);
    assert.equal(fake.authorizedConnections, 1);
    await e.close();
  });
});

Deno.test("getChatHistory on the wire: newest first, the anchor included, at most 100; muteAnswers carries a post out and never answers it", async () => {
  await withFake({}, async (fake) => {
    fake.addChat({ chatId: "g", title: "G", chatType: 2, participants: [] });
    const c = await authed(fake);
    for (const text of ["a", "b", "c"]) {
      await c.request("sendMessage", { chatId: "g", content: { text, parseMode: "text" } });
    }
    const all = await c.request("getChatHistory", { chatId: "g", count: 500, fromMessageId: null });
    const msgs = all.messages as { messageId: string; content: { text: string } }[];
    assert.deepEqual(msgs.map((m) => m.content.text), ["c", "b", "a"], "newest first");
    assert.equal(all.count, 3);
    assert.equal(all.chatId, "g");
    const from = await c.request("getChatHistory", {
      chatId: "g",
      count: 2,
      fromMessageId: msgs[1]!.messageId,
    });
    assert.deepEqual(
      (from.messages as typeof msgs).map((m) => m.content.text),
      ["b", "a"],
      "the anchor and older",
    );

    fake.muteAnswers("sendMessage", true);
    c.send({
      type: 1,
      id: 77,
      method: "sendMessage",
      payload: { chatId: "g", content: { text: "d", parseMode: "text" } },
    });
    await fake.waitFor(() => fake.messagesIn("g").length === 4);
    const ping = await c.request("getChatHistory", { chatId: "g", count: 1, fromMessageId: null });
    assert.equal((ping.messages as typeof msgs)[0]!.content.text, "d", "carried out");
    assert.equal(c.frames.some((f) => f.id === 77), false, "never answered");
    await c.close();
  });
});

Deno.test("connection cap: handshakes beyond maxConnections are rejected", async () => {
  await withFake({ maxConnections: 1 }, async (fake) => {
    const a = await RawClient.open(fake.wsUrl);
    await assert.rejects(RawClient.open(fake.wsUrl), /503/);
    assert.equal(fake.rejectedConnections, 1);
    await a.close();
  });
});

Deno.test("idle sockets are dropped after idleTimeoutMs", async () => {
  await withFake({ idleTimeoutMs: 40 }, async (fake) => {
    const c = await RawClient.open(fake.wsUrl);
    await c.closed;
    assert.equal(fake.connections, 0);
  });
});

Deno.test("TLS: a CA-signed leaf for 127.0.0.1 serves HTTPS and WSS", async () => {
  const { caPem, certPem, keyPem } = await makeTestCertificates();
  await withFake({ tls: { certPem, keyPem } }, async (fake) => {
    assert.match(fake.wsUrl, /^wss:/);
    const client = Deno.createHttpClient({ caCerts: [caPem] });
    try {
      const res = await fetch(`${fake.baseUrl}/api/v4/server`, { client });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    } finally {
      client.close();
    }
    const c = await RawClient.open(fake.wsUrl, ["json.v1"], caPem);
    assert.equal(c.ws.protocol, "json.v1");
    await c.close();
  });
});

Deno.test("record:false keeps counters only and stays fast", async () => {
  await withFake({ record: false, omitErrorCode: true }, async (fake) => {
    fake.addChat({ chatId: "g", title: "G", chatType: 2, participants: [] });
    let heard = 0;
    fake.onSent(() => heard++);
    const c = await authed(fake);
    const n = 5000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      c.send({
        type: 1,
        id: 100 + i,
        method: "sendMessage",
        payload: { chatId: "g", content: { text: `m${i}`, parseMode: "text" } },
      });
    }
    const last = await c.next((f) => f.id === 100 + n - 1, 10_000);
    const ms = performance.now() - t0;
    assert.equal("errorCode" in (last.payload as object), false);
    assert.equal(fake.sentCount("g"), n);
    assert.equal(heard, n);
    assert.equal(fake.sent.length, 0);
    assert.equal(fake.requests.length, 0);
    console.log(`  ${n} sendMessage in ${ms.toFixed(0)} ms (${Math.round(n / ms * 1000)}/s)`);
    await c.close();
  });
});

Deno.test("record:false keeps no file's bytes and no upload records; a file post is still counted and described", async () => {
  await withFake({ record: false }, async (fake) => {
    const dm = fake.p2pChatId(fake.userId("alice"));
    const heard: SentRecord[] = [];
    fake.onSent((r) => heard.push(r));
    const c = await authed(fake);
    const png = new Uint8Array(64 * 1024).fill(7);
    const id = await upload(fake, c, "pic.png", png, new Uint8Array([255, 216, 255]));
    const sent = await c.request("sendFile", { chatId: dm, content: { temporalFileId: id } });
    assert.equal(sent.errorCode, 0);
    const got = await c.request("getMessageById", { messageId: sent.messageId });
    const content = (got as { content?: { name?: string; size?: number } }).content;
    assert.equal(content?.name, "pic.png");
    assert.equal(content?.size, png.length);
    assert.equal(fake.sentCount(dm), 1);
    // The bytes (a view of the whole upload body) are not held: a photo benchmark posting for
    // minutes kept every upload of its last 20,000 messages alive in this process's heap.
    assert.equal(heard[0]?.kind, "photo");
    assert.equal(heard[0]?.file?.size, png.length);
    assert.equal(heard[0]?.file?.bytes.length, 0);
    assert.equal(fake.uploads.length, 0);
    assert.equal(fake.uploadFraming.length, 0);
    await c.close();
  });
});

Deno.test("options: echo, 5.5.2 uploads, omitted errorCode, expiry fields, forced errors, 305", async () => {
  await withFake({
    echoOwnMessages: true,
    uploadMode: "5.5.2",
    omitErrorCode: true,
    oauthFields: "none",
    oauthStatus: 200,
  }, async (fake) => {
    const res = await fetch(`${fake.baseUrl}/bridge/api/client/v1/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        client_id: "chat_bot",
        grant_type: "password",
        username: "webhook_bot",
        password: "secret",
      }),
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(Object.keys(body).sort(), ["access_token", "token_type"]);
    const c = await RawClient.open(fake.wsUrl);
    const auth = await c.request("auth", { token: body.access_token, tokenType: "JWT" });
    assert.deepEqual(Object.keys(auth).sort(), ["connectionId", "userId"]);

    fake.addChat({ chatId: "g", title: "G", chatType: 2, participants: [] });
    fake.addChat({ chatId: "out", title: "O", chatType: 2, participants: [], botIsMember: false });
    const sent = await c.request("sendMessage", { chatId: "g", content: { text: "me" } });
    const echo = await c.next((f) => f.type === 1 && f.method === "sendMessage");
    assert.deepEqual((echo.payload as { author: unknown }).author, { id: fake.botId, type: 1 });
    assert.equal((echo.payload as { messageId: string }).messageId, sent.messageId);
    assert.equal(
      (await c.request("sendMessage", { chatId: "out", content: { text: "x" } })).errorCode,
      305,
    );

    assert.equal(typeof (await c.request("uploadFile", { fileSize: 3 })).uploadTaskId, "string");
    fake.setMethodError("getChats", 300, 1);
    assert.equal((await c.request("getChats", { count: 10, page: 1 })).errorCode, 300);
    c.send({ type: 1, id: 77, method: "getChats", payload: { count: 10, page: 1 } });
    const chats = await c.next((f) => f.id === 77);
    assert.ok(Array.isArray(chats.payload)); // bare array, as the real server answers
    assert.equal((await c.request("someFutureMethod", {})).errorCode, 104);
    await c.close();
  });
});
