// What a sender reads when TrueConf refuses a part: a file refused by one of the file codes
// (310; 400–408 on 5.5.6+) is named as a file refusal, any other code is not.
import assert from "node:assert/strict";
import { livingWorld } from "../messages/_world.ts";

Deno.test("TrueConf refusing a part: file codes name the file, 399 and other codes do not", async () => {
  const t = await livingWorld({ fake: { serverVersion: "5.5.6.10902" } });
  try {
    // A file refused with a 5.5.6 file code: its caption still reaches the chat as text.
    t.w.fake.setMethodError("sendFile", 404, 1);
    const form = new FormData();
    form.append("text", "nightly log");
    form.append("file", new Blob(["x\n"], { type: "text/plain" }), "build.log");
    const up = await t.send(t.hookA, { method: "POST", body: form });
    assert.equal(up.status, 502, up.text);
    assert.equal(up.json.error, "partial_delivery");
    assert.equal(up.json.failed[0].code, "upload_rejected");
    assert.match(up.json.failed[0].message, /error 404.*this file/);
    assert.deepEqual(t.shown().map((m) => m.text), ["nightly log"]);
    // The hook's creator hears of the refused file by DM, after the answer.
    await t.w.fake.waitFor(() => t.w.fake.sent.some((m) => /build\.log/.test(m.text ?? "")));

    // 399 is no file code (the SDK 1.5 notes name only 400–408 as file errors): a text
    // refused with it is not blamed on a file.
    t.w.fake.setMethodError("sendMessage", 399, 1);
    const text = await t.post(t.hookA, { text: "hello" });
    assert.equal(text.status, 502, text.text);
    assert.equal(text.json.error, "delivery_failed");
    assert.equal(text.json.failed[0].code, "trueconf_error");
    assert.match(text.json.failed[0].message, /sendMessage with error 399/);
    assert.doesNotMatch(text.json.failed[0].message, /file/);
  } finally {
    await t.close();
  }
});

// TrueConf Server 5.5.6 answers a file that breaks the administrator's limits with one of the
// file codes 400–408 instead of 310 (SDK 1.5.0 release notes); which code names which cause is
// published nowhere we could read, so every one of them must give the same precise answer.
Deno.test("a file refused for the limits: 310 before 5.5.6, each of 400–408 since, names the limit it breaks", async () => {
  const cases: { serverVersion?: string; fileRefusalCode?: number; code: number }[] = [
    { code: 310 },
    ...[400, 401, 402, 403, 404, 405, 406, 407, 408].map((code) => ({
      serverVersion: "5.5.6.10902",
      fileRefusalCode: code,
      code,
    })),
  ];
  for (const { code, ...fake } of cases) {
    const t = await livingWorld({
      fake: {
        ...fake,
        fileLimits: { maxSize: 1024, extensions: { mode: "block", list: ["exe"] } },
      },
    });
    try {
      const post = async (name: string, size: number) => {
        const form = new FormData();
        form.append("text", "see attached");
        form.append("file", new Blob([new Uint8Array(size).fill(65)]), name);
        const res = await t.send(t.hookA, { method: "POST", body: form });
        assert.equal(res.status, 502, res.text);
        assert.equal(res.json.failed[0].code, "upload_rejected", `${code}`);
        const message = res.json.failed[0].message as string;
        assert.match(message, new RegExp(`\\berror ${code}\\b`), `${code}: ${message}`);
        return message;
      };
      assert.match(
        await post("dump.bin", 3000),
        /the file is 2\.9 KiB; this TrueConf Server takes files up to 1 KiB/,
      );
      assert.match(await post("setup.exe", 10), /this TrueConf Server does not take \.exe files/);
      // The text was posted each time: nothing is lost with the file.
      assert.deepEqual(t.shown().map((m) => m.text), ["see attached", "see attached"]);
    } finally {
      await t.close();
    }
  }
});
