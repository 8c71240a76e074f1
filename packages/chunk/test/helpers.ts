/** The AMF0 string at the start of a command/data payload (0x02 + u16 length + bytes), or undefined. */
export function amf0StringAt(payload: Uint8Array, at = 0): { value: string; end: number } | undefined {
  if (payload[at] !== 0x02 || payload.length < at + 3) return undefined;
  const len = (payload[at + 1]! << 8) | payload[at + 2]!;
  if (payload.length < at + 3 + len) return undefined;
  return { value: Buffer.from(payload.subarray(at + 3, at + 3 + len)).toString('latin1'), end: at + 3 + len };
}
