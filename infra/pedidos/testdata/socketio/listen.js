// listen.js connects to the api's socket.io endpoint with the real
// socket.io-client 4, as the original project's dashboard does, over one
// transport only, and prints what it receives on stdout, one JSON object a
// line:
//
//   {"kind":"connect","id":…,"transport":…,"at":…}
//   {"kind":"event","event":<name>,"data":<first argument>,"transport":…,"at":…}
//   {"kind":"ack","message":<name>,"data":<first argument of the ack>,"at":…}
//   {"kind":"disconnect","reason":…,"at":…}
//   {"kind":"error","message":…,"at":…}
//
// at is the client's Date.now(). Right after connecting it sends
// get-status and start-generation with an acknowledgement, as the
// original's clients may. It stops when its standard input closes (exit
// 0), when the server disconnects it or it cannot connect (exit 1), or
// after a deadline (exit 2).
//
// Usage: node listen.js <url> <path> <websocket|polling> [<deadline-seconds>]
'use strict';

const { io } = require('socket.io-client');

function usage(msg) {
  process.stderr.write(`listen.js: ${msg}\nusage: node listen.js <url> <path> <websocket|polling> [<deadline-seconds>]\n`);
  process.exit(64);
}

const [url, path, transport, deadlineArg] = process.argv.slice(2);
if (!url || !path || !transport) usage('missing arguments');
if (transport !== 'websocket' && transport !== 'polling') usage(`unknown transport ${JSON.stringify(transport)}`);
const deadlineSeconds = deadlineArg === undefined ? 300 : Number(deadlineArg);
if (!Number.isInteger(deadlineSeconds) || deadlineSeconds < 1) usage('deadline-seconds must be a positive integer');

function print(obj) {
  process.stdout.write(JSON.stringify({ ...obj, at: Date.now() }) + '\n');
}

const socket = io(url, {
  path,
  transports: [transport],
  upgrade: false,
  reconnection: false,
  timeout: 10_000,
});
const transportName = () => (socket.io.engine && socket.io.engine.transport ? socket.io.engine.transport.name : null);

const deadline = setTimeout(() => {
  process.stderr.write('listen.js: deadline passed\n');
  process.exit(2);
}, deadlineSeconds * 1000);
deadline.unref();

socket.on('connect', () => {
  print({ kind: 'connect', id: socket.id, transport: transportName() });
  for (const message of ['get-status', 'start-generation']) {
    socket.emit(message, (data) => print({ kind: 'ack', message, data }));
  }
});
socket.onAny((event, data) => print({ kind: 'event', event, data, transport: transportName() }));
socket.on('connect_error', (err) => {
  print({ kind: 'error', message: String(err && err.message) });
  process.exit(1);
});
socket.on('disconnect', (reason) => {
  print({ kind: 'disconnect', reason });
  if (reason !== 'io client disconnect') process.exit(1);
});

process.stdin.resume();
process.stdin.on('end', () => {
  socket.close();
  process.exit(0);
});
