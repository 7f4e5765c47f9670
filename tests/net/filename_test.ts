// Download names come from the same Content-Disposition parser as multipart uploads (issue
// 11.5: one parser, not two).
import assert from "node:assert/strict";
import { pickFilename } from "../../src/net/_filename.ts";

const url = new URL("https://x.example/files/fallback%20name.pdf");

Deno.test("pickFilename: filename* (RFC 5987) wins, in UTF-8 or Latin-1", () => {
  assert.equal(
    pickFilename(`attachment; filename="plain.pdf"; filename*=UTF-8''%E2%82%AC%20rates.pdf`, url),
    "€ rates.pdf",
  );
  assert.equal(pickFilename(`attachment; filename*=iso-8859-1''caf%E9.txt`, url), "café.txt");
});

Deno.test("pickFilename: an undecodable filename* falls back to filename, then to the URL", () => {
  assert.equal(
    pickFilename(`attachment; filename*=x-unknown''abc; filename="report.pdf"`, url),
    "report.pdf",
  );
  assert.equal(pickFilename(`attachment`, url), "fallback name.pdf");
});

Deno.test("pickFilename: quoted names keep their quotes' escapes; path parts are dropped", () => {
  assert.equal(pickFilename(`attachment; filename="say \\"hi\\".txt"`, url), 'say "hi".txt');
  assert.equal(pickFilename(`attachment; filename="C:\\Users\\x\\report.pdf"`, url), "report.pdf");
  assert.equal(pickFilename(`attachment; filename="../../etc/passwd"`, url), "passwd");
});
