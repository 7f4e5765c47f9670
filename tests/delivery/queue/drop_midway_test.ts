// Issue 10.8: TrueConf cuts every connection in the middle of a text + 2 uploads delivery and
// refuses for a while; once it is back, both files must arrive promptly (not after a backoff
// that grew while the link was down), each exactly once. The sequence runs many times, with
// the cut at every step of the delivery, at the production backoff (1 s → 5 min).
import assert from "node:assert/strict";
import { withWorld, type World } from "./_world.ts";

const G = "group";

type Cut = "after text" | "during upload 1" | "during sendFile 1" | "during upload 2";

/** Waits for the moment to cut: an event of the fake, never a sleep. */
async function cutPoint(w: World, cut: Cut, textsBefore: number, uploadsBefore: number) {
  switch (cut) {
    case "after text":
      await w.fake.waitFor(() => w.texts(G).length > textsBefore, 5_000);
      return;
    case "during upload 1":
    case "during sendFile 1":
      await w.fake.waitFor(() => w.fake.uploads.length > uploadsBefore, 5_000);
      return;
    case "during upload 2":
      await w.fake.waitFor(() => w.fake.uploads.length > uploadsBefore + 1, 5_000);
      return;
  }
}

Deno.test("a drop in the middle of text + 2 uploads never holds the files once TrueConf is back (many runs, every cut point)", async (t) => {
  await withWorld({ backoff: { baseMs: 1_000, capMs: 300_000 } }, async (w) => {
    w.fake.addChat({
      chatId: G,
      title: "g",
      chatType: 2,
      participants: [{ userId: w.alice, role: "owner" }],
    });
    const h = await w.hook(G, "h");
    const cuts: Cut[] = ["after text", "during upload 1", "during sendFile 1", "during upload 2"];
    let run = 0;
    for (let round = 0; round < 3; round++) {
      for (const cut of cuts) {
        run++;
        await t.step(`run ${run}: cut ${cut}`, async () => {
          const text = `text ${run}`;
          const names = [`a${run}.bin`, `b${run}.bin`];
          const textsBefore = w.texts(G).length;
          const uploadsBefore = w.fake.uploads.length;
          // Slow steps keep the delivery inside the window the cut aims at.
          if (cut === "during sendFile 1") w.fake.setMethodDelay("sendFile", 2_000);
          const pending = w.postFiles(h.token, text, [
            { name: names[0]!, bytes: new Uint8Array(70_000).fill(run) },
            { name: names[1]!, bytes: new Uint8Array(10).fill(run) },
          ]);
          await cutPoint(w, cut, textsBefore, uploadsBefore);
          w.fake.setMethodDelay("sendFile", 0);
          const down = w.fake.refuseConnections(true);
          await down;
          await w.fake.waitFor(() => !w.client.state.authorized, 5_000);
          const answer = await pending;
          assert.ok([200, 202].includes(answer.status), JSON.stringify(answer.json));
          await w.fake.refuseConnections(false);
          const back = performance.now();
          await w.fake.waitFor(() => {
            const files = w.fake.messagesIn(G).map((m) => m.file?.name);
            return names.every((n) => files.includes(n)) && w.queue.stats().depth === 0;
          }, 6_000);
          const ms = performance.now() - back;
          await w.queue.engine.settled();
          const got = w.fake.messagesIn(G).map((m) => m.kind === "text" ? m.text : m.file?.name);
          for (const n of [text, ...names]) {
            assert.equal(
              got.filter((x) => x === n).length,
              1,
              `${n} once in ${JSON.stringify(got)}`,
            );
          }
          assert.ok(ms < 6_000, `files ${ms} ms after TrueConf was back`);
        });
      }
    }
  });
});

Deno.test("a link that flaps while the remainder's uploads are refused (503) neither sets it aside nor grows its backoff", async () => {
  await withWorld({ backoff: { baseMs: 1_000, capMs: 300_000 } }, async (w) => {
    w.fake.addChat({
      chatId: G,
      title: "g",
      chatType: 2,
      participants: [{ userId: w.alice, role: "owner" }],
    });
    const h = await w.hook(G, "h");
    // Each HTTP upload hangs until TrueConf goes away, which answers it 503.
    w.fake.setMethodDelay("upload", 30_000);
    const uploadsAsked = () => w.fake.requests.filter((r) => r.method === "uploadFile").length;
    const pending = w.postFiles(h.token, "flap", [
      { name: "f1.bin", bytes: new Uint8Array(5).fill(1) },
      { name: "f2.bin", bytes: new Uint8Array(5).fill(2) },
    ]);
    for (let cycle = 0; cycle < 5; cycle++) {
      const asked = uploadsAsked();
      if (cycle > 0) {
        await w.fake.refuseConnections(false);
        await w.fake.waitFor(() => w.client.state.authorized, 5_000);
      }
      await w.fake.waitFor(() => uploadsAsked() > asked, 5_000);
      await w.fake.refuseConnections(true);
      await w.fake.waitFor(() => !w.client.state.authorized, 5_000);
      if (cycle === 0) assert.equal((await pending).status, 202);
    }
    w.fake.setMethodDelay("upload", 0);
    await w.fake.refuseConnections(false);
    const back = performance.now();
    await w.fake.waitFor(() => w.queue.stats().depth === 0, 10_000);
    const ms = performance.now() - back;
    await w.queue.engine.settled();
    assert.deepEqual(
      w.fake.messagesIn(G).map((m) => m.kind === "text" ? m.text : m.file?.name),
      ["flap", "f1.bin", "f2.bin"],
    );
    // A backoff grown by the 5 flaps would be 8-16 s; 6 s leaves a loaded machine seconds.
    assert.ok(ms < 6_000, `files ${ms} ms after TrueConf was back`);
  });
});

Deno.test("an HTTP upload still running when its socket drops is abandoned at once: both files follow promptly (many runs)", async (t) => {
  await withWorld({ backoff: { baseMs: 1_000, capMs: 300_000 } }, async (w) => {
    w.fake.addChat({
      chatId: G,
      title: "g",
      chatType: 2,
      participants: [{ userId: w.alice, role: "owner" }],
    });
    const h = await w.hook(G, "h");
    const uploadsAsked = () => w.fake.requests.filter((r) => r.method === "uploadFile").length;
    for (let run = 1; run <= 8; run++) {
      await t.step(`run ${run}: the socket drops while upload ${run % 2 + 1} hangs`, async () => {
        const names = [`x${run}.bin`, `y${run}.bin`];
        // The HTTP upload hangs (a cut the upload's own connection does not notice); the
        // socket then drops and TrueConf is back at once.
        const which = run % 2 + 1;
        const asked = uploadsAsked();
        if (which === 1) w.fake.setMethodDelay("upload", 60_000);
        const pending = w.postFiles(h.token, `hang ${run}`, [
          { name: names[0]!, bytes: new Uint8Array(20).fill(run) },
          { name: names[1]!, bytes: new Uint8Array(20).fill(run) },
        ]);
        if (which === 2) {
          await w.fake.waitFor(() => w.fake.messagesIn(G).some((m) => m.file?.name === names[0]));
          w.fake.setMethodDelay("upload", 60_000);
        }
        await w.fake.waitFor(() => uploadsAsked() >= asked + which, 5_000);
        await w.fake.waitFor(() => w.fake.heldHttpRequests > 0, 5_000);
        const started = performance.now();
        w.fake.dropAll();
        w.fake.setMethodDelay("upload", 0);
        const answer = await pending;
        assert.ok([200, 202].includes(answer.status), JSON.stringify(answer.json));
        await w.fake.waitFor(() => {
          const files = w.fake.messagesIn(G).map((m) => m.file?.name);
          return names.every((n) => files.includes(n)) && w.queue.stats().depth === 0;
        }, 10_000);
        const ms = performance.now() - started;
        await w.queue.engine.settled();
        const files = w.fake.messagesIn(G).map((m) => m.file?.name);
        for (const n of names) assert.equal(files.filter((f) => f === n).length, 1);
        // Not abandoned, the upload would hang the fake's 60 s (its own timeout is 120 s).
        assert.ok(ms < 6_000, `files ${ms} ms after the drop`);
      });
    }
  });
});
