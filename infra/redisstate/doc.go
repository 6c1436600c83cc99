// Package redisstate owns everything Pedidos keeps in Redis: the counters of
// each run, which GET /pedidos reads, and a view of the queue in the layout
// of the Bull 4 npm library, so that Bull tooling pointed at the same Redis
// shows true counts and jobs. Services call this package; none of them
// names a Redis key or holds a script of its own.
//
// Both are projections. The pending orders live in JetStream, the processed
// ones in MongoDB, and the counts in the RESULTS stream the processors
// publish: Redis can be lost (the in-process miniredis fallback keeps
// nothing across a restart) and is rebuilt from those; a Redis write that
// fails never fails a run.
//
// # Keys
//
//	key                                  type    written by                    read by
//	pedidos:run:<runId>                  hash    control (the counters)        api, Bull-free tools
//	bull:orders:wait                     list    generator, processor, control api, Bull
//	bull:orders:paused                   list    generator, control            api, Bull
//	bull:orders:active                   list    processor, control            api, Bull
//	bull:orders:completed                zset    processor, control            api, Bull
//	bull:orders:failed                   zset    processor, control            api, Bull, control
//	bull:orders:delayed                  zset    nobody (Bull reads it)        api, Bull
//	bull:orders:meta-paused              string  control                       api, Bull
//	bull:orders:<jobId>                  hash    generator, processor          api, Bull, control
//	pedidos:bull-added:<run>:<chunk>:<i> string  generator (24 h)              generator
//	pedidos:view                         string  control                       control
//	pedidos:trash:<ns>:<list>            list    control                       control
//
// The counters hash has, per priority p in {vip, normal}: processed_p,
// failed_p (counts), first_p, last_p (Unix milliseconds of the earliest and
// latest processedAt) and done_p (Unix milliseconds of the latest MongoDB
// acknowledgement). Control writes absolute values, so a write repairs a
// lost or stale hash.
//
// # The Bull view, and how it differs from Bull
//
// Lists are queues in arrival order: jobs enter at the right (RPUSH) and
// leave at the left (LPOP), oldest first. Bull does the opposite (LPUSH,
// then BRPOPLPUSH), but a prepend onto a long list costs miniredis a copy of
// the whole list per element, which made the fallback quadratic; an append
// and a pop from the left are cheap on both servers. So Bull's
// getJobs(['waiting']) lists the next jobs in line first, and getWaiting()
// the newest.
//
//   - wait: VIP orders published and not yet fetched; after the VIP drain,
//     the NORMAL ones.
//   - paused: NORMAL orders published before the VIP drain, while their
//     consumer is paused; the drain decision renames it to wait.
//   - active: orders a processor fetched and has not settled.
//   - completed, failed: sorted sets scored by finishedOn, trimmed to the
//     newest Options.KeepCompleted and Options.KeepFailed, with their job
//     hashes.
//   - meta-paused: set while an operator paused the queue; the jobs stay in
//     wait (Bull moves them to paused).
//
// A job moves between lists with its own id when its batch is at either end
// of the list it leaves, as it is when orders flow in order; otherwise the
// oldest jobs move in its place, so the lists are exact in count and close
// to exact in membership, and exact again once they empty. Only the jobs
// Bull tooling reads carry a job hash: the kept completed and failed jobs,
// the newest waiting jobs of each generated chunk (the first page of
// getWaiting()), and jobs handed back to wait; waiting hashes expire after
// Options.WaitingTTL. A job hash has no opts, so Bull shows its attempts as
// made/1.
package redisstate
