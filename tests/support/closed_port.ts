/**
 * A TCP port on 127.0.0.1 that refuses connections, for tests of "connection refused".
 *
 * Binding port 0, closing and reusing the number is a race: the number is back in the
 * ephemeral range, and any process on a busy machine (the other suites sharing it) may listen
 * on it before the test connects. Ports below 1024 are outside that range (Linux hands out
 * 32768–60999 by default), so nothing takes one by chance; the first of a few that refuses a
 * connection now is used.
 *
 * @module
 */

/** Privileged ports no service of a test machine listens on (tcpmux, and unassigned ones). */
const CANDIDATES = [1, 3, 5, 47, 51, 61, 63];

/** A port on 127.0.0.1 with nothing listening, outside the ephemeral range. */
export async function closedPort(): Promise<number> {
  for (const port of CANDIDATES) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close(); // something listens here: try the next
    } catch (e) {
      if (e instanceof Deno.errors.ConnectionRefused) return port;
      throw e;
    }
  }
  throw new Error(`every candidate port listens on 127.0.0.1: ${CANDIDATES.join(", ")}`);
}
