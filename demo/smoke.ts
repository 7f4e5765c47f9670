/**
 * `deno task demo --smoke`: instead of waiting for the newcomer's curl, the demo posts a
 * text, a photo and a document to its own hook over real HTTP and checks each one reached
 * the simulated chat. Proves the whole path (HTTP → queue → TrueConf client → fake) in one
 * command, for CI and for `tests/demo_test.ts`.
 *
 * @module
 */
import { PhotonImage } from "@cf-wasm/photon";
import type { FakeTrueConf, SentRecord } from "../tests/support/fake_trueconf.ts";

/** What {@link runSmoke} needs from the running demo. */
export interface SmokeTarget {
  readonly hookUrl: string;
  readonly fake: FakeTrueConf;
  /** The group chat the hook posts into. */
  readonly chatId: string;
  /** How long each post may take to show up in the chat. */
  readonly timeoutMs?: number;
}

/** One smoke step's outcome. */
export interface SmokeStep {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly ms: number;
}

/** Posts each kind of message once; resolves with one step per post (never throws). */
export async function runSmoke(target: SmokeTarget): Promise<SmokeStep[]> {
  const marker = `smoke ${crypto.randomUUID().slice(0, 8)}`;
  const steps: SmokeStep[] = [];
  const png = bluePng(64, 48);

  steps.push(
    await step(target, "text", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: `${marker}: hello from --smoke` }),
    }, (r) => r.kind === "text" && (r.text ?? "").includes(marker)),
  );

  const photo = new FormData();
  photo.set("text", `${marker}: photo`);
  photo.set("image", new File([png], "smoke.png", { type: "image/png" }));
  steps.push(
    await step(
      target,
      "photo",
      { body: photo },
      (r) => r.kind === "photo" && r.file?.name === "smoke.png" && r.preview !== undefined,
    ),
  );

  const doc = new FormData();
  doc.set("file", new File([`${marker}\n`], "smoke.txt", { type: "text/plain" }));
  steps.push(
    await step(
      target,
      "document",
      { body: doc },
      (r) => r.kind === "document" && r.file?.name === "smoke.txt",
    ),
  );
  return steps;
}

async function step(
  target: SmokeTarget,
  name: string,
  init: RequestInit,
  arrived: (r: SentRecord) => boolean,
): Promise<SmokeStep> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  let status = 0;
  let body = "";
  try {
    const res = await fetch(target.hookUrl, { method: "POST", ...init });
    status = res.status;
    body = await res.text();
  } catch (e) {
    return {
      name,
      ok: false,
      detail: `POST failed: ${e instanceof Error ? e.message : e}`,
      ms: ms(),
    };
  }
  if (status !== 200 && status !== 202) {
    return { name, ok: false, detail: `HTTP ${status}: ${body.slice(0, 300)}`, ms: ms() };
  }
  try {
    await target.fake.waitFor(
      () => target.fake.messagesIn(target.chatId).some(arrived),
      target.timeoutMs ?? 10_000,
    );
  } catch (e) {
    return {
      name,
      ok: false,
      detail: `HTTP ${status}, but it never reached the chat: ${
        e instanceof Error ? e.message : e
      }`,
      ms: ms(),
    };
  }
  return { name, ok: true, detail: `HTTP ${status}, arrived in the chat`, ms: ms() };
}

// Made on the fly so the repository carries no binary fixture.
function bluePng(width: number, height: number): Uint8Array<ArrayBuffer> {
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < rgba.length; i += 4) rgba.set([30, 90, 200, 255], i);
  const img = new PhotonImage(rgba, width, height);
  try {
    return new Uint8Array(img.get_bytes());
  } finally {
    img.free();
  }
}
