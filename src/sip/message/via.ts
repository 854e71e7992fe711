import { Params } from './params';
import { Scanner } from './scanner';
import { parseHostPort } from './uri';

/** RFC 3261 §8.1.1.7: a branch starting with this cookie was built by an RFC 3261 element. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

/** One via-parm: `SIP/2.0/UDP host:port;branch=...;received=...;rport` (RFC 3261 §20.42, RFC 3581). */
export class Via {
  constructor(
    public transport: string,
    public host: string,
    public port?: number,
    public params: Params = new Params(),
    public protocol = 'SIP/2.0',
  ) {}

  get branch(): string | undefined {
    return this.params.get('branch') ?? undefined;
  }

  get received(): string | undefined {
    return this.params.get('received') ?? undefined;
  }

  /** `rport` present: the number it carries, or `null` when the sender asked for it without a value. */
  get rport(): number | null | undefined {
    const value = this.params.get('rport');
    return value === undefined ? undefined : value === null ? null : Number(value);
  }

  /** sent-by host without IPv6 brackets. */
  get hostAddress(): string {
    return this.host.startsWith('[') ? this.host.slice(1, -1) : this.host;
  }

  clone(): Via {
    return new Via(this.transport, this.host, this.port, this.params.clone(), this.protocol);
  }

  toString(): string {
    return `${this.protocol}/${this.transport} ${this.host}${this.port === undefined ? '' : `:${this.port}`}${this.params.toString()}`;
  }

  static parse(value: string): Via {
    const s = new Scanner(value);
    s.skipWs();
    const name = s.token('protocol name');
    s.expect('/', '/ after protocol name');
    const version = s.token('protocol version');
    s.expect('/', '/ after protocol version');
    const transport = s.token('transport').toUpperCase();
    s.skipWs();
    const start = s.pos;
    while (!s.done && !';, \t'.includes(s.peek())) s.pos++;
    if (s.pos === start) s.fail('expected sent-by');
    const { host, port } = parseHostPort(value.slice(start, s.pos), value);
    const params = Params.scan(s);
    s.skipWs();
    if (!s.done) s.fail('unexpected text in Via');
    for (const key of ['branch', 'received', 'ttl', 'maddr']) {
      if (params.get(key) === null) s.fail(`Via parameter ${key} needs a value`);
    }
    const rport = params.get('rport');
    if (rport !== undefined && rport !== null && !/^[0-9]{1,5}$/.test(rport)) s.fail('bad rport');
    return new Via(transport, host, port, params, `${name.toUpperCase()}/${version}`);
  }
}
