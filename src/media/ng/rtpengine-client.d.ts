// Typings for the part of rtpengine-client onecc uses (the package ships none).
declare module 'rtpengine-client' {
  import type { EventEmitter } from 'node:events';
  type Command = (target: { host: string; port: number }, params: object) => Promise<unknown>;
  export class Client extends EventEmitter {
    constructor(options: { timeout?: number; localAddress?: string; localPort?: number });
    close(): void;
    offer: Command; answer: Command; delete: Command; query: Command; list: Command; ping: Command; statistics: Command;
    playMedia: Command; stopMedia: Command; playDTMF: Command; blockDTMF: Command; unblockDTMF: Command;
    blockMedia: Command; unblockMedia: Command; silenceMedia: Command; unsilenceMedia: Command;
    startRecording: Command; stopRecording: Command; subscribeRequest: Command; subscribeAnswer: Command; unsubscribe: Command;
  }
}
