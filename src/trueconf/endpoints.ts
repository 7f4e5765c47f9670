/**
 * URLs of a TrueConf server: one host:port serves OAuth, the bot socket and uploads.
 *
 * @module
 */
import type { TrueConfEndpoint } from "./types.ts";

/** Path of the bot WebSocket (servers accept it with and without a trailing slash). */
export const CHAT_BOT_PATH = "/websocket/chat_bot";
/** OAuth token endpoint (password grant). */
export const OAUTH_PATH = "/bridge/api/client/v1/oauth/token";
/** HTTP file upload endpoint (step 2 of sending a file). */
export const UPLOAD_PATH = "/bridge/api/client/v1/files";

/**
 * The HTTP base and socket URL of a server. The port is always written, as the Python
 * SDK does against real servers; IPv6 literals get brackets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   trueConfUrls({ server: "tc.example.com", https: true, port: 443 }).wsUrl,
 *   "wss://tc.example.com:443/websocket/chat_bot",
 * );
 * ```
 */
export function trueConfUrls(
  e: Pick<TrueConfEndpoint, "server" | "https" | "port">,
): { httpBase: string; wsUrl: string } {
  if (e.server.includes("://") || e.server.includes("/")) {
    throw new TypeError(
      `TrueConf server must be a host name without scheme or path, got "${e.server}"`,
    );
  }
  const host = e.server.includes(":") && !e.server.startsWith("[") ? `[${e.server}]` : e.server;
  const hostPort = `${host}:${e.port}`;
  return {
    httpBase: `${e.https ? "https" : "http"}://${hostPort}`,
    wsUrl: `${e.https ? "wss" : "ws"}://${hostPort}${CHAT_BOT_PATH}`,
  };
}
