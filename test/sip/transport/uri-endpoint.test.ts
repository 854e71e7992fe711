import t from 'tap';
import { SipUri, parseUri } from '../../../src/sip/message/index';
import { endpointForUri } from '../../../src/sip/transport/index';

const at = (text: string, fallback?: 'udp' | 'tcp' | 'ws') => endpointForUri(parseUri(text) as SipUri, fallback);

t.test('endpointForUri: transport parameter, sips, default protocol and port (RFC 3261 §18.1.1, §19.1)', async (t) => {
  t.same(at('sip:a@192.0.2.1'), { protocol: 'udp', address: '192.0.2.1', port: 5060 });
  t.same(at('sip:a@192.0.2.1:5070;transport=TCP'), { protocol: 'tcp', address: '192.0.2.1', port: 5070 });
  t.same(at('sip:a@example.com;transport=tls'), { protocol: 'tls', address: 'example.com', port: 5061 });
  t.same(at('sips:a@example.com'), { protocol: 'tls', address: 'example.com', port: 5061 });
  t.same(at('sips:a@example.com;transport=tcp'), { protocol: 'tls', address: 'example.com', port: 5061 }, 'sips over TCP is TLS');
  t.same(at('sips:a@example.com:443;transport=ws'), { protocol: 'wss', address: 'example.com', port: 443 }, 'sips over WebSocket is WSS');
  t.same(at('sip:a@[2001:db8::1]:5062'), { protocol: 'udp', address: '2001:db8::1', port: 5062 });
  t.same(at('sip:a@192.0.2.1', 'tcp'), { protocol: 'tcp', address: '192.0.2.1', port: 5060 }, 'no transport parameter: the default given');
  t.same(at('sip:a@192.0.2.1;transport=sctp', 'tcp'), { protocol: 'tcp', address: '192.0.2.1', port: 5060 }, 'an unsupported transport: the default');
});
