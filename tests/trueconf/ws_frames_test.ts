// The WebSocket framing of the TrueConf socket (RFC 6455 §5), as pure byte work: server
// frames split at any point parse the same, fragmented messages reassemble with control frames
// between their fragments, every length encoding round-trips, and each violation closes with
// its code (1002 protocol, 1007 bad UTF-8, 1009 too big).
import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes as concat } from "../../src/bytes.ts";
import {
  closePayload,
  encodeFrame,
  FrameOutbox,
  FrameParser,
  MAX_FRAME_BYTES,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  WsProtocolError,
} from "../../src/trueconf/_ws_frames.ts";

const utf8 = new TextEncoder();
const server = (op: number, payload: Uint8Array | string, fin = true) =>
  encodeFrame(op, typeof payload === "string" ? utf8.encode(payload) : payload, {
    fin,
    mask: null,
  });

/** A parser whose sink writes what it got as lines: "text:…", "ping:…", "close:1000 bye". */
function recorder(o: { maxBytes?: number; initialBytes?: number } = {}) {
  const got: string[] = [];
  const hex = (b: Uint8Array) =>
    b.byteLength > 256
      ? `${b.byteLength} bytes`
      : [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  const parser = new FrameParser({
    text: (t) => void got.push(`text:${t}`),
    binary: (b) => void got.push(`binary:${hex(b)}`),
    ping: (p) => void got.push(`ping:${hex(p)}`),
    pong: (p) => void got.push(`pong:${hex(p)}`),
    close: (code, reason) => void got.push(`close:${code} ${reason}`),
  }, o);
  return { got, parser, hex };
}

/** Feeds `bytes` cut at `cuts` (sorted offsets), each piece read into the parser's space. */
function feed(parser: FrameParser, bytes: Uint8Array, cuts: number[]): void {
  let from = 0;
  for (const to of [...cuts, bytes.byteLength]) {
    let at = from;
    while (at < to) {
      const room = parser.space();
      const n = Math.min(room.byteLength, to - at);
      room.set(bytes.subarray(at, at + n));
      parser.commit(n);
      at += n;
    }
    from = Math.max(from, to);
  }
}

/** Unmasks client frames (what a server does) into [opcode, fin, payload]. */
function decodeClientFrames(bytes: Uint8Array): [number, boolean, Uint8Array][] {
  const out: [number, boolean, Uint8Array][] = [];
  let p = 0;
  while (p < bytes.byteLength) {
    const b0 = bytes[p]!, b1 = bytes[p + 1]!;
    assert.equal(b1 & 0x80, 0x80, "client frames are masked");
    let n = b1 & 0x7f;
    let head = 2;
    if (n === 126) {
      n = (bytes[p + 2]! << 8) | bytes[p + 3]!;
      head = 4;
      assert.ok(n >= 126, "the shortest length encoding");
    } else if (n === 127) {
      n = new DataView(bytes.buffer, bytes.byteOffset + p + 2, 8).getUint32(4);
      head = 10;
      assert.ok(n >= 0x10000, "the shortest length encoding");
    }
    const mask = bytes.subarray(p + head, p + head + 4);
    const payload = bytes.slice(p + head + 4, p + head + 4 + n);
    for (let i = 0; i < n; i++) payload[i]! ^= mask[i % 4]!;
    out.push([b0 & 0x0f, (b0 & 0x80) !== 0, payload]);
    p += head + 4 + n;
  }
  return out;
}

const payloadText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  // Around the 7-bit, 16-bit and 64-bit length boundaries.
  fc.constantFrom(125, 126, 127, 65_535, 65_536, 70_000).map((n) => "é".repeat(n >> 1) + "x"),
);
const controlFrame = fc.record({
  op: fc.constantFrom(OP_PING, OP_PONG),
  payload: fc.uint8Array({ maxLength: 125 }),
});
/** A message: its text cut into fragments, with control frames before some fragments. */
const message = fc.record({
  text: payloadText,
  cuts: fc.array(fc.nat(), { maxLength: 4 }),
  controls: fc.array(fc.option(controlFrame, { nil: undefined }), { maxLength: 5 }),
});

Deno.test("property: fragmented messages with control frames between fragments, cut at any point, parse to the same events", () => {
  fc.assert(
    fc.property(
      fc.array(message, { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.constantFrom(16, 1024, 64 * 1024),
      (messages, readCuts, initialBytes) => {
        const frames: Uint8Array[] = [];
        const expected: string[] = [];
        const { got, parser, hex } = recorder({ initialBytes });
        for (const m of messages) {
          const bytes = utf8.encode(m.text);
          // Fragment boundaries may fall inside a multi-byte character: UTF-8 is checked on
          // the whole message, not per frame.
          const bounds = [...new Set(m.cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) =>
            a - b
          );
          const pieces: Uint8Array[] = [];
          let from = 0;
          for (const b of [...bounds, bytes.byteLength]) {
            if (b < from) continue;
            pieces.push(bytes.subarray(from, b));
            from = b;
          }
          pieces.forEach((piece, i) => {
            const control = i > 0 ? m.controls[i] : undefined;
            if (control) {
              frames.push(server(control.op, control.payload));
              expected.push(`${control.op === OP_PING ? "ping" : "pong"}:${hex(control.payload)}`);
            }
            frames.push(
              server(i === 0 ? OP_TEXT : OP_CONTINUATION, piece, i === pieces.length - 1),
            );
          });
          expected.push(`text:${m.text}`);
        }
        const stream = concat(frames);
        const cuts = readCuts.map((c) => c % (stream.byteLength + 1)).sort((a, b) => a - b);
        feed(parser, stream, cuts);
        assert.deepEqual(got, expected);
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("property: the outbox's masked frames unmask to the texts and control payloads, in order", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(payloadText, controlFrame), { minLength: 1, maxLength: 8 }),
      (items) => {
        const outbox = new FrameOutbox();
        for (const item of items) {
          if (typeof item === "string") outbox.text(item);
          else outbox.control(item.op, item.payload);
        }
        const size = outbox.size;
        const bytes = outbox.take();
        assert.equal(bytes.byteLength, size);
        assert.equal(outbox.size, 0);
        const frames = decodeClientFrames(bytes);
        assert.equal(frames.length, items.length);
        items.forEach((item, i) => {
          const [op, fin, payload] = frames[i]!;
          assert.equal(fin, true);
          if (typeof item === "string") {
            assert.equal(op, OP_TEXT);
            assert.equal(new TextDecoder().decode(payload), item);
          } else {
            assert.equal(op, item.op);
            assert.deepEqual(payload, item.payload);
          }
        });
        outbox.recycle(bytes);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("outbox: frames queued after take() go to the next write, and a recycled buffer is reused", () => {
  const outbox = new FrameOutbox();
  outbox.text("first");
  const one = outbox.take();
  outbox.text("second"); // a write of `one` is in flight
  assert.deepEqual(
    decodeClientFrames(one).map(([, , p]) => new TextDecoder().decode(p)),
    ["first"],
  );
  outbox.recycle(one);
  const two = outbox.take();
  assert.deepEqual(
    decodeClientFrames(two).map(([, , p]) => new TextDecoder().decode(p)),
    ["second"],
  );
  outbox.recycle(two);
  outbox.text("third");
  assert.equal(outbox.take().buffer, one.buffer, "the first buffer came back into use");
});

Deno.test("masks differ from frame to frame", () => {
  const outbox = new FrameOutbox();
  for (let i = 0; i < 50; i++) outbox.text("same");
  const bytes = outbox.take();
  const masks = new Set<string>();
  for (let p = 0; p < bytes.byteLength; p += 2 + 4 + 4) {
    masks.add(bytes.subarray(p + 2, p + 6).join(","));
  }
  assert.ok(masks.size > 45, `${masks.size} distinct masks in 50 frames`);
});

function violation(bytes: Uint8Array, o: { maxBytes?: number } = {}): WsProtocolError {
  const { parser } = recorder(o);
  try {
    parser.push(bytes);
  } catch (err) {
    assert.ok(err instanceof WsProtocolError, String(err));
    return err;
  }
  assert.fail("no protocol error");
}

Deno.test("a frame over the limit is refused with 1009 from its header alone", () => {
  // Only the 10-byte header of a 4 MiB + 1 frame: refused before any payload is buffered.
  const head = server(OP_TEXT, new Uint8Array(MAX_FRAME_BYTES + 1)).subarray(0, 10);
  const err = violation(head);
  assert.equal(err.code, 1009);
  assert.match(err.message, /larger than 4194304 bytes/);
  // Exactly at the limit is accepted.
  const { got, parser } = recorder();
  parser.push(server(OP_BINARY, new Uint8Array(MAX_FRAME_BYTES)));
  assert.equal(got.length, 1);
});

Deno.test("a fragmented message over the limit is refused with 1009 though each fragment is small", () => {
  const half = new Uint8Array(600);
  const err = violation(
    concat([server(OP_TEXT, half, false), server(OP_CONTINUATION, half, true)]),
    { maxBytes: 1000 },
  );
  assert.equal(err.code, 1009);
});

Deno.test("text that is not UTF-8 closes with 1007, also when the bad bytes span fragments", () => {
  assert.equal(violation(server(OP_TEXT, new Uint8Array([0x7b, 0xff, 0x7d]))).code, 1007);
  // "é" is c3 a9: a fragment ending in c3 followed by one that does not continue it.
  const split = concat([
    server(OP_TEXT, new Uint8Array([0x61, 0xc3]), false),
    server(OP_CONTINUATION, new Uint8Array([0x62]), true),
  ]);
  assert.equal(violation(split).code, 1007);
  // Split correctly, the same character is fine.
  const { got, parser } = recorder();
  parser.push(concat([
    server(OP_TEXT, new Uint8Array([0x61, 0xc3]), false),
    server(OP_CONTINUATION, new Uint8Array([0xa9]), true),
  ]));
  assert.deepEqual(got, ["text:aé"]);
  // U+FFFD itself is valid text: delivered, not taken for a bad byte.
  const replacement = recorder();
  replacement.parser.push(server(OP_TEXT, '{"text":"\uFFFD ok"}'));
  assert.deepEqual(replacement.got, ['text:{"text":"\uFFFD ok"}']);
  // A close reason must be UTF-8 too.
  const badReason = server(OP_CLOSE, new Uint8Array([0x03, 0xe8, 0xff]));
  assert.equal(violation(badReason).code, 1007);
});

Deno.test("frames a server must not send close with 1002", () => {
  const cases: [string, Uint8Array][] = [
    ["masked", encodeFrame(OP_TEXT, utf8.encode("{}"))],
    ["RSV1 (no extension negotiated)", Uint8Array.of(0xc1, 0x00)],
    ["RSV3", Uint8Array.of(0x91, 0x00)],
    ["opcode 3", Uint8Array.of(0x83, 0x00)],
    ["opcode 0xB", Uint8Array.of(0x8b, 0x00)],
    ["fragmented ping", server(OP_PING, "x", false)],
    ["126-byte ping", server(OP_PING, new Uint8Array(126))],
    ["continuation without a message", server(OP_CONTINUATION, "x")],
    [
      "new message inside a fragmented one",
      concat([server(OP_TEXT, "a", false), server(OP_TEXT, "b")]),
    ],
    ["1-byte close body", server(OP_CLOSE, new Uint8Array([3]))],
    ["close code 1005 on the wire", server(OP_CLOSE, closePayload(1005))],
    ["close code 999", server(OP_CLOSE, closePayload(999))],
    ["64-bit length with the top bit set", Uint8Array.of(0x81, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1)],
  ];
  for (const [what, bytes] of cases) {
    assert.equal(violation(bytes).code, 1002, what);
  }
});

Deno.test("close frames: code and reason, 1005 for an empty one, nothing parsed after", () => {
  const { got, parser } = recorder();
  parser.push(concat([
    server(OP_TEXT, "before"),
    server(OP_CLOSE, closePayload(1001, "server restart")),
    server(OP_TEXT, "after"),
  ]));
  assert.deepEqual(got, ["text:before", "close:1001 server restart"]);
  const empty = recorder();
  empty.parser.push(server(OP_CLOSE, new Uint8Array(0)));
  assert.deepEqual(empty.got, ["close:1005 "]);
});

Deno.test("the read buffer grows to a big frame's size, not past it, and shrinks after it", () => {
  const { got, parser } = recorder({ initialBytes: 64 * 1024 });
  const big = server(OP_BINARY, new Uint8Array(1_000_000));
  feed(parser, big.subarray(0, 70_000), [5]); // the header alone, then more
  const buffered = 70_000 + parser.space().byteLength;
  assert.ok(buffered >= big.byteLength, "room for the whole frame");
  assert.ok(buffered <= big.byteLength + 16 * 1024, `${buffered} bytes for a 1 MB frame`);
  feed(parser, big.subarray(70_000), []);
  assert.deepEqual(got, ["binary:1000000 bytes"]);
  assert.ok(parser.space().byteLength <= 64 * 1024, "back to its first size");
});
