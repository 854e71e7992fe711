import { createSocket } from 'node:dgram';

/** Sends one OPTIONS over UDP from 127.0.0.1 to `port` and resolves with the first datagram back (text), or rejects after `timeoutMs`. */
export async function probeOptions(t: { teardown(fn: () => unknown): void }, port: number, callId: string, timeoutMs = 5000): Promise<string> {
  const socket = createSocket('udp4');
  t.teardown(() => socket.close());
  await new Promise<void>((done) => socket.bind(0, '127.0.0.1', () => done()));
  const reply = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to OPTIONS ${callId} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('message', (m) => {
      clearTimeout(timer);
      resolve(m.toString());
    });
  });
  socket.send([
    `OPTIONS sip:onecc@127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${socket.address().port};branch=z9hG4bK-${callId}`,
    'From: <sip:probe@127.0.0.1>;tag=p', `To: <sip:onecc@127.0.0.1:${port}>`, `Call-ID: ${callId}`, 'CSeq: 1 OPTIONS',
    'Max-Forwards: 70', 'Content-Length: 0', '', '',
  ].join('\r\n'), port, '127.0.0.1');
  return reply;
}
