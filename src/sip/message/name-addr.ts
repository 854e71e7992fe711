import { SipSyntaxError } from './errors';
import { Params } from './params';
import { Scanner, isToken, quote, unquote } from './scanner';
import { parseUri, type Uri } from './uri';

/**
 * `[display-name] <uri> *(;param)` or `addr-spec *(;param)`: the value of From, To, Contact, Route,
 * Record-Route, Refer-To and their kin (RFC 3261 §20.10). Parameters here belong to the header field,
 * never to the URI (§20: in addr-spec form the URI's own parameters are taken as header parameters).
 */
export class NameAddr {
  constructor(
    public uri: Uri,
    public params: Params = new Params(),
    /** The display name as written: a quoted-string or tokens separated by white space. */
    public displayRaw?: string,
  ) {}

  get displayName(): string | undefined {
    return this.displayRaw === undefined ? undefined : unquote(this.displayRaw);
  }

  set displayName(name: string | undefined) {
    this.displayRaw = name === undefined ? undefined : quote(name);
  }

  get tag(): string | undefined {
    return this.params.get('tag') ?? undefined;
  }

  set tag(tag: string | undefined) {
    if (tag === undefined) this.params.delete('tag');
    else this.params.set('tag', tag);
  }

  clone(): NameAddr {
    return new NameAddr(this.uri.clone(), this.params.clone(), this.displayRaw);
  }

  toString(): string {
    const display = this.displayRaw === undefined ? '' : `${this.displayRaw} `;
    return `${display}<${this.uri.toString()}>${this.params.toString()}`;
  }

  static parse(value: string): NameAddr {
    const s = new Scanner(value);
    s.skipWs();
    let displayRaw: string | undefined;
    let uriText: string;
    if (s.peek() === '"') {
      displayRaw = s.quotedRaw();
      s.skipWs();
      if (s.peek() !== '<') s.fail('expected <uri> after display name');
    }
    if (s.peek() === '<' || (displayRaw === undefined && value.includes('<'))) {
      if (s.peek() !== '<') {
        const lt = value.indexOf('<', s.pos);
        const words = value.slice(s.pos, lt).trim();
        // An unquoted display name is *(token LWS): commas, periods in quotes only (RFC 4475 §3.1.2.15).
        if (!words.split(/[ \t]+/).every(isToken)) throw new SipSyntaxError('display name with non-token characters must be quoted', value);
        displayRaw = words;
        s.pos = lt;
      }
      s.pos++;
      const gt = value.indexOf('>', s.pos);
      if (gt < 0) s.fail('unterminated <uri>');
      uriText = value.slice(s.pos, gt);
      s.pos = gt + 1;
    } else {
      const start = s.pos;
      while (!s.done && s.peek() !== ';' && s.peek() !== ' ' && s.peek() !== '\t') s.pos++;
      uriText = value.slice(start, s.pos);
      // §20: a URI with a comma, question mark or semicolon must be enclosed in <> (RFC 4475 §3.1.2.13).
      if (/[?,]/.test(uriText)) throw new SipSyntaxError('URI with headers or commas must be enclosed in <>', value);
    }
    const uri = parseUri(uriText);
    const params = Params.scan(s);
    s.skipWs();
    if (!s.done) s.fail('unexpected text after address');
    return new NameAddr(uri, params, displayRaw);
  }
}
