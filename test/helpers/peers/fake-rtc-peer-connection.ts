/**
 * WebRTC does not exist in Node, and JsSIP will not place a call without RTCPeerConnection. These fakes
 * hand JsSIP a fixed SDP offer at once (ICE gathering already "complete") and accept any remote
 * description: enough for JsSIP's signalling (INVITE, ACK, BYE, CANCEL) to run for real, with no media.
 */
export class FakeRTCSessionDescription {
  readonly type: string;
  readonly sdp: string;

  constructor(init: { type: string; sdp: string }) {
    this.type = init.type;
    this.sdp = init.sdp;
  }
}

export class FakeRTCPeerConnection {
  static readonly created: FakeRTCPeerConnection[] = [];
  localDescription: FakeRTCSessionDescription | null = null;
  remoteDescription: FakeRTCSessionDescription | null = null;
  iceGatheringState = 'complete';
  iceConnectionState = 'new';
  signalingState = 'stable';
  closed = false;

  constructor() {
    FakeRTCPeerConnection.created.push(this);
  }

  async createOffer(): Promise<FakeRTCSessionDescription> {
    return new FakeRTCSessionDescription({ type: 'offer', sdp: fakeSdp('offer') });
  }

  async createAnswer(): Promise<FakeRTCSessionDescription> {
    return new FakeRTCSessionDescription({ type: 'answer', sdp: fakeSdp('answer') });
  }

  async setLocalDescription(desc: FakeRTCSessionDescription): Promise<void> {
    this.localDescription = desc;
    this.signalingState = desc.type === 'offer' ? 'have-local-offer' : 'stable';
  }

  async setRemoteDescription(desc: FakeRTCSessionDescription): Promise<void> {
    this.remoteDescription = desc;
    this.signalingState = desc.type === 'offer' ? 'have-remote-offer' : 'stable';
  }

  getSenders(): unknown[] {
    return [];
  }

  getReceivers(): unknown[] {
    return [];
  }

  addTrack(): void {}

  addEventListener(): void {}

  removeEventListener(): void {}

  close(): void {
    this.closed = true;
  }
}

function fakeSdp(kind: string): string {
  return ['v=0', `o=- 1 1 IN IP4 127.0.0.1`, `s=jssip ${kind}`, 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40004 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', ''].join('\r\n');
}

/** Installs the fakes where JsSIP looks for WebRTC (window.RTCPeerConnection and the globals); returns the undo. */
export function installFakeWebRtc(): () => void {
  const g = globalThis as Record<string, unknown>;
  const saved = { window: g.window, RTCPeerConnection: g.RTCPeerConnection, RTCSessionDescription: g.RTCSessionDescription };
  g.window = { RTCPeerConnection: FakeRTCPeerConnection };
  g.RTCPeerConnection = FakeRTCPeerConnection;
  g.RTCSessionDescription = FakeRTCSessionDescription;
  return () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete g[key];
      else g[key] = value;
    }
  };
}
