/** The payload of a G.711 RTP packet (PCMU 0, PCMA 8); undefined for anything else. */
export function g711Payload(packet: Buffer): { type: 0 | 8; data: Buffer } | undefined {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return undefined;
  const type = packet[1]! & 0x7f;
  if (type !== 0 && type !== 8) return undefined;
  let offset = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    if (packet.length < offset + 4) return undefined;
    offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  }
  let end = packet.length;
  if (packet[0]! & 0x20) end -= packet[end - 1]!;
  return end > offset ? { type, data: packet.subarray(offset, end) } : undefined;
}
