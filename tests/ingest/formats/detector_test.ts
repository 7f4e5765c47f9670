// detectPayload as the HTTP layer calls it on a fresh process: the adapters load with the first
// payload, zod only once a payload needs a schema. This module imports no test helper that loads
// zod, so what it sees is what a fresh bot does.
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { moduleGraph, ROOT, staticClosure } from "../../support/module_graph.ts";
import { detectPayload } from "../../../src/ingest/formats/detector.ts";
import { lazySchema, SchemasNotLoaded } from "../../../src/ingest/formats/_schemas.ts";
import { PayloadError } from "../../../src/ingest/formats/types.ts";

const zodLoaded = () => {
  try {
    lazySchema((z) => z.string())();
    return true;
  } catch (e) {
    if (e instanceof SchemasNotLoaded) return false;
    throw e;
  }
};

Deno.test("an upload is read without zod; the first JSON payload that needs a schema loads it and parses", async () => {
  const bytes = new Uint8Array([1, 2, 3, 250]);
  const upload = await detectPayload({
    body: {
      kind: "form",
      fields: new Map([["text", ["dump"]]]),
      files: [{
        field: "file",
        filename: "dump.bin",
        contentType: "application/octet-stream",
        bytes,
      }],
    },
    headers: new Map(),
  });
  assert.equal(upload.format, "native");
  assert.equal(upload.message.text, "dump");
  const file = upload.message.attachments[0];
  assert.equal(file?.source.type === "bytes" && file.source.bytes, bytes);
  assert.equal(zodLoaded(), false);

  // Three payloads that need schemas at once wait for one load; a schema's refusal is the
  // sender's 400, as when zod was loaded already.
  const json = (value: unknown) =>
    detectPayload({ body: { kind: "json", value }, headers: new Map() });
  const [native, slack, wrong] = await Promise.allSettled([
    json({ text: "*hi*", parse_mode: "markdown" }),
    json({ text: "x", attachments: [{ title: 5, text: "y" }] }),
    json({ text: 5 }),
  ]);
  assert.equal(native.status === "fulfilled" && native.value.message.parseMode, "markdown");
  assert.equal(slack.status === "fulfilled" && slack.value.format, "slack");
  assert.match(slack.status === "fulfilled" ? slack.value.message.text : "", /\*\*5\*\*/);
  assert.ok(wrong.status === "rejected" && wrong.reason instanceof PayloadError);
  assert.equal(wrong.reason.code, "invalid_field_type");
  assert.equal(zodLoaded(), true);

  // Loaded: the answer comes at once.
  const next = json({ text: "again" });
  assert.ok(!(next instanceof Promise));
  assert.equal(next.message.text, "again");
});

Deno.test("the adapters import zod only on demand (a static import would load it for every upload)", async () => {
  const entry = "src/ingest/formats/detect.ts";
  const graph = await moduleGraph(entry);
  const loaded = [...staticClosure(graph, [pathToFileURL(resolve(ROOT, entry)).href])];
  assert.deepEqual(loaded.filter((m) => m.startsWith("npm:zod@")), []);
  // The test sees the adapters at all: native's module is in the graph.
  assert.ok(loaded.some((m) => m.endsWith("/src/ingest/formats/native.ts")));
});
