// Files and voice messages with the real socket.io-client: a PDF, a ZIP, an HTML page and an
// SVG uploaded as files are each served only as attachment downloads (octet-stream, nosniff,
// CSP sandbox, the sanitised name), whatever their declared type; voice notes made here by
// ffmpeg in the four accepted kinds (Ogg/Opus, WebM/Opus, MP4/AAC, MP3) come back as audio
// with the duration of the container; file and audio messages reach the other member once,
// with their attachment, and stay out of reach of non-members; audio longer than
// MAX_VOICE_SECONDS is shared as a file.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expectNoEvent, startServer, waitFor } from '../lib/server.js';
import { assertApiError, assertAckError, createDirect, sendRaw } from '../lib/chat.js';

const VOICE_SECONDS = 2.5;

/** Encodes `seconds` of a 440 Hz tone with ffmpeg; resolves to the file's bytes. */
function tone(dir, file, codecArgs, seconds = VOICE_SECONDS) {
  const out = path.join(dir, file);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`,
    '-ac', '1', ...codecArgs, out], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
  return readFileSync(out);
}

const VOICE_KINDS = [
  { file: 'note.ogg', args: ['-c:a', 'libopus', '-b:a', '24k'], mime: 'audio/ogg', ext: '.ogg' },
  { file: 'note.webm', args: ['-c:a', 'libopus', '-b:a', '24k'], mime: 'audio/webm', ext: '.webm' },
  { file: 'note.m4a', args: ['-c:a', 'aac', '-b:a', '48k'], mime: 'audio/mp4', ext: '.m4a' },
  { file: 'note.mp3', args: ['-c:a', 'libmp3lame', '-b:a', '48k'], mime: 'audio/mpeg', ext: '.mp3' },
];

const FILES = [
  { name: 'report.pdf', declared: 'application/pdf', mime: 'application/pdf',
    bytes: Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n') },
  { name: 'archive.zip', declared: 'application/zip', mime: 'application/zip',
    bytes: Buffer.concat([Buffer.from('PK\x05\x06'), Buffer.alloc(18)]) },
  { name: 'page.html', declared: 'text/html', mime: 'text/html',
    bytes: Buffer.from('<!DOCTYPE html><html><body><script>fetch("/api/users/me")</script></body></html>') },
  { name: 'logo.svg', declared: 'image/svg+xml', mime: null,
    bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>') },
];

async function upload(server, token, bytes, name, declared, field = 'file') {
  const form = new FormData();
  form.append(field, new Blob([bytes], { type: declared }), name);
  const res = await fetch(`${server.url}/api/upload`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

function download(server, token, url, headers = {}) {
  return fetch(`${server.url}${url}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
}

describe('files and voice messages', { timeout: 180_000 }, () => {
  let server;
  let dir;
  let alice;
  let bob;
  let carol; // in no conversation with Alice
  let direct;
  let aliceSocket;
  let bobSocket;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'chat-voice-'));
    server = await startServer();
    [alice, bob, carol] = await Promise.all([0, 1, 2].map(() => server.register()));
    direct = await createDirect(server, alice, bob);
    aliceSocket = await server.connect(alice.token, { transports: ['websocket'] });
    bobSocket = await server.connect(bob.token, { transports: ['websocket'] });
  });

  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a PDF, a ZIP, an HTML page and an SVG are files, sent as file messages and served only as downloads', async () => {
    for (const f of FILES) {
      const up = await upload(server, alice.token, f.bytes, f.name, f.declared);
      assert.equal(up.status, 201, `${f.name}: ${up.text}`);
      assert.equal(up.body.kind, 'file', `${f.name}: ${up.text}`);
      if (f.mime) assert.equal(up.body.mime, f.mime, f.name);
      assert.equal(up.body.size, f.bytes.length);
      assert.equal(up.body.name, f.name);

      const heard = waitFor(bobSocket, 'message:new', (m) => m.file_url === up.body.file_url);
      const ack = await sendRaw(aliceSocket, { conversation_id: direct.id, message_type: 'file', file_url: up.body.file_url, content: '' });
      assert.equal(ack?.success, true, `${f.name}: ${JSON.stringify(ack)}`);
      assert.deepEqual(ack.message.attachment, {
        url: up.body.file_url, kind: 'file', mime: up.body.mime, size: f.bytes.length, name: f.name,
      });
      const message = await heard;
      assert.deepEqual(message.attachment, ack.message.attachment, 'the other member gets the same attachment');
      // Exactly once.
      await expectNoEvent(bobSocket, 'message:new', 300, (m) => m.id === message.id);

      const res = await download(server, bob.token, up.body.file_url);
      assert.equal(res.status, 200, f.name);
      assert.equal(res.headers.get('content-type'), 'application/octet-stream', f.name);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', f.name);
      assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; sandbox", f.name);
      assert.equal(res.headers.get('content-disposition'), `attachment; filename="${f.name}"; filename*=UTF-8''${f.name}`);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), f.bytes, `${f.name}: stored as uploaded`);
      const outsider = await download(server, carol.token, up.body.file_url);
      assert.equal(outsider.status, 404, `${f.name}: a non-member downloaded it`);
    }
  });

  it('voice notes in the four accepted kinds are audio with their real duration, and play by ranges', async () => {
    for (const kind of VOICE_KINDS) {
      const bytes = tone(dir, kind.file, kind.args);
      // Declared as something else, named as something else: the bytes decide.
      const up = await upload(server, alice.token, bytes, 'recording.bin', 'application/octet-stream');
      assert.equal(up.status, 201, `${kind.file}: ${up.text}`);
      assert.equal(up.body.kind, 'audio', `${kind.file}: ${up.text}`);
      assert.equal(up.body.mime, kind.mime, kind.file);
      assert.ok(up.body.file_url.endsWith(kind.ext), up.body.file_url);
      const ms = up.body.duration_ms;
      assert.ok(Math.abs(ms - VOICE_SECONDS * 1000) <= 120, `${kind.file}: duration_ms ${ms}, made ${VOICE_SECONDS * 1000}`);

      const heard = waitFor(bobSocket, 'message:new', (m) => m.file_url === up.body.file_url);
      const ack = await sendRaw(aliceSocket, { conversation_id: direct.id, message_type: 'audio', file_url: up.body.file_url });
      assert.equal(ack?.success, true, `${kind.file}: ${JSON.stringify(ack)}`);
      const message = await heard;
      assert.equal(message.message_type, 'audio');
      assert.equal(message.attachment.duration_ms, ms);
      assert.equal(message.attachment.mime, kind.mime);

      const res = await download(server, bob.token, up.body.file_url);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), kind.mime);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
      const part = await download(server, bob.token, up.body.file_url, { range: 'bytes=0-99' });
      assert.equal(part.status, 206, `${kind.file}: no range support`);
      assert.equal((await part.arrayBuffer()).byteLength, 100);
    }
  });

  it('an audio message needs an audio upload of the sender, and a file message a file', async () => {
    const note = await upload(server, alice.token, tone(dir, 'short.ogg', VOICE_KINDS[0].args, 1), 'a.ogg', 'audio/ogg');
    const pdf = await upload(server, alice.token, FILES[0].bytes, 'r.pdf', 'application/pdf');
    assertAckError(await sendRaw(aliceSocket, { conversation_id: direct.id, message_type: 'file', file_url: note.body.file_url }), 'validation_failed');
    assertAckError(await sendRaw(aliceSocket, { conversation_id: direct.id, message_type: 'audio', file_url: pdf.body.file_url }), 'validation_failed');
    assertAckError(await sendRaw(bobSocket, { conversation_id: direct.id, message_type: 'audio', file_url: note.body.file_url }), 'validation_failed');
    assertAckError(await sendRaw(aliceSocket, { conversation_id: direct.id, message_type: 'audio' }), 'validation_failed');
    // The socket stays usable.
    const ok = await sendRaw(aliceSocket, { conversation_id: direct.id, content: 'still here' });
    assert.equal(ok?.success, true);
    assert.ok(aliceSocket.connected);
  });

  it('uploads without a file, with two files or of an unknown field are refused clearly', async () => {
    const empty = await upload(server, alice.token, Buffer.alloc(0), 'empty.txt', 'text/plain');
    assertApiError(empty, 400, 'validation_failed');
    const form = new FormData();
    form.append('file', new Blob(['a']), 'a.txt');
    form.append('file', new Blob(['b']), 'b.txt');
    const two = await fetch(`${server.url}/api/upload`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}` }, body: form });
    assert.equal(two.status, 400);
    assert.equal((await two.json()).code, 'validation_failed');
    const other = await upload(server, alice.token, Buffer.from('x'), 'x.txt', 'text/plain', 'attachment');
    assertApiError(other, 400, 'validation_failed');
    const anonymous = await fetch(`${server.url}/api/upload`, { method: 'POST', body: new FormData() });
    assert.equal(anonymous.status, 401);
  });
});

describe('voice messages longer than MAX_VOICE_SECONDS', { timeout: 60_000 }, () => {
  let server;
  let dir;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'chat-voice-'));
    server = await startServer({ env: { MAX_VOICE_SECONDS: '2' } });
  });

  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('are shared as files, downloaded rather than played', async () => {
    const user = await server.register();
    const long = await upload(server, user.token, tone(dir, 'long.ogg', VOICE_KINDS[0].args, 3), 'long.ogg', 'audio/ogg');
    assert.equal(long.status, 201, long.text);
    assert.equal(long.body.kind, 'file');
    assert.equal(long.body.duration_ms, undefined);
    const short = await upload(server, user.token, tone(dir, 'short.ogg', VOICE_KINDS[0].args, 1.5), 'short.ogg', 'audio/ogg');
    assert.equal(short.body.kind, 'audio');
  });
});
