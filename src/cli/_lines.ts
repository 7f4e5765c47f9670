// Splits a text stream into lines (without their \n or \r\n), the last one even without a
// newline. A tiny stand-in for std's TextLineStream (JSR is out of reach here).
export class TextLineStream extends TransformStream<string, string> {
  constructor() {
    let rest = "";
    super({
      transform(chunk, controller) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop() ?? "";
        for (const p of parts) controller.enqueue(p.endsWith("\r") ? p.slice(0, -1) : p);
      },
      flush(controller) {
        if (rest) controller.enqueue(rest);
      },
    });
  }
}
