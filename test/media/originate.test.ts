// Calls placed by onecc (callbacks, dialer legs): rtpengine makes the offer, the called party's answer connects it,
// prompts and digits work as on an inbound call, and the party is then bridged to a second leg on the same port.
import t from 'tap';
import path from 'node:path';
import { startMedia, writeToneWav, type MediaFixture } from '../helpers/media-service';
import { RtpEndpoint } from '../helpers/rtp/rtp-endpoint';
import { delay, waitFor } from '../helpers/wait';
import { decodeG711 } from '../../src/media/codec/g711';
import { inspectSdp } from '../../src/media/sdp/sdp';

let fx: MediaFixture;
let prompt: string;

t.before(async () => {
  fx = await startMedia();
  prompt = writeToneWav(path.join(fx.dir, 'prompt.wav'), 1500, 600);
});
t.teardown(() => fx.close());

function frequencyOf(ep: RtpEndpoint, n = 25): number {
  let crossings = 0;
  let previous = 0;
  let samples = 0;
  for (const p of ep.packets(0).slice(-n)) {
    for (const s of decodeG711(p.payload, 'mulaw')) {
      if ((previous < 0) !== (s < 0)) crossings++;
      previous = s;
      samples++;
    }
  }
  return samples === 0 ? 0 : (crossings / 2) * (8000 / samples);
}

t.test('onecc calls a party: prompts reach it, its digits reach onecc, then it is bridged to an agent', async (t) => {
  const customer = await RtpEndpoint.open();
  const agent = await RtpEndpoint.open();
  const call = fx.media.openCall('originate-basic');
  t.teardown(async () => {
    customer.close();
    agent.close();
    await call.close();
  });
  const offer = await call.originate('rtp');
  const audio = inspectSdp(offer).media.find((m) => m.kind === 'audio')!;
  t.ok([...audio.codecs.values()].includes('PCMU'), 'the offer has G.711');
  t.ok([...audio.codecs.values()].includes('TELEPHONE-EVENT'), 'and telephone-event, for the party\'s digits');
  customer.useRemote(offer);
  await call.connectOriginated('customer', customer.sdp());
  customer.startTone(440);

  await call.play('customer', [prompt]).done;
  t.ok(customer.packets(0).length >= 50, `the party hears the prompt (${customer.packets(0).length} packets)`);
  t.ok(Math.abs(frequencyOf(customer) - 600) < 25, `it is the prompt's 600 Hz (${frequencyOf(customer).toFixed(0)})`);
  const digits: string[] = [];
  call.on('dtmf', (d) => digits.push(`${d.leg}:${d.digit}`));
  await customer.sendDigit('7');
  t.ok(await waitFor(() => digits.length > 0, 2000), 'the party\'s digit is reported');
  t.same(digits, ['customer:7']);

  agent.useRemote(await call.offer('customer', customer.sdp(), 'rtp'));
  await call.answer('customer', 'agent', agent.sdp());
  agent.startTone(880);
  customer.clear();
  await delay(1500);
  t.ok(agent.packets(0).length >= 50, `the agent hears the party (${agent.packets(0).length})`);
  t.ok(Math.abs(frequencyOf(agent) - 440) < 25, `at 440 Hz (${frequencyOf(agent).toFixed(0)})`);
  t.ok(customer.packets(0).length >= 50, `the party hears the agent on the port it was offered (${customer.packets(0).length})`);
  t.ok(Math.abs(frequencyOf(customer) - 880) < 25, `at 880 Hz (${frequencyOf(customer).toFixed(0)})`);
});
