/**
 * The ZIP format's numbers (PKWARE's APPNOTE.TXT), defined once for both
 * readers: core/zip-read.ts (browser and CLI, reads users' exports) and
 * core/node/validate-bundle.ts (the server's validator). Browser-safe.
 */

export const LOCAL_HEADER_SIGNATURE = 0x04034b50;
export const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
export const EOCD_SIGNATURE = 0x06054b50;
export const ZIP64_EOCD_SIGNATURE = 0x06064b50;
export const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
export const DATA_DESCRIPTOR_SIGNATURE = 0x08074b50;

/** Fixed parts of the records, in bytes (names, extra fields and comments follow them). */
export const LOCAL_HEADER_BYTES = 30;
export const CENTRAL_HEADER_BYTES = 46;
export const EOCD_BYTES = 22;
export const ZIP64_LOCATOR_BYTES = 20;
export const ZIP64_EOCD_BYTES = 56;
/** A data descriptor: CRC-32 and the two sizes, after an optional 4-byte signature. */
export const DATA_DESCRIPTOR_BYTES = 12;

/** General-purpose flag bits. */
export const FLAG_ENCRYPTED = 0x1;
export const FLAG_DATA_DESCRIPTOR = 0x8;
export const FLAG_STRONG_ENCRYPTION = 0x40;
export const FLAG_UTF8 = 0x800;

export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;
/** WinZip AES: the method slot says 99 and the real method hides in an extra field. */
export const METHOD_AES = 99;

export const EXTRA_ZIP64 = 0x0001;
/** Info-ZIP's Unicode path: a second name for the entry. */
export const EXTRA_UNICODE_PATH = 0x7075;

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffffffff;

/** Unix file types, in the upper 16 bits of the external attributes when the host (below) records them. */
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
const HOST_UNIX = 3;
const HOST_MACOS = 19;

/** Whether an entry is encrypted by any of the schemes a flag or the method announces. */
export function isEncrypted(flags: number, method: number): boolean {
  return (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) !== 0 || method === METHOD_AES;
}

/** The entry's Unix file type (S_IF* bits), or 0 when its host does not record one. */
export function unixFileType(versionMadeBy: number, externalAttributes: number): number {
  const host = versionMadeBy >>> 8;
  return host === HOST_UNIX || host === HOST_MACOS ? (externalAttributes >>> 16) & S_IFMT : 0;
}
