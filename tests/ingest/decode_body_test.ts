import assert from "node:assert/strict";
import { decodeBody } from "../../src/ingest/decode_body.ts";
import { PayloadError, type RequestBody } from "../../src/ingest/formats/types.ts";

const enc = new TextEncoder();
const limits = { maxFiles: 4 };

function decode(body: string | Uint8Array, type: string | null): Promise<RequestBody> {
  return decodeBody(typeof body === "string" ? enc.encode(body) : body, type, limits);
}

async function refusal(body: string | Uint8Array, type: string | null): Promise<PayloadError> {
  try {
    await decode(body, type);
  } catch (error) {
    if (error instanceof PayloadError) return error;
    throw error;
  }
  throw new Error("expected a PayloadError");
}

/** Builds a multipart body by hand so part headers are exactly what a sender writes. */
function multipart(
  parts: Array<{ headers: string[]; body: string | Uint8Array }>,
  boundary = "b0undary",
): [Uint8Array, string] {
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    chunks.push(enc.encode(`--${boundary}\r\n${part.headers.join("\r\n")}\r\n\r\n`));
    chunks.push(typeof part.body === "string" ? enc.encode(part.body) : part.body);
    chunks.push(enc.encode("\r\n"));
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  const total = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    total.set(c, at);
    at += c.length;
  }
  return [total, `multipart/form-data; boundary=${boundary}`];
}

Deno.test("application/json (and +json, and a charset) decodes to the object", async () => {
  assert.deepEqual(await decode('{"text":"hi"}', "application/json"), {
    kind: "json",
    value: { text: "hi" },
  });
  assert.deepEqual(await decode('{"a":1}', "application/vnd.custom+json; charset=utf-8"), {
    kind: "json",
    value: { a: 1 },
  });
  // The older JSON labels some scripts and tools still send.
  for (const type of ["text/json", "application/x-json", "text/x-json"]) {
    assert.deepEqual(await decode('{"text":"hi"}', type), { kind: "json", value: { text: "hi" } });
  }
});

Deno.test("no Content-Type: a JSON-looking body is JSON (as Mattermost does), anything else is text", async () => {
  assert.deepEqual(await decode('  {"text":"hi"}', null), { kind: "json", value: { text: "hi" } });
  assert.deepEqual(await decode("just words", null), { kind: "text", text: "just words" });
});

Deno.test("bad JSON says where and why, and shows what to send instead", async () => {
  const error = await refusal('{"text":"hi",}', "application/json");
  assert.equal(error.code, "invalid_json");
  assert.equal(error.status, 400);
  assert.equal(
    error.message,
    'The body is not valid JSON: Expected double-quoted property name at position 13 (line 1 column 14). Send a JSON object like {"text":"hello"}.',
  );
  const token = await refusal('{"text":}', "application/json");
  assert.equal(
    token.message.startsWith("The body is not valid JSON: Unexpected token '}' at position 8"),
    true,
  );
  assert.equal(
    (await refusal("", "application/json")).message.startsWith("The body is empty."),
    true,
  );
});

Deno.test("raw newlines and tabs inside JSON strings are tolerated (legacy Mattermost senders)", async () => {
  const body = '{"text":"line 1\nline 2\tend","attachments":[{"title":"a\r\nb"}]}';
  assert.deepEqual(await decode(body, "application/json"), {
    kind: "json",
    value: { text: "line 1\nline 2\tend", attachments: [{ title: "a\r\nb" }] },
  });
});

Deno.test("a JSON body that is not an object is refused with invalid_payload; an array is a batch of records", async () => {
  for (const body of ["null", '"text"', "42"]) {
    const error = await refusal(body, "application/json");
    assert.equal(error.code, "invalid_payload", body);
  }
  // Log shippers (Fluent Bit, Vector) send their batches as JSON arrays or NDJSON.
  assert.deepEqual(await decode('[{"log":"a"},2]', "application/json"), {
    kind: "records",
    records: [{ log: "a" }, 2],
    framing: "array",
  });
  assert.deepEqual(await decode('{"log":"a"}\n{"log":"b"}\n', "application/x-ndjson"), {
    kind: "records",
    records: [{ log: "a" }, { log: "b" }],
    framing: "lines",
  });
});

Deno.test("form-urlencoded keeps every value of repeated fields in order; '+' and stray % are handled", async () => {
  const body = await decode(
    "text=a+b&image_url=https%3A%2F%2Fx%2F1&image_url=https%3A%2F%2Fx%2F2&note=100%&flag",
    "application/x-www-form-urlencoded",
  );
  assert.deepEqual(body, {
    kind: "form",
    fields: new Map([["text", ["a b"]], ["image_url", ["https://x/1", "https://x/2"]], ["note", [
      "100%",
    ]], ["flag", [""]]]),
    files: [],
  });
});

Deno.test("curl -d 'plain words' (form content type, no form inside) is read as text, verbatim", async () => {
  // ntfy's own first example is `curl -d "Backup successful 😀" ntfy.sh/mytopic`, and scripts
  // post `curl -d "$msg"`: curl labels that application/x-www-form-urlencoded. No `=`, or a
  // "field name" with spaces, is no form a program wrote: it was a field "Backup done" with an
  // empty value, and the message was refused as empty.
  const form = "application/x-www-form-urlencoded";
  assert.deepEqual(await decode("Backup successful 😀", form), {
    kind: "text",
    text: "Backup successful 😀",
  });
  assert.deepEqual(await decode("Backup of db1 finished: exit=0, 100% ok", form), {
    kind: "text",
    text: "Backup of db1 finished: exit=0, 100% ok",
  });
  assert.deepEqual(await decode("text=a+b&flag", form), {
    kind: "form",
    fields: new Map([["text", ["a b"]], ["flag", [""]]]),
    files: [],
  });
});

Deno.test("curl -d '{json}' (form content type with a JSON body) is read as JSON", async () => {
  assert.deepEqual(await decode('{"text":"hi"}', "application/x-www-form-urlencoded"), {
    kind: "json",
    value: { text: "hi" },
  });
});

Deno.test("multipart keeps fields in order and files with their exact bytes, type and name", async () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00]);
  const [bytes, type] = multipart([
    { headers: ['Content-Disposition: form-data; name="text"'], body: "привет" },
    { headers: ['Content-Disposition: form-data; name="image_url"'], body: "https://x/1" },
    { headers: ['Content-Disposition: form-data; name="image_url"'], body: "https://x/2" },
    {
      headers: [
        'Content-Disposition: form-data; name="image"; filename="shot.png"',
        "Content-Type: image/png",
      ],
      body: png,
    },
  ]);
  const body = await decode(bytes, type);
  assert.equal(body.kind, "form");
  if (body.kind !== "form") return;
  assert.deepEqual(
    body.fields,
    new Map([["text", ["привет"]], ["image_url", ["https://x/1", "https://x/2"]]]),
  );
  assert.deepEqual(body.files, [{
    field: "image",
    filename: "shot.png",
    contentType: "image/png",
    bytes: png,
  }]);
});

Deno.test("multipart file names: RFC 5987 filename* wins, raw UTF-8 names and client paths are handled", async () => {
  const [bytes, type] = multipart([
    {
      headers: [
        "Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82%201.pdf",
      ],
      body: "%PDF",
    },
    {
      headers: [
        'Content-Disposition: form-data; name="file"; filename="fallback.txt"; filename*=utf-8\'\'r%C3%A9sum%C3%A9.txt',
      ],
      body: "a",
    },
    { headers: ['Content-Disposition: form-data; name="file"; filename="отчёт.csv"'], body: "b" },
    {
      headers: ['Content-Disposition: form-data; name="file"; filename="C:\\Users\\me\\log.txt"'],
      body: "c",
    },
  ]);
  const body = await decode(bytes, type);
  assert.equal(body.kind, "form");
  if (body.kind !== "form") return;
  assert.deepEqual(body.files.map((f) => f.filename), [
    "отчёт 1.pdf",
    "résumé.txt",
    "отчёт.csv",
    "log.txt",
  ]);
  assert.deepEqual(body.files[0]?.bytes, enc.encode("%PDF"));
});

Deno.test("a browser's empty file input is not an upload", async () => {
  const [bytes, type] = multipart([
    { headers: ['Content-Disposition: form-data; name="text"'], body: "hi" },
    {
      headers: [
        'Content-Disposition: form-data; name="file"; filename=""',
        "Content-Type: application/octet-stream",
      ],
      body: "",
    },
  ]);
  const body = await decode(bytes, type);
  assert.equal(body.kind === "form" && body.files.length, 0);
});

Deno.test("multipart bodies from FormData (what fetch/curl -F produce) decode", async () => {
  const form = new FormData();
  form.append("text", "from fetch");
  form.append("file", new File(["x"], "x.txt", { type: "text/plain" }));
  const request = new Request("http://x/", { method: "POST", body: form });
  const body = await decodeBody(
    new Uint8Array(await request.arrayBuffer()),
    request.headers.get("content-type"),
    limits,
  );
  assert.equal(body.kind, "form");
  if (body.kind !== "form") return;
  assert.deepEqual(body.fields.get("text"), ["from fetch"]);
  assert.equal(body.files[0]?.filename, "x.txt");
});

Deno.test("broken multipart is refused with invalid_multipart", async () => {
  assert.equal(
    (await refusal("garbage", "multipart/form-data; boundary=zzz")).code,
    "invalid_multipart",
  );
  assert.equal((await refusal("garbage", "multipart/form-data")).code, "invalid_multipart");
  const [bytes, type] = multipart([{
    headers: ['Content-Disposition: form-data; name="text"'],
    body: "hi",
  }]);
  const truncated = bytes.subarray(0, bytes.length - 14);
  assert.equal((await refusal(truncated, type)).code, "invalid_multipart");
  const [nameless, type2] = multipart([{ headers: ["Content-Type: text/plain"], body: "hi" }]);
  assert.equal((await refusal(nameless, type2)).code, "invalid_multipart");
});

Deno.test("more file parts than allowed are refused before anything is fetched", async () => {
  const parts = Array.from({ length: 5 }, (_, i) => ({
    headers: [`Content-Disposition: form-data; name="file"; filename="f${i}.txt"`],
    body: "x",
  }));
  const [bytes, type] = multipart(parts);
  assert.equal((await refusal(bytes, type)).code, "too_many_attachments");
});

Deno.test("text/plain is the whole body; a declared charset such as windows-1251 is honoured", async () => {
  assert.deepEqual(await decode("hello\nworld", "text/plain"), {
    kind: "text",
    text: "hello\nworld",
  });
  const cp1251 = new Uint8Array([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]); // "Привет"
  assert.deepEqual(await decode(cp1251, "text/plain; charset=windows-1251"), {
    kind: "text",
    text: "Привет",
  });
});

Deno.test("bytes that are not UTF-8 are refused with invalid_encoding", async () => {
  const latin = new Uint8Array([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]); // {"t":"é"} in Latin-1
  assert.equal((await refusal(latin, "application/json")).code, "invalid_encoding");
  assert.equal((await refusal(latin, "text/plain")).code, "invalid_encoding");
  assert.equal((await refusal("x", "text/plain; charset=klingon")).code, "invalid_encoding");
  const [bytes, type] = multipart([{
    headers: ['Content-Disposition: form-data; name="text"'],
    body: new Uint8Array([0xff, 0xfe]),
  }]);
  assert.equal((await refusal(bytes, type)).code, "invalid_encoding");
});

Deno.test("UTF-8 is read strictly: a real U+FFFD in the text is kept, a bad byte beside it is refused, a leading BOM is dropped", async () => {
  const replacement = new TextEncoder().encode('{"text":"bad byte shown as \uFFFD"}');
  assert.deepEqual(await decode(replacement, "application/json"), {
    kind: "json",
    value: { text: "bad byte shown as \uFFFD" },
  });
  const both = new Uint8Array([...new TextEncoder().encode("\uFFFD "), 0xc3, 0x28]);
  assert.equal((await refusal(both, "text/plain")).code, "invalid_encoding");
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("hello")]);
  assert.deepEqual(await decode(bom, "text/plain"), { kind: "text", text: "hello" });
});

Deno.test("an unsupported content type is a 415 naming the accepted types", async () => {
  const error = await refusal("\x82\xa4text", "application/msgpack");
  assert.equal(error.code, "unsupported_content_type");
  assert.equal(error.status, 415);
  assert.equal(
    error.message,
    'Content-Type "application/msgpack" is not supported. Use one of: application/json, application/x-ndjson, application/x-www-form-urlencoded, multipart/form-data, text/plain, application/xml. Fluent Bit\'s http output: set format json (or json_lines).',
  );
  // XML is text (Apprise's xml:// notifications are read by the Apprise adapter).
  assert.deepEqual(await decode("<a>b</a>", "application/xml"), { kind: "text", text: "<a>b</a>" });
});

Deno.test("a form with more than 1000 fields is refused with too_many_fields, not parsed", async () => {
  const body = new TextEncoder().encode("a=1&".repeat(200_000));
  await assert.rejects(
    decodeBody(body, "application/x-www-form-urlencoded", { maxFiles: 10 }),
    (e: unknown) => e instanceof PayloadError && e.code === "too_many_fields" && e.status === 400,
  );
  const form = new FormData();
  for (let i = 0; i < 1001; i++) form.append("f", "x");
  const req = new Request("http://x/", { method: "POST", body: form });
  const bytes = new Uint8Array(await req.arrayBuffer());
  await assert.rejects(
    decodeBody(bytes, req.headers.get("content-type"), { maxFiles: 10 }),
    (e: unknown) => e instanceof PayloadError && e.code === "too_many_fields",
  );
});
