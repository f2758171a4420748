import { describe, expect, it, vi } from 'vitest';
import { FakePeerConnection, FakeStream, asPeerConnection, asStream } from '../test/callFakes';
import { settle } from '../test/fixtures';
import { PeerLink, parseSignal } from './peer';

function link() {
  const pc = new FakePeerConnection({});
  const sent: unknown[] = [];
  const events = { remote: vi.fn(), state: vi.fn(), error: vi.fn() };
  const peer = new PeerLink({
    pc: asPeerConnection(pc),
    stream: asStream(new FakeStream(['audio'])),
    send: (data) => sent.push(data),
    onRemoteStream: events.remote,
    onConnectionState: events.state,
    onError: events.error,
  });
  return { pc, sent, events, peer };
}

describe('parseSignal', () => {
  it('reads descriptions and candidates, and nothing else', () => {
    expect(parseSignal({ type: 'offer', sdp: 'v=0' })).toEqual({ type: 'offer', sdp: 'v=0' });
    expect(parseSignal({ candidate: { candidate: 'c', sdpMid: '0' } })).toEqual({ candidate: { candidate: 'c', sdpMid: '0' } });
    expect(parseSignal({ type: 'rollback' })).toBeNull();
    expect(parseSignal('offer')).toBeNull();
    expect(parseSignal(null)).toBeNull();
  });
});

describe('PeerLink', () => {
  it('answers an offer and applies the candidates that came before it', async () => {
    const { pc, sent, peer } = link();
    await peer.receive({ candidate: { candidate: 'early' } });
    expect(pc.candidates).toEqual([]);
    await peer.receive({ type: 'offer', sdp: 'offer-sdp' });
    expect(pc.candidates).toEqual([{ candidate: 'early' }]);
    expect(sent).toEqual([{ type: 'answer', sdp: 'answer-sdp' }]);
    await peer.receive({ candidate: { candidate: 'late' } });
    expect(pc.candidates).toEqual([{ candidate: 'early' }, { candidate: 'late' }]);
  });

  it('a candidate the browser refuses does not end the call', async () => {
    const { pc, events, peer } = link();
    pc.addIceCandidate = async () => {
      throw new Error('Unknown ufrag');
    };
    await peer.receive({ type: 'answer', sdp: 'answer-sdp' });
    await peer.receive({ candidate: { candidate: 'bad' } });
    expect(events.error).not.toHaveBeenCalled();
  });

  it('a description the browser refuses is reported', async () => {
    const { pc, events, peer } = link();
    pc.setRemoteDescription = async () => {
      throw new Error('bad sdp');
    };
    await peer.receive({ type: 'offer', sdp: 'x' });
    expect(events.error).toHaveBeenCalled();
  });

  it('passes on the remote stream and the connection state; silent once closed', async () => {
    const { pc, events, peer } = link();
    const remote = new FakeStream(['audio']);
    pc.ontrack?.({ track: remote.tracks[0]!, streams: [remote] });
    expect(events.remote).toHaveBeenCalledWith(remote);
    pc.setState('connected');
    expect(events.state).toHaveBeenCalledWith('connected');
    peer.close();
    expect(pc.closed).toBe(true);
    await peer.receive({ type: 'offer', sdp: 'x' });
    await settle();
    expect(pc.remoteDescription).toBeNull();
  });
});
