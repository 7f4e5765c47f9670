/**
 * Arguments of the lifecycle commands. Hook names may contain spaces, so the argument after
 * a name is always its last word (`/webhook_rotate Prod deploys 2h`), and a rename is split
 * at an arrow (`/webhook_rename old name -> new name`).
 *
 * @module
 */

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Reads `30m`, `12h`, `7d` (and `0`) as milliseconds; null when it is not a duration.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(parseDuration("2h"), 7_200_000);
 * assert.equal(parseDuration("0"), 0);
 * assert.equal(parseDuration("soon"), null);
 * ```
 */
export function parseDuration(s: string): number | null {
  const t = s.trim().toLowerCase();
  if (t === "0") return 0;
  const m = /^(\d{1,6})\s*([mhd])$/.exec(t);
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/**
 * Formats milliseconds as the largest whole unit (`3d`, `5h`, `20m`), for replies.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(formatDuration(86_400_000 * 2), "2d");
 * assert.equal(formatDuration(90 * 60_000), "90m");
 * ```
 */
export function formatDuration(ms: number): string {
  for (const [u, n] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000]] as const) {
    if (ms >= n && ms % n === 0) return `${ms / n}${u}`;
  }
  return `${Math.max(1, Math.round(ms / 60_000))}m`;
}

/** The args split into the text before the last word and the last word. */
export function splitLastWord(args: string): { head: string; last: string } {
  const t = args.trim();
  const i = t.lastIndexOf(" ");
  return i < 0 ? { head: "", last: t } : { head: t.slice(0, i).trim(), last: t.slice(i + 1) };
}

/**
 * `old -> new` or `old → new` (also `=>`, `⟶`, and `—>`/`–>` as phone keyboards turn `-->` or
 * `->` into them); null when there is no arrow.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(splitRename("Old name -> New name"), { from: "Old name", to: "New name" });
 * assert.deepEqual(splitRename("a —> b"), { from: "a", to: "b" });
 * ```
 */
export function splitRename(args: string): { from: string; to: string } | null {
  const m = /^(.*?)\s*(?:[-—–]+>|=>|→|⟶)\s*(.*)$/.exec(args.trim());
  if (!m) return null;
  return { from: m[1]!.trim(), to: m[2]!.trim() };
}

/** A word that starts a URL: in `/webhook_create` arguments, the first one is an outgoing hook's. */
export const URL_WORD = /^https?:\/\//i;

/**
 * A word that starts a URL of any scheme (`ftp://`, `ws://`…): `/webhook_create` with one is
 * an outgoing hook asked for with a URL it cannot call, refused with why, never an incoming
 * hook whose name holds the URL.
 */
export const ANY_URL_WORD = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * True when `/webhook_create` arguments hold a URL, i.e. ask for an outgoing hook (read by
 * `src/outgoing/triggers.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(holdsUrl("deploys https://ci.example.com/x /deploy"), true);
 * assert.equal(holdsUrl("files ftp://files.example.com/drop"), true); // refused as outgoing
 * assert.equal(holdsUrl("deploys"), false);
 * ```
 */
export function holdsUrl(args: string): boolean {
  return args.split(/\s+/).some((w) => ANY_URL_WORD.test(w));
}

/**
 * Takes an `expires=<duration>` option out of `/webhook_create` arguments. `expires 30d` and
 * `expires: 30d` count too (typed as /webhook_expire takes its duration) when what follows
 * starts with a digit, so a name that merely holds the word ("cert expires soon") keeps it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(takeExpiresOption("deploys expires=30d"), { rest: "deploys", expires: "30d" });
 * assert.deepEqual(takeExpiresOption("deploys expires 30d"), { rest: "deploys", expires: "30d" });
 * assert.deepEqual(takeExpiresOption("deploys"), { rest: "deploys", expires: null });
 * ```
 */
export function takeExpiresOption(args: string): { rest: string; expires: string | null } {
  const m = /(?:^|\s)expires=(\S*)/i.exec(args) ?? /(?:^|\s)expires:?\s+(\d\S*)/i.exec(args);
  if (!m) return { rest: args, expires: null };
  const rest = (args.slice(0, m.index) + args.slice(m.index + m[0].length)).replace(/\s+/g, " ")
    .trim();
  return { rest, expires: m[1]! };
}

/**
 * Every way to read `/webhook_allow` arguments as a name and a non-empty list, shortest name
 * first: a hook name may itself end in address-like words (`build 2 10.0.0.1` is the hook
 * "build 2" or the hook "build"), so the caller takes the longest name that is a hook.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(allowSplits("build 2 10.0.0.1").map((s) => s.name), ["build", "build 2"]);
 * assert.deepEqual(allowSplits("ci any"), [{ name: "ci", entries: "any" }]);
 * ```
 */
export function allowSplits(args: string): { name: string; entries: string[] | "any" }[] {
  const words = args.trim().split(/\s+/).filter(Boolean);
  if (words.length > 1 && words.at(-1)!.toLowerCase() === "any") {
    return [{ name: words.slice(0, -1).join(" "), entries: "any" }];
  }
  // How many trailing words look like addresses (at least one word stays for the name).
  let tail = 0;
  while (
    tail < words.length - 1 && ADDRESSISH.test(words.at(-1 - tail)!) &&
    /[\d:]/.test(words.at(-1 - tail)!)
  ) tail++;
  const out: { name: string; entries: string[] }[] = [];
  for (let n = tail; n >= 1; n--) {
    out.push({
      name: words.slice(0, words.length - n).join(" "),
      entries: words.slice(words.length - n).flatMap((w) => w.split(","))
        .map((e) => e.trim()).filter(Boolean),
    });
  }
  return out.filter((s) => s.entries.length > 0);
}

// IPv4/IPv6 addresses and CIDRs, possibly comma-joined: digits, hex, dots, colons, slashes.
const ADDRESSISH = /^[0-9a-f.:/,\[\]]+$/i;
