import type Redis from 'ioredis';

/** The outcome of waiting for replicas: how many have the writes, of how many wanted; or the connection was lost. */
export type ReplicaCount = { readonly replicas: number; readonly wanted: number } | 'lost';

/**
 * WAIT for the commits of one connection, shared: every commit whose reply arrived before a WAIT is sent is covered by
 * it (WAIT covers all earlier writes of its connection), so the commits of one tick share one WAIT instead of each
 * blocking the connection with its own. That matters most after a failover: WAITs queued for a replica that is gone
 * would each block the connection for their whole timeout.
 *
 * A WAIT covers only its own connection's writes: a write answered before the connection closed is `lost` (unknown
 * whether a replica has it), even if a WAIT on the new connection says every replica is in step.
 */
export class ReplicaWait {
  #epoch = 0;
  #next: { readonly epoch: number; readonly count: Promise<ReplicaCount> } | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly wanted: () => number,
    private readonly timeoutMs: number,
  ) {
    redis.on('close', () => this.#epoch++);
  }

  /** The connection's current life: take it when a write's reply arrives, and pass it to after(). */
  get epoch(): number {
    return this.#epoch;
  }

  /** Replicas holding every write answered on the connection in `epoch`, by a WAIT sent from now on. */
  after(epoch: number): Promise<ReplicaCount> {
    if (epoch !== this.#epoch) return Promise.resolve('lost');
    if (this.#next?.epoch !== epoch) {
      const count = new Promise<ReplicaCount>((resolve) => {
        setImmediate(() => {
          if (this.#next?.count === count) this.#next = undefined;
          if (this.redis.status !== 'ready' || this.#epoch !== epoch) return resolve('lost');
          const wanted = this.wanted();
          this.redis.wait(wanted, this.timeoutMs).then(
            (replicas) => resolve(this.#epoch === epoch ? { replicas, wanted } : 'lost'),
            () => resolve('lost'),
          );
        });
      });
      this.#next = { epoch, count };
    }
    return this.#next.count;
  }
}
