// Shared helpers of the TrueConf client tests: a fake + client pair with fast timings.
import { createLogger, type Logger } from "../../src/log.ts";
import { TrueConfClient, type TrueConfClientOptions } from "../../src/trueconf/mod.ts";
import { FakeTrueConf } from "../support/fake_trueconf.ts";
import {
  assertProtocolKept,
  loopbackClientOptions,
  TEST_ALICE as ALICE,
  TEST_BOT as BOT,
} from "../support/bot_with_fake.ts";

export { ALICE, BOT };
export const CREDS = { username: BOT.login, password: BOT.password };

export type FakeOptions = NonNullable<Parameters<typeof FakeTrueConf.start>[0]>;

/**
 * Client options for a fake on loopback, with timings small enough for tests. The request and
 * pong timeouts are 10 s: a test that wants a timeout sets its own (100–300 ms), and the rest
 * must not see one because a loaded machine kept the client or the fake off the CPU for a
 * second or two (a false timeout fails a request, or ends the link and reconnects).
 */
export function clientOptions(
  fake: FakeTrueConf,
  extra: Partial<TrueConfClientOptions> = {},
): TrueConfClientOptions {
  return loopbackClientOptions(fake, BOT, {
    requestTimeoutMs: 10_000,
    pingIntervalMs: 5_000,
    pongTimeoutMs: 10_000,
    connectTimeoutMs: 2_000,
    backoff: { initialMs: 20, maxMs: 200 },
    tokenCheckIntervalMs: 50,
    ...extra,
  });
}

/** Starts a fake (bot + alice) and a client; always closes both. */
export async function withClient(
  fakeOpts: FakeOptions,
  clientExtra: Partial<TrueConfClientOptions>,
  fn: (fake: FakeTrueConf, client: TrueConfClient) => Promise<void>,
  start = true,
): Promise<void> {
  const fake = await FakeTrueConf.start({ bot: BOT, users: [ALICE], ...fakeOpts });
  const client = new TrueConfClient(clientOptions(fake, clientExtra));
  try {
    if (start) {
      client.start();
      await client.ready(3_000);
    }
    await fn(fake, client);
  } finally {
    await client.close();
    await fake.close();
  }
  assertProtocolKept(fake);
}

export { waitUntil } from "../support/wait.ts";

/** A logger that keeps lines for assertions. */
export function memoryLogger(
  level: "debug" | "info" | "warn" = "warn",
): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: createLogger({ level, write: (l) => lines.push(JSON.parse(l)) }), lines };
}
