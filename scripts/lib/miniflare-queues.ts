// The mail queue of wrangler.toml as Miniflare options, for the scripts that
// run the built Worker under Miniflare (the benchmark and the soak test).

type QueueConfig = {
  producers?: { binding: string; queue: string }[];
  consumers?: { queue: string; max_batch_timeout?: number; max_retries?: number; dead_letter_queue?: string }[];
};

/** Producers and consumers as wrangler.toml declares them; with no transport configured the consumer logs and acks. */
export function queueOptions(queues: QueueConfig) {
  return {
    queueProducers: Object.fromEntries((queues.producers ?? []).map((q) => [q.binding, { queueName: q.queue }])),
    queueConsumers: Object.fromEntries(
      (queues.consumers ?? []).map((q) => [
        q.queue,
        { maxBatchTimeout: q.max_batch_timeout, maxRetries: q.max_retries, deadLetterQueue: q.dead_letter_queue },
      ]),
    ),
  };
}
