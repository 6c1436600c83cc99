// inspect.js reads the Bull 4 queue "orders" (Bull's default prefix "bull")
// from a Redis with the real bull library, as any Bull tool would, and
// prints what it sees as one JSON object on stdout:
//
//   {counts, paused, completed, failed, waiting}
//
// counts is queue.getJobCounts(); paused is queue.isPaused() (the
// meta-paused key); completed and failed are queue.getJobs([type], 0,
// limit - 1), newest first; waiting is queue.getWaiting(0, waitingLimit - 1),
// which reads the wait and the paused lists. Each job is
//
//   {id, name, data, state, timestamp, attemptsMade, failedReason,
//    processedOn, finishedOn}
//
// with state from job.getState(), or null where Bull found no job hash.
//
// It only reads: it never calls queue.process() nor anything that writes,
// and close() pauses the queue locally only (no Redis command).
//
// Usage: node inspect.js <redis-url> <limit> [<waiting-limit>]
'use strict';

const Queue = require('bull');

// Bail out rather than hang a test if Redis stops answering.
const deadline = setTimeout(() => {
  process.stderr.write('inspect.js: timed out\n');
  process.exit(2);
}, 60_000);
deadline.unref();

function usage(msg) {
  process.stderr.write(`inspect.js: ${msg}\nusage: node inspect.js <redis-url> <limit> [<waiting-limit>]\n`);
  process.exit(64);
}

function positiveInt(arg, name) {
  const n = Number(arg);
  if (!Number.isInteger(n) || n < 1) usage(`${name} must be a positive integer, got ${JSON.stringify(arg)}`);
  return n;
}

async function describe(job) {
  if (job === null) return null;
  return {
    id: job.id,
    name: job.name,
    data: job.data,
    state: await job.getState(),
    timestamp: job.timestamp,
    attemptsMade: job.attemptsMade,
    failedReason: job.failedReason === undefined ? null : job.failedReason,
    processedOn: job.processedOn === undefined ? null : job.processedOn,
    finishedOn: job.finishedOn === undefined ? null : job.finishedOn,
  };
}

async function describeAll(jobs) {
  const out = [];
  for (const job of jobs) out.push(await describe(job)); // one at a time: Redis serves the tested services too
  return out;
}

async function main() {
  const [url, limitArg, waitingArg] = process.argv.slice(2);
  if (!url || !limitArg) usage('missing arguments');
  const limit = positiveInt(limitArg, 'limit');
  const waitingLimit = waitingArg === undefined ? limit : positiveInt(waitingArg, 'waiting-limit');

  const queue = new Queue('orders', url);
  try {
    await queue.isReady();
    const result = {
      counts: await queue.getJobCounts(),
      paused: await queue.isPaused(),
      completed: await describeAll(await queue.getJobs(['completed'], 0, limit - 1)),
      failed: await describeAll(await queue.getJobs(['failed'], 0, limit - 1)),
      waiting: await describeAll(await queue.getWaiting(0, waitingLimit - 1)),
    };
    await new Promise((resolve, reject) =>
      process.stdout.write(JSON.stringify(result) + '\n', err => (err ? reject(err) : resolve())));
  } finally {
    await queue.close();
  }
}

main().then(
  () => process.exit(0),
  err => {
    process.stderr.write(`inspect.js: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
