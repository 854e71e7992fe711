/** Messages between the media bench's main process (run.ts, onecc's control plane) and its RTP generators. */

export interface GeneratorSetup {
  type: 'setup';
  /** Sockets (call legs) this generator opens, each on its own 127.0.0.1 port. */
  legs: number;
  /** SO_RCVBUF / SO_SNDBUF asked for each socket, bytes (the kernel caps them at net.core.rmem_max / wmem_max). */
  recvBufferBytes: number;
  sendBufferBytes: number;
  /** Send timer period, ms: every tick sends each leg the packets it is due (20 ms of audio each). */
  tickMs: number;
  /** Payload type of the audio sent: 0 PCMU, 8 PCMA. */
  pt: 0 | 8;
}

export type GeneratorCommand =
  | GeneratorSetup
  /** Starts a call: `a` and `b` (leg indexes in this generator) send to rtpengine's ports for them and hear each other. */
  | { type: 'start'; call: number; a: number; b: number; aRemotePort: number; bRemotePort: number; excluded: boolean }
  /** Opens (`start`) or closes (`end`) the measured window: each leg notes the index of the next packet it sends. */
  | { type: 'mark'; which: 'start' | 'end' }
  /** Stops every sender (calls keep their sockets until `report`). */
  | { type: 'stop' }
  | { type: 'report' };

/** What one receiving leg measured, over the window (loss) and at its end (jitter). */
export interface LegReport {
  /** Packets the peer sent inside the window. */
  expected: number;
  /** Of those, how many arrived (each counted once, by sequence number). */
  received: number;
  /** RFC 3550 interarrival jitter at the end of the window, ms. */
  jitterMs: number;
  /** Largest |D| (transit-time difference of consecutive packets) seen in the window, ms. */
  maxTransitDeltaMs: number;
}

export interface CallReport {
  call: number;
  /** Calls with prompts/hold: rtpengine deliberately blocks or adds media, so they are left out of loss and jitter. */
  excluded: boolean;
  /** a → b, as heard by b. */
  aToB: LegReport;
  /** b → a, as heard by a. */
  bToA: LegReport;
  /** Over the call's life: packets each side sent, packets of the peer's stream each side received. */
  sentA: number;
  sentB: number;
  lifeReceivedA: number;
  lifeReceivedB: number;
  /** Packets not of the peer's stream (rtpengine's media player: prompts, music on hold) each side received. */
  playerPacketsA: number;
  playerPacketsB: number;
}

export type GeneratorMessage =
  | { type: 'ready'; ports: number[]; recvBufferBytes: number; sendBufferBytes: number }
  | { type: 'started'; call: number }
  | { type: 'marked'; which: 'start' | 'end' }
  | { type: 'stopped' }
  | {
      type: 'report';
      calls: CallReport[];
      /** How late the send timer fired behind its schedule, ms, over the window. */
      tickLagP50Ms: number;
      tickLagP99Ms: number;
      tickLagMaxMs: number;
      /** Ticks in the window where a leg had to send more than one packet to catch up. */
      catchUpTicks: number;
      /** Packets legs did not send because the generator fell more than 60 ms behind (stalled by the machine). */
      skippedPackets: number;
      /** Datagrams whose send reported an error. */
      sendErrors: number;
    };
