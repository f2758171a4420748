// One call's WebRTC connection: the caller offers, the callee answers, both trickle ICE candidates.
// Signals travel as `call:signal` data: `{type: 'offer' | 'answer', sdp}` or `{candidate}`.
// Candidates that arrive before the remote description is set wait for it.

/** What one side sends the other through the server. */
export type SignalData = { type: 'offer' | 'answer'; sdp: string } | { candidate: RTCIceCandidateInit };

/** Reads a received signal; null for anything else (the server relays data unchecked). */
export function parseSignal(data: unknown): SignalData | null {
  if (!data || typeof data !== 'object') return null;
  const value = data as Record<string, unknown>;
  if ((value.type === 'offer' || value.type === 'answer') && typeof value.sdp === 'string') {
    return { type: value.type, sdp: value.sdp };
  }
  if (value.candidate && typeof value.candidate === 'object') return { candidate: value.candidate as RTCIceCandidateInit };
  return null;
}

export interface PeerLinkOptions {
  pc: RTCPeerConnection;
  /** The local camera and microphone, whose tracks are sent. */
  stream: MediaStream;
  /** Sends a signal to the other side. */
  send: (data: SignalData) => void;
  onRemoteStream: (stream: MediaStream) => void;
  onConnectionState: (state: RTCPeerConnectionState) => void;
  /** Something went wrong negotiating (a description the browser refused). */
  onError: (error: unknown) => void;
}

export class PeerLink {
  private readonly pc: RTCPeerConnection;
  private readonly options: PeerLinkOptions;
  private readonly pendingCandidates: RTCIceCandidateInit[] = [];
  private closed = false;

  constructor(options: PeerLinkOptions) {
    this.options = options;
    this.pc = options.pc;
    for (const track of options.stream.getTracks()) this.pc.addTrack(track, options.stream);
    this.pc.onicecandidate = (event) => {
      if (event.candidate && !this.closed) options.send({ candidate: event.candidate.toJSON() });
    };
    this.pc.ontrack = (event) => {
      const [stream] = event.streams;
      if (stream && !this.closed) options.onRemoteStream(stream);
    };
    this.pc.onconnectionstatechange = () => {
      if (!this.closed) options.onConnectionState(this.pc.connectionState);
    };
  }

  /** The caller's side: makes the offer. */
  async offer(): Promise<void> {
    try {
      const offer = await this.pc.createOffer();
      if (this.closed) return;
      await this.pc.setLocalDescription(offer);
      if (this.closed) return;
      this.options.send({ type: 'offer', sdp: offer.sdp ?? '' });
    } catch (error) {
      if (!this.closed) this.options.onError(error);
    }
  }

  /** A signal from the other side. */
  async receive(data: unknown): Promise<void> {
    const signal = parseSignal(data);
    if (!signal || this.closed) return;
    try {
      if ('candidate' in signal) {
        if (this.pc.remoteDescription) await this.addCandidate(signal.candidate);
        else this.pendingCandidates.push(signal.candidate);
        return;
      }
      await this.pc.setRemoteDescription(signal);
      if (this.closed) return;
      for (const candidate of this.pendingCandidates.splice(0)) await this.addCandidate(candidate);
      if (signal.type === 'offer') {
        const answer = await this.pc.createAnswer();
        if (this.closed) return;
        await this.pc.setLocalDescription(answer);
        if (this.closed) return;
        this.options.send({ type: 'answer', sdp: answer.sdp ?? '' });
      }
    } catch (error) {
      if (!this.closed) this.options.onError(error);
    }
  }

  /** One unusable candidate (an address this browser cannot resolve) does not end the call. */
  private async addCandidate(candidate: RTCIceCandidateInit): Promise<void> {
    await this.pc.addIceCandidate(candidate).catch(() => undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}
