import { CapsEx, type EnhancedRtmpCapabilities, FourCcInfo, type NegotiatedEnhancedRtmp } from '@rtmp/client';

/** The names of the bits set in `bits` among `names` (a flag table such as `CapsEx`), unknown bits in hex. */
function flagNames(bits: number, names: Readonly<Record<string, number>>): string[] {
  const out: string[] = [];
  let rest = bits >>> 0;
  for (const [name, bit] of Object.entries(names)) {
    if ((rest & bit) === 0) continue;
    out.push(name);
    rest = (rest & ~bit) >>> 0;
  }
  if (rest !== 0) out.push(`0x${rest.toString(16)}`);
  return out;
}

/** `15 (Reconnect, Multitrack, ModEx, TimestampNanoOffset)`. */
function capsExText(bits: number): string {
  const names = flagNames(bits, CapsEx);
  return names.length === 0 ? `${bits}` : `${bits} (${names.join(', ')})`;
}

function mapText(map: Readonly<Record<string, number>>): string {
  const entries = Object.entries(map).map(([fourCc, flags]) => {
    const names = flagNames(flags, FourCcInfo);
    return `${fourCc} ${names.length === 0 ? '-' : names.join('|')}`;
  });
  return entries.length === 0 ? '(empty)' : entries.join(', ');
}

/** What `probe --json` reports of the E-RTMP negotiation. */
export interface EnhancedRtmpSummary {
  /** What the server stated in its connect `_result`; null when nothing (a legacy server such as nginx-rtmp). */
  server: EnhancedRtmpCapabilities | null;
  /** The capsEx bits we announced and the server stated, with their names. */
  capsEx: number;
  capsExNames: string[];
}

/** The JSON summary of a connect's E-RTMP negotiation. */
export function enhancedSummary(negotiated: NegotiatedEnhancedRtmp): EnhancedRtmpSummary {
  return {
    server: negotiated.server ?? null,
    capsEx: negotiated.capsEx,
    capsExNames: flagNames(negotiated.capsEx, CapsEx),
  };
}

/** The probe's text lines about the E-RTMP negotiation. */
export function enhancedLines(negotiated: NegotiatedEnhancedRtmp): string[] {
  const server = negotiated.server;
  if (server === undefined)
    return ['  E-RTMP: the server states no Enhanced RTMP capabilities (a legacy server)'];
  const lines = ['  E-RTMP (as the server states it):'];
  if (server.capsEx !== undefined) {
    lines.push(`    capsEx: ${capsExText(server.capsEx)}; both sides: ${capsExText(negotiated.capsEx)}`);
  }
  if (server.videoFourCcInfoMap) lines.push(`    video: ${mapText(server.videoFourCcInfoMap)}`);
  if (server.audioFourCcInfoMap) lines.push(`    audio: ${mapText(server.audioFourCcInfoMap)}`);
  if (server.fourCcList) lines.push(`    fourCcList: ${server.fourCcList.join(' ') || '(empty)'}`);
  return lines;
}
