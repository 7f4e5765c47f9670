import assert from "node:assert/strict";
import {
  configWarnings,
  formatProblems,
  mergeDotenv,
  parseConfig,
  SETTINGS,
} from "../src/config.ts";

const MINIMAL = {
  TRUECONF_SERVER: "video.example.com",
  TRUECONF_USERNAME: "webhook_bot",
  TRUECONF_PASSWORD: "pw",
  WEBHOOK_PUBLIC_URL: "https://hooks.example.com/",
};

Deno.test("parseConfig() applies the reference bot's defaults", () => {
  const r = parseConfig(MINIMAL);
  assert.ok(r.ok);
  const c = r.config;
  assert.deepEqual(c.trueconf.auth, { username: "webhook_bot", password: "pw" });
  assert.equal(c.trueconf.https, true);
  assert.equal(c.trueconf.verifyTls, true);
  assert.equal(c.trueconf.port, 443);
  assert.equal(c.publicUrl, "https://hooks.example.com");
  assert.deepEqual(c.http, { host: "0.0.0.0", port: 8080 });
  assert.equal(c.storagePath, "data/webhooks.kv");
  assert.equal(c.adminOnly, true);
  assert.deepEqual(c.rateLimit, { perTokenPerMinute: 60, perIpPerMinute: 120 });
  assert.equal(c.maxUploadBytes, 25 * 1024 * 1024);
  assert.equal(c.maxAttachments, 10);
  assert.equal(c.log.format, "json");
});

Deno.test("parseConfig() prefers TRUECONF_TOKEN over username and password", () => {
  const r = parseConfig({ ...MINIMAL, TRUECONF_TOKEN: "jwt" });
  assert.ok(r.ok);
  assert.deepEqual(r.config.trueconf.auth, { token: "jwt" });
  const tokenOnly = parseConfig({
    TRUECONF_SERVER: "srv",
    TRUECONF_TOKEN: "jwt",
    WEBHOOK_PUBLIC_URL: "http://x",
  });
  assert.ok(tokenOnly.ok);
});

Deno.test("parseConfig() reads booleans and numbers the way a sysadmin writes them", () => {
  const r = parseConfig({
    ...MINIMAL,
    TRUECONF_HTTPS: "false",
    TRUECONF_VERIFY_SSL: "0",
    TRUECONF_WEB_PORT: "4309",
    WEBHOOK_ADMIN_ONLY: "no",
    WEBHOOK_MAX_UPLOAD_MB: " 5 ",
    LOG_FORMAT: "pretty",
  });
  assert.ok(r.ok);
  assert.equal(r.config.trueconf.https, false);
  assert.equal(r.config.trueconf.verifyTls, false);
  assert.equal(r.config.trueconf.port, 4309);
  assert.equal(r.config.adminOnly, false);
  assert.equal(r.config.maxUploadBytes, 5 * 1024 * 1024);
  assert.equal(r.config.log.format, "pretty");
});

Deno.test("parseConfig() lists every problem at once, each with a good example", () => {
  const r = parseConfig({
    TRUECONF_SERVER: "https://video.example.com/",
    TRUECONF_VERIFY_SSL: "maybe",
    TRUECONF_WEB_PORT: "80x",
    WEBHOOK_PUBLIC_URL: "not a url",
    WEBHOOK_HTTP_PORT: "70000",
    WEBHOOK_URL_ALLOWLIST: "10.0.0.0/99",
    LOG_LEVEL: "loud",
  });
  assert.ok(!r.ok);
  const names = r.problems.map((p) => p.split(" ")[0]);
  for (
    const n of [
      "TRUECONF_SERVER",
      "TRUECONF_USERNAME",
      "TRUECONF_PASSWORD",
      "TRUECONF_VERIFY_SSL",
      "TRUECONF_WEB_PORT",
      "WEBHOOK_PUBLIC_URL",
      "WEBHOOK_HTTP_PORT",
      "WEBHOOK_URL_ALLOWLIST",
      "LOG_LEVEL",
    ]
  ) assert.ok(names.includes(n), `${n} missing from ${JSON.stringify(r.problems)}`);
  for (const p of r.problems) assert.match(p, /e\.g\. /, `no example in: ${p}`);
  const text = formatProblems(r.problems);
  assert.match(text, /^Configuration error: \d+ problems found\./);
});

Deno.test("parseConfig() reports missing auth together with missing required settings", () => {
  // zod skips object refinements after a type error; an empty environment must still list
  // every problem in one go (and in the documented order).
  const r = parseConfig({});
  assert.ok(!r.ok);
  assert.deepEqual(r.problems.map((p) => p.split(" ")[0]), [
    "TRUECONF_SERVER",
    "TRUECONF_USERNAME",
    "TRUECONF_PASSWORD",
    "WEBHOOK_PUBLIC_URL",
  ]);
});

Deno.test("parseConfig() never prints secret values in its problems", () => {
  const r = parseConfig({
    TRUECONF_SERVER: "",
    TRUECONF_USERNAME: "bot",
    TRUECONF_PASSWORD: "hunter2-very-secret",
    METRICS_TOKEN: "metrics-secret-value",
    WEBHOOK_PUBLIC_URL: "ftp://x",
  });
  assert.ok(!r.ok);
  const text = formatProblems(r.problems);
  assert.ok(!text.includes("hunter2-very-secret"));
  assert.ok(!text.includes("metrics-secret-value"));
});

Deno.test("mergeDotenv() never overrides variables already set", () => {
  const env: Record<string, string | undefined> = { A: "from-env" };
  const set = mergeDotenv(env, 'A=from-file\nB="two words"\n# comment\nexport C=3\n');
  assert.equal(env.A, "from-env");
  assert.equal(env.B, "two words");
  assert.deepEqual(set.sort(), ["B", "C"].filter((n) => n in env).sort());
});

Deno.test("every setting is documented in README.md and .env.example", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const example = await Deno.readTextFile(new URL("../.env.example", import.meta.url));
  for (const s of SETTINGS) {
    assert.match(readme, new RegExp(`\\| \`${s.name}\` +\\|`), `${s.name} not in README table`);
    assert.match(example, new RegExp(`^#? ?${s.name}=`, "m"), `${s.name} not in .env.example`);
  }
});

Deno.test("configWarnings() flags plain HTTP to port 443 (the default) and nothing else", () => {
  const warn = (env: Record<string, string>) => {
    const r = parseConfig({ ...MINIMAL, ...env });
    assert.ok(r.ok);
    return configWarnings(r.config);
  };
  assert.deepEqual(warn({}), []);
  assert.deepEqual(warn({ TRUECONF_HTTPS: "false", TRUECONF_WEB_PORT: "4309" }), []);
  assert.deepEqual(warn({ TRUECONF_HTTPS: "true", TRUECONF_WEB_PORT: "8443" }), []);
  const w = warn({ TRUECONF_HTTPS: "false" });
  assert.equal(w.length, 1);
  assert.match(w[0]!, /TRUECONF_HTTPS=false .*443.*TRUECONF_WEB_PORT=4309/);
});
