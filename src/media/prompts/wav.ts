/** What a WAV file's header says about its audio. */
export interface WavInfo {
  /** 1 for integer PCM (WAVE_FORMAT_EXTENSIBLE with a PCM sub-format counts as 1). */
  readonly format: number;
  readonly sampleRate: number;
  readonly channels: number;
  readonly bitsPerSample: number;
  /** Where the samples start in the file, and how many bytes they take. */
  readonly dataOffset: number;
  readonly dataBytes: number;
  readonly durationMs: number;
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/**
 * Reads the RIFF chunks of a WAV file. Returns a reason instead of the info when the bytes are not a complete WAV
 * file with a format chunk and a data chunk (a truncated copy is caught here: its data chunk overruns the file).
 */
export function parseWav(bytes: Buffer): WavInfo | { reason: string } {
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== 'RIFF' || bytes.toString('latin1', 8, 12) !== 'WAVE') {
    return { reason: 'not a WAV file (no RIFF/WAVE header)' };
  }
  let fmt: Omit<WavInfo, 'dataOffset' | 'dataBytes' | 'durationMs'> | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('latin1', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.length) return { reason: 'truncated format chunk' };
      let format = bytes.readUInt16LE(body);
      // The extensible header's sub-format GUID starts with the plain format code.
      if (format === WAVE_FORMAT_EXTENSIBLE && size >= 40) format = bytes.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: bytes.readUInt16LE(body + 2),
        sampleRate: bytes.readUInt32LE(body + 4),
        bitsPerSample: bytes.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (fmt === undefined) return { reason: 'data chunk before the format chunk' };
      if (body + size > bytes.length) {
        return { reason: `truncated: the data chunk declares ${size} bytes, the file holds ${bytes.length - body}` };
      }
      const bytesPerSecond = fmt.sampleRate * fmt.channels * (fmt.bitsPerSample / 8);
      const durationMs = bytesPerSecond > 0 ? (size / bytesPerSecond) * 1000 : 0;
      return { ...fmt, dataOffset: body, dataBytes: size, durationMs };
    }
    offset = body + size + (size % 2); // chunks are padded to an even length
  }
  return { reason: fmt === undefined ? 'no format chunk' : 'no data chunk' };
}

export function describeFormat(info: Pick<WavInfo, 'format' | 'sampleRate' | 'channels' | 'bitsPerSample'>): string {
  const channels = info.channels === 1 ? 'mono' : info.channels === 2 ? 'stereo' : `${info.channels} channels`;
  const encoding = info.format === WAVE_FORMAT_PCM ? 'PCM' : `format ${info.format}`;
  return `${info.sampleRate} Hz ${channels} ${info.bitsPerSample}-bit ${encoding}`;
}

/** A 16-bit PCM WAV file holding `samples`. */
export function encodeWav(samples: Int16Array, sampleRate: number): Buffer {
  const dataBytes = samples.length * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(dataBytes, 40);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(samples[i]!, 44 + i * 2);
  return out;
}
