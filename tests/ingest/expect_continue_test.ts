// `Expect: 100-continue` (RFC 9110 10.1.1): a client that announces its body waits for a
// 100 before sending it; a server may answer the final status instead. What the bot refuses
// from the head alone — an unsupported Content-Type or Content-Encoding, a declared size over
// the limit — is refused before the 100, so a 25 MB upload in a type the bot cannot read is
// never sent. curl sends the header for large bodies; here a raw client over real sockets.
import assert from "node:assert/strict";
import { CHAT_ID, withEndpoint } from "../support/endpoint_harness.ts";
import { RawHttp } from "../support/raw_http.ts";

const BIG = 200_000;

function head(token: string, headers: string[], length = BIG, method = "POST"): string {
  return `${method} /hook/${token} HTTP/1.1\r\nHost: bot\r\nExpect: 100-continue\r\n` +
    `${headers.map((h) => `${h}\r\n`).join("")}Content-Length: ${length}\r\n\r\n`;
}

Deno.test("Expect: 100-continue: what the head alone refuses is answered instead of the 100", async (t) => {
  await withEndpoint({ limits: { maxBodyBytes: 1024 * 1024 } }, async (h) => {
    const token = await h.hook();
    const port = await h.listen();
    const refusedAtHead = async (request: string, code: string) => {
      const c = await RawHttp.connect(port);
      try {
        await c.write(request);
        const res = await c.response();
        assert.equal(res?.status, 415, `the final answer, not a 100: ${JSON.stringify(res)}`);
        assert.equal(JSON.parse(res!.body).error, code);
        assert.equal(res?.headers.get("connection"), "close", "the unsent body is not waited for");
        return res!;
      } finally {
        c.close();
      }
    };

    await t.step("an unsupported Content-Type → 415 before the body is asked for", async () => {
      await refusedAtHead(
        head(token, ["Content-Type: application/msgpack"]),
        "unsupported_content_type",
      );
    });

    await t.step("an unsupported Content-Encoding → 415 with Accept-Encoding", async () => {
      const res = await refusedAtHead(
        head(token, ["Content-Type: application/json", "Content-Encoding: snappy"]),
        "unsupported_content_encoding",
      );
      assert.equal(res.headers.get("accept-encoding"), "gzip, deflate, br, zstd");
    });

    await t.step("a declared size over the limit → 413 before the body is asked for", async () => {
      const c = await RawHttp.connect(port);
      try {
        await c.write(head(token, ["Content-Type: application/json"], 2 * 1024 * 1024));
        const res = await c.response();
        assert.equal(res?.status, 413);
        assert.equal(JSON.parse(res!.body).error, "payload_too_large");
      } finally {
        c.close();
      }
    });

    await t.step("a body the bot reads gets its 100, then the answer", async () => {
      const c = await RawHttp.connect(port);
      try {
        const body = JSON.stringify({ text: "after the 100" });
        await c.write(head(token, ["Content-Type: application/json"], body.length));
        assert.equal(await c.interim(), 100);
        await c.write(body);
        assert.equal((await c.response())?.status, 200);
        assert.equal(h.fake.messagesIn(CHAT_ID).at(-1)?.text, "after the 100");
      } finally {
        c.close();
      }
    });

    await t.step("an ntfy upload of any type (PUT, Filename) still gets its 100", async () => {
      const c = await RawHttp.connect(port);
      try {
        const pdf = "%PDF-1.4 report";
        await c.write(
          head(token, ["Content-Type: application/pdf", "Filename: r.pdf"], pdf.length, "PUT"),
        );
        assert.equal(await c.interim(), 100);
        await c.write(pdf);
        assert.equal((await c.response())?.status, 200);
        assert.equal(h.fake.messagesIn(CHAT_ID).at(-1)?.file?.name, "r.pdf");
      } finally {
        c.close();
      }
    });
  });
});
