import t from 'tap';
import { IndexedHeap } from '../../src/acd/indexed-heap';

t.test('the indexed heap keeps order through inserts, moves and deletes, and lists members in order', async (t) => {
  const heap = new IndexedHeap<{ id: string; key: number }>((e) => e.id, (a, b) => a.key < b.key || (a.key === b.key && a.id < b.id));
  const reference = new Map<string, number>();
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let step = 0; step < 20_000; step++) {
    const id = `m${Math.floor(random() * 500)}`;
    if (random() < 0.3) {
      t.equal(heap.delete(id), reference.delete(id));
    } else {
      const key = Math.floor(random() * 1000);
      heap.upsert({ id, key });
      reference.set(id, key);
    }
    if (step % 1000 === 0) {
      const expected = [...reference].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
      t.same([...heap.ordered()].map((e) => e.id), expected, `step ${step}`);
    }
  }
  t.equal(heap.size, reference.size);
  const min = [...reference].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))[0]!;
  t.equal(heap.peek()!.id, min[0]);
});
