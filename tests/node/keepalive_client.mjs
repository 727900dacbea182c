// A partner's StreamOdds client with keepalive on, as grpc-js users configure it. Usage:
//   node tests/node/keepalive_client.mjs <host:port> <fixture_id> <seconds> [keepalive_ms]
// Reads the stream for <seconds>, resuming with the last resume token if the stream ends, and
// prints one JSON line per event, then {"done": true, "resumes": n, ...} and exits 0.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const [address, fixtureId, seconds, keepaliveMs = '10000'] = process.argv.slice(2);
const definition = protoLoader.loadSync('betmesh/live/v1/live_odds_service.proto', {
  includeDirs: [path.join(root, 'protos'), path.join(root, 'third_party', 'protovalidate')],
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
const live = grpc.loadPackageDefinition(definition).betmesh.live.v1;
const client = new live.LiveOddsService(address, grpc.credentials.createInsecure(), {
  'grpc.keepalive_time_ms': Number(keepaliveMs),
  'grpc.keepalive_timeout_ms': 5000,
  'grpc.keepalive_permit_without_calls': 1,
});
let messages = 0;
let errors = [];
let token = '';
let ended = false;
const stopAt = Date.now() + Number(seconds) * 1000;

function open() {
  const request = token
    ? { resume_token: token }
    : { filter: { fixture_ids: [fixtureId] }, heartbeat_interval_ms: 1000 };
  const call = client.StreamOdds(request);
  call.on('data', (message) => {
    messages += 1;
    token = message.resume_token || token;
  });
  call.on('error', (error) => {
    if (ended) return;
    errors.push({ code: error.code, details: error.details, at_ms: stopAt - Date.now() });
    console.log(JSON.stringify({ stream_error: error.code, details: error.details }));
    setTimeout(open, 200);
  });
  return call;
}

let call = open();
setTimeout(() => {
  ended = true;
  console.log(JSON.stringify({ done: true, messages, resumes: errors.length, errors }));
  call.cancel();
  client.close();
  process.exit(0);
}, Number(seconds) * 1000);
