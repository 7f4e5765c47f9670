/**
 * Text helpers for the adapters, private to the formats folder: Slack mrkdwn → TrueConf
 * Markdown, plus generic Markdown escaping and link building that other adapters may import.
 *
 * TrueConf Markdown knows `**bold**`/`__bold__`, `*italic*`/`_italic_`, `~~strike~~`,
 * `[text](url)` and `>` quotes. Backslash escapes are assumed to work as in CommonMark: the
 * official Python SDK's `markdown_decoration.escape` emits them for the same characters.
 *
 * @module
 */

/** Characters that start or end TrueConf Markdown markup. */
const MARKDOWN_SPECIAL = /[\\*_~`[\]]/g;

/** Makes plain text safe to embed in a Markdown message (backslash-escapes markup characters). */
export function escapeMarkdown(text: string): string {
  return text.replace(MARKDOWN_SPECIAL, (ch) => `\\${ch}`);
}

/**
 * Schemes a rendered link may open: web, mail, phone and TrueConf addresses. Others
 * (`javascript:`, `data:`, `file:`…) stay text, as Slack and Discord show them.
 */
const LINK_SCHEME = /^(https?|ftp|mailto|tel|trueconf):/i;

/** A Markdown link to a scheme outside {@link LINK_SCHEME} (one level of parentheses in it). */
const UNSAFE_LINK =
  /\[([^\]\n]*)\]\(\s*(?!(?:https?|ftp|mailto|tel|trueconf):)[a-z][a-z0-9+.-]*:(?:[^()\n]|\([^()\n]*\))*\)/gi;

/**
 * Markdown a sender wrote (Mattermost and Teams text, Discord content, Markdown inside Slack
 * text) with its links to other schemes (`[x](javascript:…)`) reduced to their labels, as
 * {@link markdownLink} makes none.
 */
export function dropUnsafeLinks(markdown: string): string {
  return markdown.includes("](") ? markdown.replace(UNSAFE_LINK, "$1") : markdown;
}

/**
 * A Markdown link. `label` must already be Markdown (escape plain text first); brackets in it
 * are escaped so they cannot end the label early. Spaces and parentheses in the URL are
 * percent-encoded so they cannot end the destination early. A URL whose scheme is not in
 * {@link LINK_SCHEME} gives the label alone (or the URL as escaped text): no link.
 */
export function markdownLink(label: string, url: string): string {
  if (!LINK_SCHEME.test(url.trim())) return label !== "" ? label : escapeMarkdown(url);
  const safeUrl = url.replace(
    /[ ()<>]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  const safeLabel = label.replace(/(?<!\\)([[\]])/g, "\\$1");
  return safeLabel === "" ? safeUrl : `[${safeLabel}](${safeUrl})`;
}

/** True for an absolute `http:` or `https:` URL (syntax only; reachability is checked elsewhere). */
export function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\//i.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/** Slack `&amp; &lt; &gt;` → `& < >`. Slack escapes only these three. */
export function unescapeSlackEntities(text: string): string {
  return text.replace(
    /&(amp|lt|gt);/g,
    (_, name: string) => (name === "amp" ? "&" : name === "lt" ? "<" : ">"),
  );
}

/** Options for {@link slackToMarkdown}. */
export interface SlackTranslateOptions {
  /**
   * Translate Slack emphasis (`*b*` → `**b**`, `~s~` → `~~s~~`). True for Slack mrkdwn; false
   * for Mattermost, whose text already is Markdown (there `*x*` means italic).
   */
  readonly emphasis: boolean;
}

// Private-use code points mark where translated `<…>` tokens go back in, so the emphasis pass
// cannot touch URLs (`a_b_c`) and `*<url|x>*` still reads as bold around a link.
const HOLE_OPEN = "\uE000";
const HOLE_CLOSE = "\uE001";
const HOLE = /\uE000(\d+)\uE001/g;
const CODE = /```[\s\S]*?```|`[^`\n]+`/g;

/**
 * Translates Slack mrkdwn to TrueConf Markdown: `<url|label>` → `[label](url)`, `<url>` → url,
 * `<mailto:a|b>`, `<@U1|name>` → `@name`, `<#C1|name>` → `#name`, `<!here>` → `@here`,
 * `<!channel>` → `@channel`, `<!everyone>` → `@all`, `<!subteam^ID|@team>` → `@team`,
 * `<!date^…|fallback>` → fallback, entities unescaped, common emoji shortcodes to emoji, and
 * (with `emphasis`) `*b*` → `**b**`, `~s~` → `~~s~~` (`_i_` is already Markdown italic).
 * Code spans and ``` blocks are kept verbatim apart from entities.
 */
export function slackToMarkdown(
  text: string,
  options: SlackTranslateOptions = { emphasis: true },
): string {
  const clean = text.replace(/[\uE000\uE001]/g, "").replace(/\r\n?/g, "\n");
  let out = "";
  let last = 0;
  for (const match of clean.matchAll(CODE)) {
    out += translateProse(clean.slice(last, match.index), options);
    out += unescapeSlackEntities(match[0]);
    last = match.index + match[0].length;
  }
  return out + translateProse(clean.slice(last), options);
}

function translateProse(text: string, options: SlackTranslateOptions): string {
  if (text === "") return text;
  const holes: string[] = [];
  let out = text.replace(/<([^<>\n]+)>/g, (whole, inner: string) => {
    const translated = translateToken(inner);
    if (translated === null) return whole;
    holes.push(translated);
    return `${HOLE_OPEN}${holes.length - 1}${HOLE_CLOSE}`;
  });
  // Senders glue mentions together (Grafana: `<!subteam^a><!subteam^b> <@u1><@u2>`); Slack
  // shows them as separate pills, so keep them apart instead of `@a@b`.
  out = out.replace(
    /\uE000(\d+)\uE001(?=\uE000(\d+)\uE001)/g,
    (whole, a: string, b: string) =>
      isMention(holes[Number(a)]) && isMention(holes[Number(b)]) ? `${whole} ` : whole,
  );
  out = unescapeSlackEntities(out);
  if (options.emphasis) {
    out = out
      .replace(
        /(?<![\p{L}\p{N}*\\])\*(?![\s*])([^*\n]+?)(?<![\s\\])\*(?![\p{L}\p{N}*])/gu,
        "**$1**",
      )
      .replace(/(?<![\p{L}\p{N}~\\])~(?![\s~])([^~\n]+?)(?<![\s\\])~(?![\p{L}\p{N}~])/gu, "~~$1~~");
  }
  out = dropUnsafeLinks(replaceEmojiShortcodes(out));
  return out.replace(HOLE, (_, index: string) => holes[Number(index)] ?? "");
}

function isMention(token: string | undefined): boolean {
  return token !== undefined && /^[@#]\S/.test(token);
}

/** A host name with a dot, an optional port and path: what Slack links without a scheme. */
const BARE_HOST =
  /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+(?::\d{1,5})?(?:[/?#]\S*)?$/i;

/** One `<…>` token (without the brackets) → Markdown, or null to leave it untouched. */
function translateToken(inner: string): string | null {
  const bar = inner.indexOf("|");
  const target = unescapeSlackEntities(bar < 0 ? inner : inner.slice(0, bar));
  const label = bar < 0 ? "" : unescapeSlackEntities(inner.slice(bar + 1));
  if (target.startsWith("@")) return `@${label.replace(/^@/, "") || target.slice(1)}`;
  if (target.startsWith("#")) return `#${label.replace(/^#/, "") || target.slice(1)}`;
  if (target.startsWith("!")) return translateSpecial(target.slice(1), label);
  // `<example.com|label>`: Slack links a bare host name (its own Block Kit templates write
  // them) to http://. Checked first: `host.example:3000/x` would read as a scheme `host.example:`.
  if (BARE_HOST.test(target)) {
    return label === "" || label === target ? target : markdownLink(label, `http://${target}`);
  }
  // Anything else without a scheme stays as the sender wrote it.
  if (!/^[a-z][a-z0-9+.-]*:\S/i.test(target)) return null;
  if (/^mailto:/i.test(target) && (label === "" || label === target.slice(7))) {
    return target.slice(7);
  }
  if (label === "" || label === target) return target;
  return markdownLink(label, target);
}

function translateSpecial(command: string, label: string): string {
  const [name = "", ...args] = command.split("^");
  switch (name) {
    case "here":
      return "@here";
    case "channel":
      return "@channel";
    case "everyone":
      return "@all";
    case "subteam":
      // Without a label the group's handle is unknown here; its id still tells groups apart
      // (a bare "@team" for each made `@team@team` out of two groups).
      return `@${label.replace(/^@/, "") || args[0] || "team"}`;
    case "date": {
      if (label !== "") return label;
      const seconds = Number(args[0]);
      return Number.isFinite(seconds) ? formatEpoch(seconds) : command;
    }
    default:
      return label !== "" ? label : `@${name}`;
  }
}

/** Epoch seconds → `2024-05-01 12:00 UTC` (the chat has no per-reader time zone). */
export function formatEpoch(seconds: number): string {
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return String(seconds);
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** The shortcodes notifiers actually send; others stay as typed (readable anyway). */
const EMOJI: Readonly<Record<string, string>> = {
  white_check_mark: "✅",
  heavy_check_mark: "✔️",
  ballot_box_with_check: "☑️",
  x: "❌",
  heavy_multiplication_x: "✖️",
  warning: "⚠️",
  rotating_light: "🚨",
  fire: "🔥",
  boom: "💥",
  bell: "🔔",
  no_bell: "🔕",
  red_circle: "🔴",
  large_green_circle: "🟢",
  large_yellow_circle: "🟡",
  large_blue_circle: "🔵",
  large_orange_circle: "🟠",
  green_heart: "💚",
  broken_heart: "💔",
  information_source: "ℹ️",
  exclamation: "❗",
  question: "❓",
  rocket: "🚀",
  tada: "🎉",
  bug: "🐛",
  construction: "🚧",
  hourglass: "⌛",
  stopwatch: "⏱️",
  thumbsup: "👍",
  "+1": "👍",
  thumbsdown: "👎",
  "-1": "👎",
  eyes: "👀",
  zap: "⚡",
  skull: "💀",
  ok: "🆗",
  sos: "🆘",
  arrow_up: "⬆️",
  arrow_down: "⬇️",
  chart_with_upwards_trend: "📈",
  chart_with_downwards_trend: "📉",
  // Tags ntfy's documentation and senders use (ntfy shows these shortcodes as emoji).
  partying_face: "🥳",
  loudspeaker: "📢",
  computer: "💻",
  floppy_disk: "💾",
  package: "📦",
  no_entry: "⛔",
  no_entry_sign: "🚫",
  heart: "❤️",
  star: "⭐",
  sparkles: "✨",
  lock: "🔒",
  unlock: "🔓",
  key: "🔑",
  email: "📧",
  calendar: "📅",
  house: "🏠",
  cloud: "☁️",
  sunny: "☀️",
  snowflake: "❄️",
  battery: "🔋",
  electric_plug: "🔌",
  wrench: "🔧",
  hammer: "🔨",
  gear: "⚙️",
  hourglass_flowing_sand: "⏳",
  memo: "📝",
  mag: "🔍",
  link: "🔗",
  green_circle: "🟢",
  yellow_circle: "🟡",
  orange_circle: "🟠",
  blue_circle: "🔵",
  facepalm: "🤦",
  thinking: "🤔",
  smile: "😄",
  cry: "😢",
  robot: "🤖",
  ghost: "👻",
  bulb: "💡",
  shield: "🛡️",
  satellite: "📡",
  globe_with_meridians: "🌐",
  arrows_counterclockwise: "🔄",
  stop_sign: "🛑",
  checkered_flag: "🏁",
  trophy: "🏆",
  heavy_exclamation_mark: "❗",
  bangbang: "‼️",
  clipboard: "📋",
  pushpin: "📌",
  paperclip: "📎",
  cd: "💿",
  dvd: "📀",
  cloud_with_rain: "🌧️",
  thermometer: "🌡️",
  droplet: "💧",
  mailbox: "📫",
  camera: "📷",
  video_camera: "📹",
  door: "🚪",
  bath: "🛁",
  dog: "🐶",
  cat: "🐱",
  pill: "💊",
};

/** The emoji for a Slack shortcode name (`fire` → 🔥), when it is one notifiers use. */
export function emojiFor(name: string): string | undefined {
  return Object.hasOwn(EMOJI, name) ? EMOJI[name] : undefined;
}

/** `:fire:` → 🔥 for the shortcodes {@link emojiFor} knows; others stay as written. */
export function replaceEmojiShortcodes(text: string): string {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name: string) => emojiFor(name) ?? whole);
}
