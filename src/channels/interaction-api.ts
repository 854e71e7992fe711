import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ConversationStore } from './chat/conversation-store';
import type { InteractionRecords } from './interaction-records';

type Answer = { status: number; body: unknown; contentType?: undefined } | { status: number; body: { readonly file: string; readonly bytes: number }; contentType: string; stream: true };

const AUDIO_TYPES: Readonly<Record<string, string>> = { '.wav': 'audio/wav', '.pcap': 'application/vnd.tcpdump.pcap' };

/**
 * GET /interactions[?limit=], /interactions/<id>, and what a supervisor reviews: /interactions/<id>/transcript (a
 * chat's or email thread's messages) and /interactions/<id>/recording (the call's recording file).
 */
export class InteractionApi {
  constructor(private readonly deps: { readonly records: InteractionRecords; readonly conversations?: ConversationStore; readonly recordingDir: string }) {}

  async query(rest: string, query: URLSearchParams): Promise<Answer> {
    const { records } = this.deps;
    if (rest === '') return { status: 200, body: await records.recent(Math.min(1000, Number(query.get('limit') ?? 50) || 50)) };
    const [id = '', part, ...more] = rest.split('/');
    const record = more.length === 0 ? await records.get(id) : undefined;
    if (record === undefined) return { status: 404, body: { error: `no interaction ${rest}` } };
    switch (part) {
      case undefined:
        return { status: 200, body: record };
      case 'transcript': {
        const messages = record.channel === 'chat' || record.channel === 'email' ? await this.deps.conversations?.transcript(id) : undefined;
        return messages?.length ? { status: 200, body: messages } : { status: 404, body: { error: `interaction ${id} has no transcript kept` } };
      }
      case 'recording': {
        const dir = path.resolve(this.deps.recordingDir);
        const file = record.recording === undefined ? undefined : path.resolve(dir, record.recording);
        const type = file === undefined ? undefined : AUDIO_TYPES[path.extname(file)];
        if (file === undefined || type === undefined || !file.startsWith(`${dir}${path.sep}`)) return { status: 404, body: { error: `interaction ${id} has no recording` } };
        const info = await stat(file).catch(() => undefined);
        return info?.isFile() ? { status: 200, body: { file, bytes: info.size }, contentType: type, stream: true } : { status: 404, body: { error: `the recording of interaction ${id} is no longer kept` } };
      }
      default:
        return { status: 404, body: { error: `no /interactions/${rest} (transcript, recording)` } };
    }
  }
}
