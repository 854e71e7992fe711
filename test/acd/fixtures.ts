import type { AcdSettings, QueueDefinition } from '../../src/acd/index';

export function queue(name: string, target: string, extra: Partial<QueueDefinition> = {}): QueueDefinition {
  return { name, target, strategy: 'longest-idle', serviceLevel: { percent: 80, seconds: 20 }, maxWaitSeconds: 0, maxSize: 0, fallback: null, escalation: [], ...extra };
}

export function settings(queues: QueueDefinition[], extra: Partial<AcdSettings> = {}): AcdSettings {
  return {
    skills: ['billing', 'sales', 'tech'],
    languages: ['en', 'zh-TW'],
    defaultCapacity: { voice: 1, video: 1, chat: 3, email: 5 },
    crossChannel: [{ whileOn: ['voice', 'video'], limits: { voice: 0, video: 0, chat: 2, email: 0 } }],
    wrapUpSeconds: { voice: 0, video: 0, chat: 0, email: 0 },
    offerTimeoutSeconds: 15,
    ronaReason: 'rona',
    nodeLeaseSeconds: 10,
    queues,
    ...extra,
  };
}
