#!/usr/bin/env bash
# Checks `deno task compile` as far as this machine allows, for CI.
#
# The task runs unchanged in a scratch copy of exactly what the Dockerfile copies (deno.json,
# deno.lock, src/), so a runtime file outside that set, a flag the task lost, or a broken module
# graph fails here instead of in `docker build` or in production.
#
# Without a real denort base binary (dl.deno.land is unreachable here) it is a dry run:
# DENORT_BIN=/bin/true runs the whole compile pipeline and appends the payload to a copy of
# /bin/true, which cannot run but carries the metadata to check. With DENORT_BIN pointing at a
# real denort, the binary is built for real and `version` is smoke-tested.
#
# Usage: scripts/check_compile.sh        (exit 0 = OK; non-zero with a reason otherwise)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
deno="$root/deno"
export NO_COLOR=1 RUST_BACKTRACE=0

fail() {
  echo "compile: FAILED: $*" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The Docker build context, nothing more (see Dockerfile and .dockerignore).
cp "$root/deno.json" "$root/deno.lock" "$work/"
cp -R "$root/src" "$work/src"

mode=dry-run
if [[ -n "${DENORT_BIN:-}" && "${DENORT_BIN}" != /bin/true && -x "${DENORT_BIN}" ]]; then
  mode=real
else
  export DENORT_BIN=/bin/true
fi

# `deno task compile` itself, not a copy of its flags: extra arguments would land after the entry
# point and be baked into the binary's argv, so the only faithful way is to run the task as is.
if ! (cd "$work" && "$deno" task compile) >"$work/compile.log" 2>&1; then
  cat "$work/compile.log" >&2
  fail "deno task compile exited non-zero (output above)"
fi

bin="$work/dist/trueconf-webhook-bot"
[[ -f "$bin" ]] || fail "deno task compile did not write dist/trueconf-webhook-bot"

# The metadata block and the "Embedded Files" tree are internal formats of deno compile
# (2.9.6). If they change, the message says so instead of failing obscurely.
if ! "$deno" run --quiet --allow-read - "$bin" "$work/compile.log" "$work/deno.json" <<'TS'; then
const [binPath, logPath, configPath] = Deno.args as [string, string, string];
const problems: string[] = [];

// Find the JSON metadata (`{"argv":…}`) appended to the binary and cut it at its closing brace.
const bytes = await Deno.readFile(binPath);
const text = new TextDecoder("latin1").decode(bytes);
const start = text.indexOf('{"argv":');
if (start < 0) {
  console.error('no {"argv":…} metadata block in the output: the deno compile format changed; update scripts/check_compile.sh');
  Deno.exit(1);
}
let depth = 0, end = -1, inString = false;
for (let i = start; i < text.length; i++) {
  const ch = text[i];
  if (inString) {
    if (ch === "\\") i++;
    else if (ch === '"') inString = false;
  } else if (ch === '"') inString = true;
  else if (ch === "{") depth++;
  else if (ch === "}" && --depth === 0) {
    end = i + 1;
    break;
  }
}
// deno-lint-ignore no-explicit-any
let meta: any;
try {
  meta = JSON.parse(new TextDecoder().decode(bytes.subarray(start, end)));
} catch (error) {
  console.error(`metadata block is not JSON (${error}): the deno compile format changed`);
  Deno.exit(1);
}

const features: unknown = meta?.unstable_config?.features;
if (!Array.isArray(features) || !features.includes("kv")) {
  problems.push(`unstable_config.features lacks "kv" (got ${JSON.stringify(features)}): Deno.openKv would be missing`);
}
const envFile = meta?.env_vars_from_env_file;
if (envFile !== null && envFile !== undefined && Object.keys(envFile).length > 0) {
  problems.push(`env_vars_from_env_file embeds ${Object.keys(envFile).join(", ")}: never compile with --env-file`);
}
if (meta?.unsafely_ignore_certificate_errors != null) {
  problems.push("unsafely_ignore_certificate_errors is set: TLS laxness must stay a runtime setting");
}
if (meta?.entrypoint_key !== "src/main.ts") {
  problems.push(`entry point is ${JSON.stringify(meta?.entrypoint_key)}, expected "src/main.ts"`);
}
if (Array.isArray(meta?.argv) && meta.argv.length > 0) {
  problems.push(`argv is baked in: ${JSON.stringify(meta.argv)}`);
}
const perms = meta?.permissions ?? {};
for (const key of ["allow_net", "allow_env", "allow_read", "allow_write"]) {
  if (!Array.isArray(perms[key])) problems.push(`permission ${key} not granted`);
}
for (const key of ["allow_run", "allow_ffi"]) {
  if (perms[key] != null) problems.push(`permission ${key} granted but never needed`);
}

// Every --include of the task must show up in the "Embedded Files" tree by its file name.
const config = JSON.parse(await Deno.readTextFile(configPath));
const tasks: Record<string, string | { command: string }> = config.tasks ?? {};
const expand = (name: string): string[] => {
  const task = tasks[name];
  const all = (typeof task === "string" ? task : task?.command ?? "").split(/\s+/);
  // Leading VAR=value words set the environment; `||` starts the failure message.
  const words = all.slice(all.findIndex((w) => !/^[A-Z_]+=/.test(w)));
  const end = words.indexOf("||");
  const cmd = end < 0 ? words : words.slice(0, end);
  return cmd[0] === "deno" && cmd[1] === "task" ? [...expand(cmd[2]!), ...cmd.slice(3)] : cmd;
};
const words = expand("compile");
const includes = words.flatMap((w, i) =>
  w === "--include" ? [words[i + 1]!] : w.startsWith("--include=") ? [w.slice(10)] : []
);
const log = await Deno.readTextFile(logPath);
if (!log.includes("Embedded Files")) {
  problems.push('no "Embedded Files" tree in the compile output: the deno compile format changed');
} else {
  for (const inc of includes) {
    const name = inc.replace(/\/+$/, "").split("/").at(-1)!;
    if (!new RegExp(`[─ ]${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`).test(log)) {
      problems.push(`--include ${inc} does not appear in the Embedded Files tree`);
    }
  }
}

for (const p of problems) console.error(`  - ${p}`);
console.log(
  `  permissions: net=${JSON.stringify(perms.allow_net)} env=${JSON.stringify(perms.allow_env)} ` +
    `read=${JSON.stringify(perms.allow_read)} write=${JSON.stringify(perms.allow_write)} ` +
    `sys=${JSON.stringify(perms.allow_sys)} prompt=${perms.prompt}; includes: ${includes.join(", ") || "none"}`,
);
Deno.exit(problems.length ? 1 : 0);
TS
  fail "the compiled binary's metadata is not as expected (see above)"
fi

if [[ $mode == real ]]; then
  out=$(timeout 20 "$bin" version 2>&1) || fail "compiled binary: 'version' exited non-zero: $out"
  [[ -n $out ]] || fail "compiled binary: 'version' printed nothing"
  echo "compile: OK (real build with DENORT_BIN=$DENORT_BIN; version: $out)"
else
  echo "compile: dry-run OK (no denort on this machine)"
fi
