/** One UDP datagram out of a capture file, with where it went and when it was captured. */
export interface CapturedDatagram {
  readonly timeMs: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Buffer;
}

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_RAW = 101;

/**
 * Reads the UDP datagrams of a classic pcap file (rtpengine's pcap recording writes raw IP, link type 101;
 * Ethernet captures are read too). Other protocols and truncated records are skipped.
 */
export function readPcapUdp(file: Buffer): CapturedDatagram[] {
  if (file.length < 24) throw new Error('not a pcap file: shorter than its 24-byte header');
  const magic = file.readUInt32LE(0);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const big = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
  if (!little && !big) throw new Error(`not a pcap file: magic 0x${magic.toString(16)}`);
  const nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (at: number) => (little ? file.readUInt32LE(at) : file.readUInt32BE(at));
  const linkType = u32(20);
  if (linkType !== LINKTYPE_RAW && linkType !== LINKTYPE_ETHERNET) throw new Error(`pcap link type ${linkType} is not raw IP or Ethernet`);
  const out: CapturedDatagram[] = [];
  for (let at = 24; at + 16 <= file.length;) {
    const timeMs = u32(at) * 1000 + u32(at + 4) / (nanos ? 1e6 : 1e3);
    const length = u32(at + 8);
    const frame = file.subarray(at + 16, Math.min(file.length, at + 16 + length));
    at += 16 + length;
    const datagram = udpOf(linkType === LINKTYPE_ETHERNET ? frame.subarray(14) : frame);
    if (datagram) out.push({ timeMs, ...datagram });
  }
  return out;
}

function udpOf(ip: Buffer): Omit<CapturedDatagram, 'timeMs'> | undefined {
  if (ip.length < 1) return undefined;
  const version = ip[0]! >> 4;
  let offset: number;
  if (version === 4) {
    if (ip.length < 20 || ip[9] !== 17) return undefined;
    offset = (ip[0]! & 0x0f) * 4;
  } else if (version === 6) {
    // Extension headers are not used on media packets; anything but UDP right after the header is skipped.
    if (ip.length < 40 || ip[6] !== 17) return undefined;
    offset = 40;
  } else {
    return undefined;
  }
  if (ip.length < offset + 8) return undefined;
  return { srcPort: ip.readUInt16BE(offset), dstPort: ip.readUInt16BE(offset + 2), payload: ip.subarray(offset + 8) };
}
