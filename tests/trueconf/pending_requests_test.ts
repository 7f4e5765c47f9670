// The socket's table of requests in flight (src/trueconf/_pending_requests.ts): a slot per id's
// low bits, and a map beside for the ones whose slot an older request still holds. Whatever the
// order answers come in, each finds its own request, once.
import assert from "node:assert/strict";
import { PendingRequests } from "../../src/trueconf/_pending_requests.ts";

Deno.test("3,000 requests in flight (three ids to a slot), answered in any order: each found once", () => {
  const table = new PendingRequests<{ id: number }>();
  // Near the uint32 end, as a long-lived socket's ids are; far past the slots' count.
  const ids = Array.from({ length: 3_000 }, (_, i) => 0xffff_f000 + i);
  for (const id of ids) table.set({ id });
  assert.equal(table.size, 3_000);
  // A deterministic shuffle: answers arrive out of order.
  const order = [...ids].sort((a, b) => ((a * 2654435761) >>> 0) - ((b * 2654435761) >>> 0));
  for (const [n, id] of order.entries()) {
    assert.equal(table.get(id)?.id, id);
    assert.equal(table.delete(id), true);
    assert.equal(table.delete(id), false, "an answer twice is the second time no request");
    assert.equal(table.get(id), undefined);
    assert.equal(table.size, 3_000 - n - 1);
  }
  assert.deepEqual([...table.values()], []);
});

Deno.test("a sweep may delete the request it is given, slot or beside; clear forgets all", () => {
  const table = new PendingRequests<{ id: number; late: boolean }>();
  for (let id = 1; id <= 2_100; id++) table.set({ id, late: id % 3 === 0 });
  for (const r of table.values()) if (r.late) table.delete(r.id);
  assert.equal(table.size, 1_400);
  assert.ok([...table.values()].every((r) => !r.late));
  assert.equal(table.get(1_025)?.id, 1_025, "kept beside: slot 1 holds id 1");
  table.clear();
  assert.equal(table.size, 0);
  assert.equal(table.get(1), undefined);
  assert.equal(table.get(1_025), undefined);
});
