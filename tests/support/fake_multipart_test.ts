// The fake TrueConf's multipart parser (tests/support/_fake_multipart.ts) reads back exactly
// what the bot's upload writes (src/trueconf/_upload.ts), whatever bytes the files hold: CRs,
// dashes and every prefix of the delimiter included (its search skips ahead by the boundary's
// length, so a near-miss must not hide a real delimiter or end a part early).
import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes } from "../../src/bytes.ts";
import { buildMultipart } from "../../src/trueconf/_upload.ts";
import { parseMultipart } from "./_fake_multipart.ts";

Deno.test("fake multipart: parts come back byte for byte, delimiter look-alikes inside included", () => {
  const boundary = `----trueconf-bot-${crypto.randomUUID()}`;
  const enc = new TextEncoder();
  const delimiter = enc.encode(`\r\n--${boundary}`);
  // Bytes a file may hold that look like the delimiter: each of its prefixes, CR/LF, dashes.
  const lookalike = fc.oneof(
    fc.integer({ min: 1, max: delimiter.length - 1 }).map((n) => delimiter.slice(0, n)),
    fc.constantFrom(enc.encode("\r\n"), enc.encode("\r\n--"), enc.encode("--"), enc.encode("\r")),
    fc.uint8Array({ minLength: 0, maxLength: 40 }),
  );
  // A sender picks a boundary its content does not hold (the bot's is a fresh UUID), so content
  // holding the whole delimiter is not a body anyone sends: two look-alikes side by side (a
  // prefix one byte short, then a random byte) made it in 5 of 200 runs of 500 cases.
  const whole = String.fromCharCode(...delimiter);
  const bytes = fc.array(lookalike, { maxLength: 12 }).map(concatBytes)
    .filter((b) => !String.fromCharCode(...b).includes(whole));
  fc.assert(
    fc.property(bytes, fc.option(bytes, { nil: undefined }), (file, preview) => {
      const parts = [{
        field: "file",
        name: "a.bin",
        mimeType: "application/octet-stream",
        bytes: file,
      }];
      if (preview) {
        parts.push({ field: "preview", name: "p.jpg", mimeType: "image/jpeg", bytes: preview });
      }
      const got = parseMultipart(buildMultipart(parts, boundary), boundary);
      assert.deepEqual(
        got.map((p) => [p.name, p.filename, p.contentType, [...p.data]]),
        parts.map((p) => [p.field, p.name, p.mimeType, [...p.bytes]]),
      );
    }),
    { numRuns: 500 },
  );
});
