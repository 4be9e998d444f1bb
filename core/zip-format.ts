/**
 * The ZIP format's numbers (PKWARE's APPNOTE.TXT), defined once for both
 * readers: core/zip-read.ts (browser and CLI, reads users' exports) and
 * core/node/validate-bundle.ts (the server's validator), which both read an
 * archive's structure through core/zip-structure.ts. Browser-safe.
 */

export const SIGNATURE = {
  LOCAL_HEADER: 0x04034b50,
  CENTRAL_HEADER: 0x02014b50,
  EOCD: 0x06054b50,
  ZIP64_EOCD: 0x06064b50,
  ZIP64_LOCATOR: 0x07064b50,
  DATA_DESCRIPTOR: 0x08074b50,
} as const;

/** Fixed parts of the records, in bytes (names, extra fields and comments follow them). */
export const RECORD_BYTES = {
  LOCAL_HEADER: 30,
  CENTRAL_HEADER: 46,
  EOCD: 22,
  ZIP64_LOCATOR: 20,
  ZIP64_EOCD: 56,
  /** CRC-32 and the two sizes, after an optional 4-byte signature. */
  DATA_DESCRIPTOR: 12,
} as const;

/** General-purpose flag bits (bits 1 and 2 are deflate's compression option). */
export const FLAG = { ENCRYPTED: 0x1, DEFLATE_OPTIONS: 0x6, DATA_DESCRIPTOR: 0x8, STRONG_ENCRYPTION: 0x40, UTF8: 0x800 } as const;

/** Compression methods; WinZip AES says 99 and hides the real method in an extra field. */
export const METHOD = { STORED: 0, DEFLATE: 8, AES: 99 } as const;

/** Extra-field ids; Info-ZIP's Unicode path is a second name for the entry. */
export const EXTRA = { ZIP64: 0x0001, UNICODE_PATH: 0x7075 } as const;

/** Unix file types (S_IF* bits), in the upper 16 bits of the external attributes when the host records them. */
export const FILE_TYPE = { MASK: 0o170000, REGULAR: 0o100000, DIRECTORY: 0o040000, SYMLINK: 0o120000 } as const;

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffffffff;

/** "Version made by" hosts whose external attributes carry a Unix mode. */
const HOST_UNIX = 3;
const HOST_MACOS = 19;

/** Whether an entry is encrypted by any of the schemes a flag or the method announces. */
export function isEncrypted(flags: number, method: number): boolean {
  return (flags & (FLAG.ENCRYPTED | FLAG.STRONG_ENCRYPTION)) !== 0 || method === METHOD.AES;
}

/** The entry's Unix file type (FILE_TYPE bits), or 0 when its host does not record one. */
export function unixFileType(versionMadeBy: number, externalAttributes: number): number {
  const host = versionMadeBy >>> 8;
  return host === HOST_UNIX || host === HOST_MACOS ? (externalAttributes >>> 16) & FILE_TYPE.MASK : 0;
}
