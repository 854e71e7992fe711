import type { DtmfDigit } from '../dtmf/dtmf-listener';

export interface CollectOptions {
  /** Stop after this many digits. */
  readonly maxDigits: number;
  /** Digits that end the input (not included in the result), e.g. '#'. */
  readonly terminators?: string;
  /** Give up when no first digit comes within this time. */
  readonly firstDigitTimeoutMs: number;
  /** Stop when the next digit does not come within this time. */
  readonly interDigitTimeoutMs: number;
}

export interface CollectResult {
  readonly digits: string;
  readonly reason: 'max-digits' | 'terminator' | 'timeout' | 'call-ended';
}

interface DigitSource {
  on(event: 'dtmf', listener: (digit: DtmfDigit) => void): unknown;
  off(event: 'dtmf', listener: (digit: DtmfDigit) => void): unknown;
  on(event: 'ended', listener: () => void): unknown;
  off(event: 'ended', listener: () => void): unknown;
}

/**
 * Takes digits from `typeAhead` (consuming them) and then as they arrive, until one of the stop conditions. Digits
 * left in the buffer after a stop stay there for the next collection.
 */
export function collectDigits(source: DigitSource, leg: string, typeAhead: DtmfDigit[], opts: CollectOptions): Promise<CollectResult> {
  return new Promise((resolve) => {
    let digits = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = (reason: CollectResult['reason']) => {
      clearTimeout(timer);
      source.off('dtmf', onDigit);
      source.off('ended', onEnded);
      resolve({ digits, reason });
    };
    const take = (): boolean => {
      while (typeAhead.length > 0) {
        const next = typeAhead.shift()!;
        if (opts.terminators?.includes(next.digit)) return (finish('terminator'), true);
        digits += next.digit;
        if (digits.length >= opts.maxDigits) return (finish('max-digits'), true);
      }
      clearTimeout(timer);
      timer = setTimeout(() => finish('timeout'), digits.length === 0 ? opts.firstDigitTimeoutMs : opts.interDigitTimeoutMs);
      return false;
    };
    // The call routes each digit into the buffer before emitting it, so the buffer is the single source.
    const onDigit = (digit: DtmfDigit) => {
      if (digit.leg === leg) take();
    };
    const onEnded = () => finish('call-ended');
    if (take()) return;
    source.on('dtmf', onDigit);
    source.on('ended', onEnded);
  });
}
