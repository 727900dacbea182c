// A partner's odds stream client in Node (@grpc/grpc-js + @grpc/proto-loader), as
// docs/partners.md describes it. Usage:
//   node examples/partners/stream_odds.mjs --identity HOST:PORT --live HOST:PORT \
//     --client-id partner-acme --secret-file .betmesh/clients/partner-acme.secret \
//     [--fixture FIXTURE_ID ...] [--updates N]
// Token by client credential (IssueToken, audience "betmesh.live"), StreamOdds with it, the last
// resume token kept and used after a drop. One JSON line per message, then {"done": true, ...}.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = { fixture: [] };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  if (key === 'fixture') args.fixture.push(process.argv[i + 1]);
  else args[key] = process.argv[i + 1];
}
const load = (file) =>
  protoLoader.loadSync(file, {
    includeDirs: [path.join(root, 'protos'), path.join(root, 'third_party', 'protovalidate')],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
const liveApi = grpc.loadPackageDefinition(load('betmesh/live/v1/live_odds_service.proto')).betmesh
  .live.v1;
const identityApi = grpc.loadPackageDefinition(
  load('betmesh/identity/v1/identity_service.proto'),
).betmesh.identity.v1;
// Keepalive as docs/partners.md recommends: the server accepts a ping every 5 s and more.
const options = {
  'grpc.keepalive_time_ms': 20000,
  'grpc.keepalive_timeout_ms': 10000,
  'grpc.keepalive_permit_without_calls': 1,
};
const secret = fs.readFileSync(args.secretFile, 'utf8').trim(); // never printed
const wanted = Number(args.updates || 0);
const resumable = new Set(['CONSUMER_TOO_SLOW', 'JOURNAL_BEHIND', '']);

// The fields of one protobuf message: [field number, bytes] for length-delimited ones (enough
// to read google.rpc.Status -> details (Any) -> google.rpc.ErrorInfo.reason without a schema).
function fields(buffer) {
  const found = [];
  let i = 0;
  const varint = () => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = buffer[i++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (byte < 0x80) return value;
    }
  };
  while (i < buffer.length) {
    const key = varint();
    const [number, wire] = [Math.floor(key / 8), key % 8];
    if (wire === 0) varint();
    else if (wire === 2) {
      const length = varint();
      found.push([number, buffer.subarray(i, i + length)]);
      i += length;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else break;
  }
  return found;
}

function reasonOf(error) {
  const raw = error.metadata && error.metadata.get('grpc-status-details-bin')[0];
  if (!raw) return '';
  for (const [number, any] of fields(raw)) {
    if (number !== 3) continue; // Status.details
    const parts = Object.fromEntries(fields(any));
    if (parts[1] && parts[1].toString() === 'type.googleapis.com/google.rpc.ErrorInfo') {
      const info = fields(parts[2]).find(([n]) => n === 1);
      return info ? info[1].toString() : '';
    }
  }
  return '';
}

function issueToken() {
  const identity = new identityApi.IdentityService(args.identity, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    identity.IssueToken(
      { client_id: args.clientId, client_secret: secret, audience: 'betmesh.live' },
      { deadline: Date.now() + 10000 },
      (error, reply) => {
        identity.close();
        if (error) reject(error);
        else resolve(reply.access_token.token);
      },
    );
  });
}

const live = new liveApi.LiveOddsService(args.live, grpc.credentials.createInsecure(), options);
let token = await issueToken();
let resumeToken = '';
let updates = 0;
let resumes = 0;

function open() {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const request = resumeToken
    ? { resume_token: resumeToken }
    : { filter: { fixture_ids: args.fixture }, heartbeat_interval_ms: 1000 };
  const call = live.StreamOdds(request, metadata);
  call.on('data', (message) => {
    resumeToken = message.resume_token;
    const line = { sequence: message.sequence, payload: message.payload };
    if (message.payload === 'deltas') {
      line.updates = message.deltas.updates;
      updates += message.deltas.updates.length;
    } else if (message.payload === 'full_image') {
      line.reason = message.full_image.reason;
    }
    console.log(JSON.stringify(line));
    if (wanted && updates >= wanted) {
      console.log(JSON.stringify({ done: true, updates, resumes }));
      call.cancel();
      live.close();
      process.exit(0);
    }
  });
  call.on('error', async (error) => {
    if (error.code === grpc.status.CANCELLED) return;
    const reason = reasonOf(error);
    console.log(JSON.stringify({ stream_error: error.code, reason }));
    if (error.code === grpc.status.UNAUTHENTICATED) token = await issueToken();
    else if (reason === 'RESUME_TOKEN_EXPIRED' || reason === 'RESUME_TOKEN_STALE') resumeToken = '';
    else if (error.code !== grpc.status.UNAVAILABLE && !resumable.has(reason)) process.exit(1);
    resumes += 1;
    setTimeout(open, Math.min(2000, 200 * resumes));
  });
}

open();
