// Properties of the multipart split on large bodies (the word search of src/ingest/_multipart.ts
// runs on ranges of 64 KiB and more): whatever the file's bytes (near-misses of the delimiter
// included), the boundary's length and where the body lies in its buffer, every file comes back
// with exactly its bytes and every field with its text.
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeBody } from "../../src/ingest/decode_body.ts";

const enc = new TextEncoder();

/** Random bytes with pieces of the delimiter planted in them (with and without a line break). */
function fileBytes(seed: number, size: number, boundary: string, plants: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  const delimiter = enc.encode(`--${boundary}`);
  for (let p = 0; p < plants; p++) {
    x = (x * 1103515245 + 12345) >>> 0;
    // A near miss: the delimiter without its last byte, or whole but not after a line break.
    const piece = p % 2 === 0 ? delimiter.subarray(0, delimiter.length - 1) : delimiter;
    if (size < piece.length + 2) break;
    const at = x % Math.max(1, size - piece.length - 1) + 1;
    if (bytes[at - 1] === 0x0a) bytes[at - 1] = 0x20;
    bytes.set(piece, at);
  }
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const boundaryText = fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,70}$/)
  .filter((b) => !b.endsWith("-"));

Deno.test("large multipart bodies: every file keeps its exact bytes, wherever the body lies in memory", async () => {
  await fc.assert(
    fc.asyncProperty(
      boundaryText,
      fc.array(
        fc.record({
          size: fc.integer({ min: 0, max: 200_000 }),
          seed: fc.integer(),
          plants: fc.nat(20),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      fc.nat(7),
      fc.boolean(),
      async (boundary, files, offset, lfOnly) => {
        const nl = lfOnly ? "\n" : "\r\n";
        const made = files.map((f) => fileBytes(f.seed, f.size, boundary, f.plants));
        // With bare-LF framing a file's last CR cannot be told from a CRLF before the delimiter
        // (the split takes it as the line break, as for any sender): such files end otherwise.
        for (const bytes of made) {
          if (lfOnly && bytes.at(-1) === 0x0d) bytes[bytes.length - 1] = 0x20;
        }
        const chunks: Uint8Array[] = [
          enc.encode(`--${boundary}${nl}Content-Disposition: form-data; name="text"${nl}${nl}hi`),
        ];
        made.forEach((bytes, i) => {
          chunks.push(enc.encode(
            `${nl}--${boundary}${nl}Content-Disposition: form-data; name="file"; filename="f${i}.bin"${nl}${nl}`,
          ));
          chunks.push(bytes);
        });
        chunks.push(enc.encode(`${nl}--${boundary}--${nl}`));
        const length = chunks.reduce((n, c) => n + c.length, 0);
        // The body as a view at an odd place of a larger buffer, as a server's buffer may hold it.
        const buffer = new Uint8Array(offset + length + 5);
        let at = offset;
        for (const c of chunks) {
          buffer.set(c, at);
          at += c.length;
        }
        const body = await decodeBody(
          buffer.subarray(offset, offset + length),
          `multipart/form-data; boundary="${boundary}"`,
          { maxFiles: 10 },
        );
        assert.equal(body.kind, "form");
        if (body.kind !== "form") return;
        assert.deepEqual(body.fields.get("text"), ["hi"]);
        assert.equal(body.files.length, made.length);
        body.files.forEach((file, i) => {
          assert.equal(file.filename, `f${i}.bin`);
          assert.ok(
            sameBytes(file.bytes, made[i]!),
            `file ${i} of ${made[i]!.length} bytes differs`,
          );
        });
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("a body full of delimiters that do not start a line is split in one pass over it", async () => {
  // 200,000 copies of `--boundary` back to back (12 bytes each, so all at one offset of the
  // buffer's 32-bit words), none after a line break: none ends the file part. Scanning the rest
  // of the body again for each of them would take minutes; the split must scan each word of the
  // body a bounded number of times. Counted on the word scans themselves, and cut short if the
  // bound is passed, so a regression fails here instead of hanging.
  const boundary = "0123456789";
  const repeats = enc.encode(`--${boundary}`.repeat(200_000));
  const head = enc.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.bin"\r\n\r\nx`,
  );
  const tail = enc.encode(`\r\n--${boundary}--\r\n`);
  const body = new Uint8Array(head.length + repeats.length + tail.length);
  body.set(head);
  body.set(repeats, head.length);
  body.set(tail, head.length + repeats.length);
  const bound = 8 * (body.length / 4) + 1024;
  let scanned = 0;
  const native = Uint32Array.prototype.indexOf;
  Uint32Array.prototype.indexOf = function (this: Uint32Array, value: number, from = 0) {
    const found = native.call(this, value, from);
    scanned += found >= 0 ? found - from + 1 : this.length - from;
    if (scanned > bound) throw new Error(`the split scanned more than ${bound} words`);
    return found;
  };
  try {
    const decoded = await decodeBody(body, `multipart/form-data; boundary=${boundary}`, {
      maxFiles: 10,
    });
    assert.equal(decoded.kind, "form");
    if (decoded.kind !== "form") return;
    assert.equal(decoded.files.length, 1);
    assert.equal(decoded.files[0]!.bytes.length, 1 + repeats.length);
  } finally {
    Uint32Array.prototype.indexOf = native;
  }
  assert.ok(scanned > 0, "the word search ran");
});
