/**
 * The JSON answers of the hook routes, as the bot's HTTP server writes them: a status, a JSON
 * text and the few headers the app set, without a fetch `Response` per request.
 *
 * Why: a `Response` built by Hono's `c.json` costs its `Headers` (a validated, sorted list), its
 * body's extraction, and, on the way out, `response.bytes()` through Deno's body machinery (a
 * promise) and `headers.forEach`: about 6 % of the bot's CPU per delivery at c=64 in
 * `bench/ab.ts` (issue 16), for an answer of some 60 bytes. A {@link JsonAnswer} is an instance
 * of `Response` by prototype (as `ServerRequest` is of `Request`), so Hono, the middleware and
 * the tests (`app.request(…)`, then `res.json()`) read it as one; the server
 * (`http_server.ts`) writes its head and text directly. Its `headers` become a real `Headers`
 * the first time something reads them, and from then on that object is what is written, so a
 * header added to it later is not lost.
 *
 * @module
 */

const ENCODER = new TextEncoder();

/** A status and JSON text, a `Response` by prototype (see the module doc). */
export class JsonAnswer {
  /** The HTTP status. */
  readonly status: number;
  /** The JSON text of the body (`text()` is the `Response` method). */
  readonly bodyText: string;
  readonly #extra: readonly (readonly [string, string])[];
  #headers: Headers | undefined;

  /** An answer of `status` with the JSON `text` and `extra` headers beside its content type. */
  constructor(text: string, status: number, extra: readonly (readonly [string, string])[] = []) {
    this.bodyText = text;
    this.status = status;
    this.#extra = extra;
  }

  /** The headers as a fetch `Headers`, built on first use (the server does not need it). */
  get headers(): Headers {
    if (this.#headers === undefined) {
      const headers = new Headers({ "content-type": "application/json" });
      for (const [name, value] of this.#extra) headers.set(name, value);
      this.#headers = headers;
    }
    return this.#headers;
  }

  /**
   * What the server writes after the status line: the headers as given, or null once
   * {@link headers} was read (then that `Headers` holds them, with any change made to it).
   */
  get plainHeaders(): readonly (readonly [string, string])[] | null {
    return this.#headers === undefined ? this.#extra : null;
  }

  /** The body's bytes (UTF-8). */
  encoded(): Uint8Array {
    return ENCODER.encode(this.bodyText);
  }

  /** Whether the status is 2xx. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** No reason phrase is kept, as with a `Response` built without one. */
  get statusText(): string {
    return "";
  }

  /** Always `"default"`, as a `Response` built by code. */
  get type(): ResponseType {
    return "default";
  }

  /** Always empty, as a `Response` built by code. */
  get url(): string {
    return "";
  }

  /** Always false. */
  get redirected(): boolean {
    return false;
  }

  /** The body as a stream (a copy that a `new Response(answer.body, answer)` can take). */
  get body(): ReadableStream<Uint8Array<ArrayBuffer>> {
    const bytes = this.encoded() as Uint8Array<ArrayBuffer>;
    return new ReadableStream({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
  }

  /** Never true: each read gets the whole text again. */
  get bodyUsed(): boolean {
    return false;
  }

  /** The JSON text. */
  text(): Promise<string> {
    return Promise.resolve(this.bodyText);
  }

  /** The body parsed. */
  json(): Promise<unknown> {
    return Promise.resolve(JSON.parse(this.bodyText));
  }

  /** The body as bytes. */
  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return Promise.resolve(this.encoded() as Uint8Array<ArrayBuffer>);
  }

  /** The body as an `ArrayBuffer`. */
  arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(this.encoded().buffer as ArrayBuffer);
  }

  /** The body as a `Blob` of type `application/json`. */
  blob(): Promise<Blob> {
    return Promise.resolve(new Blob([this.bodyText], { type: "application/json" }));
  }

  /** A copy with its own headers. */
  clone(): JsonAnswer {
    return new JsonAnswer(this.bodyText, this.status, [...this.headers]);
  }
}
Object.setPrototypeOf(JsonAnswer.prototype, Response.prototype);
