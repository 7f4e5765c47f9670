/**
 * The request object the bot's HTTP server hands to the app: what the app reads of a request
 * (method, URL, headers) without the cost of a fetch `Request` and `Headers` per request (a URL
 * parse, an `AbortSignal`, a validated and sorted header list: together about a tenth of what a
 * delivery allocated, measured with V8's heap profiler at c=64). Both are instances of the fetch
 * classes by prototype, so `instanceof` holds and Hono reads them as it reads its Node
 * adapter's light requests; a member they lack (`signal`, `clone()`) throws, which no code of
 * ours asks for. The body is not here: it is read through `incomingBody` (http_server.ts).
 *
 * @module
 */
import { lowerCase } from "../http1/mod.ts";

/** A request's headers, read-only, over the parser's map of lower-case names. */
export class ServerHeaders {
  readonly #map: Map<string, string>;

  /** Headers over `map` (lower-case names; repeated fields already joined). */
  constructor(map: Map<string, string>) {
    this.#map = map;
  }

  /** The value of `name`, or null. */
  get(name: string): string | null {
    return this.#map.get(lowerCase(name)) ?? null;
  }

  /** Whether `name` was sent. */
  has(name: string): boolean {
    return this.#map.has(lowerCase(name));
  }

  /**
   * The header names (lower case) in the order they came, without the sort {@link keys} does:
   * for a check that looks for a few names among a request's own (the ntfy headers).
   */
  names(): MapIterator<string> {
    return this.#map.keys();
  }

  /** No request sets cookies. */
  getSetCookie(): string[] {
    return [];
  }

  /** Calls `fn` with each header, by name in order (as fetch's `Headers`). */
  forEach(fn: (value: string, name: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) {
      fn.call(thisArg, value, name, this as unknown as Headers);
    }
  }

  /** Each header as [name, value], by name in order. */
  *entries(): IterableIterator<[string, string]> {
    const names = [...this.#map.keys()].sort();
    for (const name of names) yield [name, this.#map.get(name)!];
  }

  /** The header names, in order. */
  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  /** The header values, by name in order. */
  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  /** Same as {@link entries}. */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** A request's headers cannot be changed (fetch's "immutable" guard). */
  set(): never {
    throw new TypeError("Headers are immutable.");
  }

  /** See {@link set}. */
  append(): never {
    throw new TypeError("Headers are immutable.");
  }

  /** See {@link set}. */
  delete(): never {
    throw new TypeError("Headers are immutable.");
  }
}
Object.setPrototypeOf(ServerHeaders.prototype, Headers.prototype);

/** What the app reads of a request of the bot's server. */
export class ServerRequest<T = unknown> {
  /** The HTTP method. */
  readonly method: string;
  /** `http://<Host><path>`. */
  readonly url: string;
  /** The request's headers. */
  readonly headers: Headers;
  /** Always null: the body is read through `incomingBody`. */
  readonly body = null;
  /** Always false (see {@link body}). */
  readonly bodyUsed = false;
  /** The body still on the connection (http_server.ts's `IncomingBody`), or null for none. */
  readonly incoming: T | null;

  /** A request of `method` for `url` with `headers`, whose body is `incoming`. */
  constructor(method: string, url: string, headers: Headers, incoming: T | null) {
    this.method = method;
    this.url = url;
    this.headers = headers;
    this.incoming = incoming;
  }
}
Object.setPrototypeOf(ServerRequest.prototype, Request.prototype);
