import t from 'tap';
import { LazyHeap } from '../../src/acd/lazy-heap';

interface Member {
  readonly id: number;
  readonly key: number;
  live: boolean;
}

t.test('the lazy heap lists its live members in order while members die in place, and compaction keeps that', async (t) => {
  const heap = new LazyHeap<Member>((a, b) => a.key < b.key || (a.key === b.key && a.id < b.id), (m) => m.live);
  const members: Member[] = [];
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const expected = () => members.filter((m) => m.live).sort((a, b) => a.key - b.key || a.id - b.id).map((m) => m.id);
  for (let step = 0; step < 20_000; step++) {
    const r = random();
    if (r < 0.35 && members.length > 0) {
      members[Math.floor(random() * members.length)]!.live = false;
    } else if (r < 0.4) {
      const live = expected().length;
      if (heap.length > 2 * live) {
        heap.compact();
        t.equal(heap.length, live, `compaction at step ${step} keeps only the live`);
      }
    } else {
      const member = { id: step, key: Math.floor(random() * 1000), live: true };
      members.push(member);
      heap.push(member);
    }
    if (step % 500 === 0) {
      const order = expected();
      const walked: number[] = [];
      heap.walk((m) => walked.push(m.id) > 0);
      t.same(walked, order, `order at step ${step}`);
      const firstThree: number[] = [];
      heap.walk((m) => firstThree.push(m.id) < 3);
      t.same(firstThree, order.slice(0, 3), `walk stops when told, at step ${step}`);
      t.equal(heap.peek()?.id, order[0], `peek at step ${step}`);
    }
  }
});

t.test('peek drops dead members from the top, and an all-dead heap is empty', async (t) => {
  const heap = new LazyHeap<Member>((a, b) => a.key < b.key, (m) => m.live);
  const a = { id: 1, key: 1, live: true };
  const b = { id: 2, key: 2, live: true };
  heap.push(b);
  heap.push(a);
  a.live = false;
  t.equal(heap.peek(), b);
  t.equal(heap.length, 1);
  b.live = false;
  t.equal(heap.peek(), undefined);
  heap.walk(() => t.fail('an all-dead heap has no one to visit'));
});
