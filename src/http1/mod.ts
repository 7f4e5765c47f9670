/**
 * HTTP/1.1 on the wire (RFC 9112), written once for both directions: the bot's own server
 * (src/ingest/http_server.ts, docs/limits.md says why it is not `Deno.serve`) reads requests
 * with it, and the TrueConf client (src/trueconf/_http1_client.ts, why not `fetch`: there)
 * reads answers with the same head scan and chunked decoder.
 *
 * @module
 */

export {
  ChunkedDecoder,
  FramingError,
  headEnd,
  latin1,
  lowerCase,
  MAX_HEAD_BYTES,
  parseHead,
  type RequestHead,
} from "./framing.ts";
