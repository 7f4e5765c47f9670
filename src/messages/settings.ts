/**
 * The per-hook settings of living messages and their chat commands' words:
 * `/webhook_alerts <name> edit|reply|new` and `/webhook_mentions <name> all|people|none`.
 * Stored in the hook record's `settings` (absent = the default). The command handler
 * (src/hooks/commands.ts) finds the hook and checks permissions; the meaning lives here.
 *
 * @module
 */

/** One living-messages setting. */
export interface LivingSetting {
  /** Key in `HookRecord.settings`. */
  readonly key: "alerts" | "mentions";
  /** Allowed values, the default first. */
  readonly values: readonly string[];
  /** What each value does, for the answer. */
  readonly meaning: Readonly<Record<string, string>>;
}

/** Settings by command name. */
export const LIVING_SETTINGS: Readonly<
  Record<"webhook_alerts" | "webhook_mentions", LivingSetting>
> = {
  webhook_alerts: {
    key: "alerts",
    values: ["edit", "reply", "new"],
    meaning: {
      edit:
        "one message per alert group or CI run, edited while it fires; resolving posts a short reply",
      reply: "later notifications of a group are posted as replies to its first message",
      new: "every notification is a new message",
    },
  },
  webhook_mentions: {
    key: "mentions",
    values: ["people", "all", "none"],
    meaning: {
      people: "@login mentions of chat members notify them; @all/@here stay plain text",
      all: "@login mentions notify, and @all/@here/@channel notify everyone",
      none: "no mention notifies; they stay plain text",
    },
  },
};

/** The value of a setting on a hook (its default when unset or unknown). */
export function settingOf(
  settings: Readonly<Record<string, string>> | undefined,
  s: LivingSetting,
): string {
  const v = settings?.[s.key];
  return v !== undefined && s.values.includes(v) ? v : s.values[0]!;
}

/** The value word of a command's arguments, or null when it is not one of the setting's. */
export function parseSettingWord(word: string, s: LivingSetting): string | null {
  const w = word.trim().toLowerCase();
  return s.values.includes(w) ? w : null;
}

/** `<name> edit|reply|new` for the usage line. */
export function settingExample(s: LivingSetting): string {
  return `<name> ${s.values.join("|")}`;
}

/** The answer after a change (TrueConf HTML; `name` already escaped). */
export function settingChanged(escapedName: string, s: LivingSetting, value: string): string {
  return `⚙️ Webhook <b>${escapedName}</b>: ${s.key} = <b>${value}</b> — ${s.meaning[value]}.`;
}
