// Typed views of response payloads. Lenient on purpose (see the protocol reference §3,
// §4.4, §11): errorCode may be missing, lists may come bare, roles as strings or numbers.
import { num, record, str } from "./_json.ts";
import { parseIncomingMessage } from "./incoming_message.ts";
import {
  CHAT_ROLES,
  type ChatHistory,
  type ChatInfo,
  type ChatRole,
  type HistoryMessage,
  type Participant,
  type SentMessage,
} from "./types.ts";

/** The `errorCode` of a response payload, 0 when absent (success). */
export function errorCodeOf(payload: unknown): { code: number; description?: string } {
  const p = record(payload);
  const code = num(p.errorCode, 0);
  const description = typeof p.errorDescription === "string" ? p.errorDescription : undefined;
  return description === undefined ? { code } : { code, description };
}

export function parseSentMessage(payload: unknown, chatId: string, now: () => number): SentMessage {
  const p = record(payload);
  // Parsed as the envelope's (incoming_message.ts), so getMessageById's answer compares equal.
  const t = num(p.timestamp, 0);
  const serverTime = t > 0 ? t : null;
  return {
    chatId: str(p.chatId, chatId) || chatId,
    messageId: str(p.messageId),
    timestamp: serverTime ?? now(),
    serverTime,
  };
}

export function parseChatInfo(payload: unknown, chatId: string): ChatInfo {
  const p = record(payload);
  return {
    chatId: str(p.chatId, chatId) || chatId,
    title: str(p.title),
    chatType: num(p.chatType, 0),
  };
}

/**
 * A role from its string name or its number (0…6, the docs' enum order). Unknown values
 * become `user`, the least privileged role, so a permission check fails closed.
 */
export function normalizeRole(v: unknown): ChatRole {
  const n = typeof v === "number"
    ? v
    : typeof v === "string" && /^\d+$/.test(v.trim())
    ? Number(v)
    : NaN;
  if (Number.isInteger(n)) return CHAT_ROLES[n] ?? "user";
  if (typeof v === "string") {
    const s = v.trim().toLowerCase();
    const found = CHAT_ROLES.find((r) => r === s);
    if (found) return found;
  }
  return "user";
}

/** One page of participants; `{participants:[…]}` or a bare array. */
export function parseParticipantsPage(payload: unknown): Participant[] {
  const list = Array.isArray(payload) ? payload : record(payload).participants;
  if (!Array.isArray(list)) return [];
  const out: Participant[] = [];
  for (const item of list) {
    const p = record(item);
    const userId = str(p.userId ?? p.id);
    if (userId) out.push({ userId, role: normalizeRole(p.role) });
  }
  return out;
}

/** Envelope type of a file message (protocol reference §5.2). */
const ATTACHMENT = 202;

/**
 * A `getChatHistory` answer, `{chatId, count, messages:[envelope…]}` (SDK 1.5
 * `types/responses/get_chat_history_response.py`), oldest first. The order TrueConf answers in
 * is not documented: TrueConf's own Hermes plugin sorts the page by `(box.id, box.position)`
 * before use (its ADR 0007), so it is sorted here by `box.id`, then timestamp. Envelopes that
 * name their chat only in `chat` (SDK 1.5) or not at all are of the chat asked for; entries
 * without a message id are left out.
 */
export function parseChatHistory(payload: unknown, chatId: string): ChatHistory {
  const p = record(payload);
  const list = Array.isArray(p.messages) ? p.messages : [];
  const messages: HistoryMessage[] = [];
  for (const item of list) {
    const env = record(item);
    const msg = parseIncomingMessage({ chatId, ...env });
    if (!msg) continue;
    const content = record(env.content);
    messages.push({
      ...msg,
      box: num(record(env.box).id, 0),
      file: msg.type === ATTACHMENT
        ? { name: str(content.name), size: num(content.size, -1) }
        : null,
    });
  }
  messages.sort((a, b) => a.box - b.box || a.timestamp - b.timestamp);
  return { chatId: str(p.chatId, chatId) || chatId, messages };
}
