/**
 * URL buttons under a bot's text message (TrueConf Server 5.5.6+). Facts from the official
 * Python SDK 1.5 (`trueconf/types/keyboard.py`, `trueconf/enums/button.py`, commit 01c95e7):
 * buttons travel in `content.buttons` of `sendMessage`/`editMessage` as rows of objects
 * `{type: "url", label, url}`; at most 8 rows, 8 buttons a row and 64 in all; a label has
 * 1–32 characters; a URL 8–8095 ASCII characters with scheme http, https, mailto or
 * trueconf. "Buttons can only be attached to plain text messages, and only chatbots can
 * send messages with buttons" (SDK `docs/en/learn/buttons.md`). `editMessage` overwrites
 * the whole content, so an edit without `buttons` removes them.
 *
 * @module
 */

/** One URL button as callers give it. */
export interface UrlButton {
  /** Label, 1–32 characters. */
  text: string;
  /** http, https, mailto or trueconf URL, 8–8095 ASCII characters. */
  url: string;
}

/** Most rows, buttons a row and buttons in all (SDK 1.5 `MAX_INLINE_KEYBOARD_*`). */
export const BUTTON_LIMITS = { rows: 8, perRow: 8, total: 64, label: 32 } as const;

/** The first server version that shows buttons. */
export const BUTTONS_SINCE = "5.5.6";

const SCHEMES = new Set(["http:", "https:", "mailto:", "trueconf:"]);

/**
 * Why `url` cannot be a button URL, or `null` when it can.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(buttonUrlProblem("https://grafana.example.com/d/x"), null);
 * assert.match(buttonUrlProblem("javascript:alert(1)") ?? "", /scheme/);
 * ```
 */
export function buttonUrlProblem(url: string): string | null {
  if (url.length < 8 || url.length > 8095) return "a button URL has 8 to 8095 characters";
  // deno-lint-ignore no-control-regex
  if (!/^[\x00-\x7f]*$/.test(url)) return "a button URL must be ASCII (percent-encode the rest)";
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    return "not a URL";
  }
  return SCHEMES.has(scheme) ? null : "the URL scheme must be http, https, mailto or trueconf";
}

/**
 * Why `rows` cannot be sent as they are, or `null` when they can. The client checks this
 * before sending, so a bad button is a clear error here and not a refusal from the server.
 */
export function buttonRowsProblem(rows: readonly (readonly UrlButton[])[]): string | null {
  if (rows.length > BUTTON_LIMITS.rows) return `at most ${BUTTON_LIMITS.rows} rows of buttons`;
  let total = 0;
  for (const row of rows) {
    if (row.length > BUTTON_LIMITS.perRow) {
      return `at most ${BUTTON_LIMITS.perRow} buttons in a row`;
    }
    total += row.length;
    for (const b of row) {
      const n = [...b.text].length;
      if (n < 1 || n > BUTTON_LIMITS.label) {
        return `a button label has 1 to ${BUTTON_LIMITS.label} characters`;
      }
      const bad = buttonUrlProblem(b.url);
      if (bad) return bad;
    }
  }
  return total > BUTTON_LIMITS.total ? `at most ${BUTTON_LIMITS.total} buttons` : null;
}

/** The wire form of `rows` for `content.buttons`. */
export function buttonsWire(
  rows: readonly (readonly UrlButton[])[],
): { type: "url"; label: string; url: string }[][] {
  return rows.filter((r) => r.length > 0).map((row) =>
    row.map((b) => ({ type: "url" as const, label: b.text, url: b.url }))
  );
}

/**
 * Whether a server of `version` (as `GET /api/v4/server` reports it, e.g. "5.5.6.10902")
 * shows URL buttons; `null` (unknown) counts as no, so older servers keep inline links.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(serverHasButtons("5.5.6.10902"), true);
 * assert.equal(serverHasButtons("5.5.3.10765"), false);
 * assert.equal(serverHasButtons("5.10.0"), true);
 * assert.equal(serverHasButtons(null), false);
 * ```
 */
export function serverHasButtons(version: string | null): boolean {
  return version !== null && compareVersions(version, BUTTONS_SINCE) >= 0;
}

/** Compares dotted versions numerically ("5.10" > "5.9"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((x) => parseInt(x, 10) || 0);
  const pb = b.split(".").map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
