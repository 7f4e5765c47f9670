// Permissions against the fake TrueConf server through the real client: the chat-type cache
// (lazy TTL, short-lived failures) and the management rule.
import assert from "node:assert/strict";
import { isPersonal, Permissions } from "../../src/hooks/permissions.ts";
import { withClient } from "../trueconf/_helpers.ts";

Deno.test("chat cache: hits within the TTL, refreshed after it; a failure is remembered briefly", async () => {
  await withClient({}, {}, async (fake, client) => {
    let now = 1_000_000;
    const perms = new Permissions({
      chats: client,
      adminOnly: true,
      cacheTtlMs: 300_000,
      failureTtlMs: 30_000,
      now: () => now,
    });
    const lookups = () => fake.requests.filter((r) => r.method === "getChatByID").length;
    fake.addChat({ chatId: "g", title: "Ops", chatType: 2, participants: [] });
    assert.equal((await perms.chat("g"))?.title, "Ops");
    fake.chat("g")!.title = "Ops renamed";
    now += 299_000;
    assert.equal((await perms.chat("g"))?.title, "Ops");
    assert.equal(lookups(), 1);
    now += 2_000;
    assert.equal((await perms.chat("g"))?.title, "Ops renamed");
    assert.equal(lookups(), 2);

    fake.setMethodError("getChatByID", 300, 1);
    assert.equal(await perms.chat("h"), null);
    fake.addChat({ chatId: "h", title: "Late", chatType: 1, participants: [] });
    now += 29_000;
    assert.equal(await perms.chat("h"), null, "failure still cached");
    now += 2_000;
    assert.equal((await perms.chat("h"))?.chatType, 1);
  });
});

Deno.test("canManage: personal chats always, owners/admins only when admin-only, ids matched like mentions", async () => {
  await withClient({}, {}, async (fake, client) => {
    const domain = fake.domain;
    fake.addChat({
      chatId: "g",
      title: "Ops",
      chatType: 2,
      participants: [
        { userId: `Alice@${domain}`, role: "owner" },
        { userId: "carol", role: "admin" }, // a bare id, as some servers send
        { userId: `bob@${domain}`, role: "user" },
        { userId: "bob@other.example.com", role: "owner" }, // same login, another server
      ],
    });
    fake.addChat({ chatId: "f", title: "Fav", chatType: 5, participants: [] });
    const strict = new Permissions({ chats: client, adminOnly: true });
    assert.deepEqual(await strict.canManage("g", `alice@${domain}/inst`), { allowed: true });
    assert.deepEqual(await strict.canManage("g", `carol@${domain}`), { allowed: true });
    const bob = await strict.canManage("g", `bob@${domain}`, "revoke");
    assert.equal(bob.allowed, false);
    assert.match(
      !bob.allowed ? bob.reason : "",
      /can revoke webhooks \(WEBHOOK_ADMIN_ONLY is on\)/,
    );
    assert.deepEqual(await strict.canManage("f", `bob@${domain}`), { allowed: true });
    const open = new Permissions({ chats: client, adminOnly: false });
    assert.deepEqual(await open.canManage("g", `bob@${domain}`), { allowed: true });
    assert.equal(isPersonal(1) && isPersonal(5) && !isPersonal(2) && !isPersonal(6), true);
  });
});
