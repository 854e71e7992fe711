// Three-way calls through a real rtpengine and onecc's mixer (rtpengine 10.5 cannot mix): each party hears the
// other two and not itself; a whisper is heard by one party only; a party leaving the conference is re-pointed.
import t from 'tap';
import { startMedia, type MediaFixture } from '../helpers/media-service';
import { RtpEndpoint } from '../helpers/rtp/rtp-endpoint';
import { delay } from '../helpers/wait';
import { toneShare } from '../helpers/voice-peers';

let fx: MediaFixture;
t.before(async () => {
  fx = await startMedia();
});
t.teardown(() => fx.close());

async function heard(ep: RtpEndpoint, pt: 0 | 8 = 0): Promise<Record<number, number>> {
  ep.clear();
  await delay(1000);
  return Object.fromEntries([440, 660, 880, 550].map((hz) => [hz, toneShare(ep, hz, pt)]));
}

t.test('a conference: everyone hears the two others, not themselves; a whisper reaches one; leaving re-points', async (t) => {
  const caller = await RtpEndpoint.open({ audioPt: 0 });
  const agent = await RtpEndpoint.open({ audioPt: 8 }); // PCMA: rtpengine transcodes for the mixer (PCMU)
  const third = await RtpEndpoint.open({ audioPt: 0 });
  const call = fx.media.openCall('conference-1');
  t.teardown(async () => {
    caller.close();
    agent.close();
    third.close();
    await call.close();
  });
  agent.useRemote(await call.offer('caller', caller.sdp(), 'rtp', { toTag: 'agent' }));
  caller.useRemote(await call.answer('caller', 'agent', agent.sdp()));
  third.useRemote(await call.offer('agent', agent.sdp(), 'rtp', { toTag: 'third' }));
  await call.answer('agent', 'third', third.sdp());
  caller.startTone(440);
  agent.startTone(880);
  third.startTone(660);

  const mixer = await call.conference([
    { leg: 'caller', sdp: caller.sdp() },
    { leg: 'agent', sdp: agent.sdp() },
    { leg: 'third', sdp: third.sdp() },
  ]);
  await delay(300);
  const [c, a] = await Promise.all([heard(caller), heard(agent, 8)]);
  const h = await heard(third);
  t.ok(c[880]! > 0.2 && c[660]! > 0.2 && c[440]! < 0.05, `the caller hears the agent and the third party, not itself ${JSON.stringify(c)}`);
  t.ok(a[440]! > 0.2 && a[660]! > 0.2 && a[880]! < 0.05, `the agent hears the caller and the third party ${JSON.stringify(a)} (through PCMA)`);
  t.ok(h[440]! > 0.2 && h[880]! > 0.2 && h[660]! < 0.05, `the third party hears the caller and the agent ${JSON.stringify(h)}`);
  const counters = mixer.counters();
  t.ok(Object.values(counters).every((x) => x.sent >= 50 && x.received >= 50), `50 packets a second each way per party ${JSON.stringify(counters)}`);

  // A whisper: the third party (a supervisor) is heard by the agent only.
  mixer.setHears('mix-caller', ['mix-agent']);
  const whispered = await heard(caller);
  t.ok(whispered[880]! > 0.2 && whispered[660]! < 0.05, `the caller no longer hears the third party ${JSON.stringify(whispered)}`);
  t.ok((await heard(agent, 8))[660]! > 0.2, 'the agent still does');

  // The third party leaves: caller and agent are bridged again without the mixer.
  agent.useRemote(await call.offer('caller', caller.sdp(), 'rtp', { toTag: 'agent' }));
  caller.useRemote(await call.answer('caller', 'agent', agent.sdp()));
  call.leaveConference(mixer);
  third.stopSending();
  await delay(300);
  const [c2, a2] = await Promise.all([heard(caller), heard(agent, 8)]);
  t.ok(c2[880]! > 0.5, `the caller hears the agent directly ${JSON.stringify(c2)}`);
  t.ok(a2[440]! > 0.5, `the agent hears the caller directly ${JSON.stringify(a2)}`);
});
