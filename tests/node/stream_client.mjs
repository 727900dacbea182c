// A partner's StreamOdds client written with Node's gRPC stack (@grpc/grpc-js + proto-loader),
// to show the stream is consumable outside Python. Usage:
//   node tests/node/stream_client.mjs <host:port> <fixture_id> <updates_to_wait_for>
// Prints one JSON line per message received, then {"done": true, ...} and exits 0.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const [address, fixtureId, wanted] = process.argv.slice(2);
const definition = protoLoader.loadSync('betmesh/live/v1/live_odds_service.proto', {
  includeDirs: [path.join(root, 'protos'), path.join(root, 'third_party', 'protovalidate')],
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
const live = grpc.loadPackageDefinition(definition).betmesh.live.v1;
const client = new live.LiveOddsService(address, grpc.credentials.createInsecure());
const call = client.StreamOdds({
  filter: { fixture_ids: [fixtureId] },
  heartbeat_interval_ms: 1000,
});
let updates = 0;
let lastSequence = 0;
let gaps = 0;
// Counted from the first message, not from start-up: Node's start and the proto loading alone
// take seconds on a loaded machine, and the caller publishes only once the image has arrived.
let timer;
const armTimer = () => {
  timer = setTimeout(() => {
    console.log(JSON.stringify({ error: 'timeout', updates }));
    process.exit(2);
  }, 60000);
};
call.on('data', (message) => {
  if (timer === undefined) armTimer();
  if (message.sequence !== lastSequence + 1) gaps += 1;
  lastSequence = message.sequence;
  const line = { sequence: message.sequence, payload: message.payload };
  if (message.payload === 'full_image') {
    line.reason = message.full_image.reason;
    line.complete = message.full_image.complete;
    line.fixtures = message.full_image.fixtures.map((f) => f.fixture.fixture_id);
  } else if (message.payload === 'deltas') {
    line.updates = message.deltas.updates.map((u) => {
      const odds = u.odds_change;
      return { kind: u.update, digest: odds ? odds.quote_set_digest : undefined };
    });
    updates += line.updates.length;
  }
  console.log(JSON.stringify(line));
  if (updates >= Number(wanted)) {
    clearTimeout(timer);
    console.log(JSON.stringify({ done: true, updates, gaps, last_sequence: lastSequence }));
    call.cancel();
    client.close();
    process.exit(0);
  }
});
call.on('error', (error) => {
  if (error.code === grpc.status.CANCELLED) return;
  console.log(JSON.stringify({ error: error.details, code: error.code }));
  process.exit(1);
});
