/**
 * Port numbers for a test server that closes its listener and opens it again on the same port
 * (the fake TrueConf's `refuseConnections`: a server that goes away and comes back where the bot
 * expects it).
 *
 * A port the kernel handed out for `port: 0` lies in the ephemeral range (32768–60999 on Linux
 * by default), the same range every outgoing connection on the machine takes its local port
 * from. While the listener is closed, any socket of another process (the other suites sharing a
 * CI machine) may take the number and keep it for as long as its connection lives; reopening
 * then fails with AddrInUse (seen in a clean-clone CI run beside three other suites, after the
 * fake had already retried for 10 s). A number below the ephemeral range is never handed out by
 * chance: only a listener that names it can hold it.
 *
 * @module
 */

/** Where random candidates are drawn from: above the usual service ports, below ephemeral. */
const LOWEST = 20_000;

/** The first port of the kernel's ephemeral range (Linux), 32768 if it cannot be read. */
function ephemeralStart(): number {
  try {
    const first = Number(
      Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").split(/\s+/)[0],
    );
    return Number.isInteger(first) && first > LOWEST + 1000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * Runs `listen` on a random port outside the ephemeral range, trying other numbers while one is
 * taken, and returns what it returned; falls back to `listen(0)` if 50 numbers are taken.
 */
export function listenOnSteadyPort<T>(listen: (port: number) => T): T {
  const span = ephemeralStart() - LOWEST;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      return listen(LOWEST + Math.floor(Math.random() * span));
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse)) throw e;
    }
  }
  return listen(0);
}
