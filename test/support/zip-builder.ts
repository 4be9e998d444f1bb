/**
 * Builds ZIP files byte by byte for tests, with every field under control:
 * the hostile cases (symlinks, encryption flags, ZIP64 records, overlapping
 * entries, local/central disagreements) cannot be made with a normal ZIP tool.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import zlib from 'node:zlib';

export interface ZipEntrySpec {
  name: string | Uint8Array;
  data?: Uint8Array | string;
  /** 0 stored, 8 deflate (default), anything else is written as is (data stored raw). */
  method?: number;
  flags?: number;
  /** Upper byte: host system (3 = Unix); lower byte: spec version. */
  versionMadeBy?: number;
  externalAttributes?: number;
  /** Extra field bytes in the central directory entry. */
  centralExtra?: Uint8Array;
  localExtra?: Uint8Array;
  /** Overrides of what the central directory declares. */
  central?: {
    crc32?: number;
    compressedSize?: number;
    uncompressedSize?: number;
    name?: string;
    method?: number;
    flags?: number;
    localHeaderOffset?: number;
  };
  /** Overrides of what the local header declares. */
  local?: { crc32?: number; compressedSize?: number; uncompressedSize?: number; name?: string; method?: number; flags?: number };
  /** Write a data descriptor after the data (sets flag bit 3; local sizes/CRC become 0). */
  dataDescriptor?: boolean;
  /** Pre-compressed payload to write instead of deflating `data`. */
  rawPayload?: Uint8Array;
  /** Write the data descriptor without its optional signature. */
  descriptorWithoutSignature?: boolean;
  /** Overrides of what the data descriptor declares. */
  descriptor?: { crc32?: number; compressedSize?: number; uncompressedSize?: number };
  /**
   * ZIP64 as streaming zippers write it whatever the size (APPNOTE 4.5.3): saturated
   * sizes in the local header with both sizes in its ZIP64 field (zeros with a
   * data descriptor, whose sizes are then 8 bytes); saturated sizes and offset
   * in the central directory with all three in its ZIP64 field.
   */
  zip64?: boolean;
  /** The entry's comment in the central directory. */
  centralComment?: Uint8Array;
  /** The central directory's "disk number start". */
  diskStart?: number;
  /** Write the local entry but leave it out of the central directory (a hidden entry). */
  unlisted?: boolean;
}

export interface ZipSpec {
  entries: ZipEntrySpec[];
  /** Bytes before the first local header. */
  prefix?: Uint8Array;
  /** Bytes after the end record. */
  suffix?: Uint8Array;
  /** Insert a ZIP64 end-of-central-directory locator before the end record. */
  zip64Locator?: boolean;
  diskNumber?: number;
  /** Override the entry count in the end record. */
  entryCount?: number;
  comment?: string;
  /** Write a ZIP64 end record and locator, and saturate the end record's fields (as streaming zippers do). */
  zip64End?: boolean;
  /** Overrides of the end record's fields. */
  end?: { disk?: number; directoryDisk?: number; countOnDisk?: number; count?: number; size?: number; offset?: number };
  /** Overrides of the ZIP64 end record's and locator's fields. */
  zip64Record?: {
    disk?: number;
    directoryDisk?: number;
    countOnDisk?: number;
    count?: number;
    size?: number;
    offset?: number;
    locatorDisk?: number;
    totalDisks?: number;
  };
}

const enc = new TextEncoder();

function bytesOf(value: Uint8Array | string | undefined): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  return typeof value === 'string' ? enc.encode(value) : value;
}

export function crc32(data: Uint8Array): number {
  return zlib.crc32(data) >>> 0;
}

function zip64Field(...values: number[]): Buffer {
  const field = Buffer.alloc(4 + 8 * values.length);
  field.writeUInt16LE(0x0001, 0);
  field.writeUInt16LE(8 * values.length, 2);
  values.forEach((value, i) => field.writeBigUInt64LE(BigInt(value), 4 + 8 * i));
  return field;
}

export function buildZip(spec: ZipSpec): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const push = (buffer: Buffer) => {
    parts.push(buffer);
    offset += buffer.length;
  };
  if (spec.prefix) push(Buffer.from(spec.prefix));
  for (const entry of spec.entries) {
    const data = bytesOf(entry.data);
    const method = entry.method ?? 8;
    const payload = entry.rawPayload ?? (method === 8 ? zlib.deflateRawSync(data) : data);
    const crc = crc32(data);
    const name = bytesOf(entry.name);
    const flags = (entry.flags ?? 0x800) | (entry.dataDescriptor ? 0x8 : 0);
    const localName = entry.local?.name !== undefined ? enc.encode(entry.local.name) : name;
    const deferred = entry.dataDescriptor ? 0 : undefined;
    const localCompressed = entry.local?.compressedSize ?? deferred ?? payload.length;
    const localUncompressed = entry.local?.uncompressedSize ?? deferred ?? data.length;
    const localExtra = Buffer.concat([
      ...(entry.zip64 ? [zip64Field(localUncompressed, localCompressed)] : []),
      Buffer.from(entry.localExtra ?? new Uint8Array(0)),
    ]);
    const localHeaderOffset = offset;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(entry.zip64 ? 45 : 20, 4);
    local.writeUInt16LE(entry.local?.flags ?? flags, 6);
    local.writeUInt16LE(entry.local?.method ?? method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(entry.local?.crc32 ?? (entry.dataDescriptor ? 0 : crc), 14);
    local.writeUInt32LE(entry.zip64 ? 0xffffffff : localCompressed, 18);
    local.writeUInt32LE(entry.zip64 ? 0xffffffff : localUncompressed, 22);
    local.writeUInt16LE(localName.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    push(Buffer.concat([local, Buffer.from(localName), localExtra, Buffer.from(payload)]));
    if (entry.dataDescriptor) {
      const sizeBytes = entry.zip64 ? 8 : 4;
      const descriptor = Buffer.alloc(8 + 2 * sizeBytes);
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(entry.descriptor?.crc32 ?? crc, 4);
      const sizes = [entry.descriptor?.compressedSize ?? payload.length, entry.descriptor?.uncompressedSize ?? data.length];
      sizes.forEach((size, i) =>
        sizeBytes === 8 ? descriptor.writeBigUInt64LE(BigInt(size), 8 + 8 * i) : descriptor.writeUInt32LE(size, 8 + 4 * i),
      );
      push(entry.descriptorWithoutSignature ? descriptor.subarray(4) : descriptor);
    }
    if (entry.unlisted) continue;
    const centralCompressed = entry.central?.compressedSize ?? payload.length;
    const centralUncompressed = entry.central?.uncompressedSize ?? data.length;
    const centralOffset = entry.central?.localHeaderOffset ?? localHeaderOffset;
    const centralExtra = Buffer.concat([
      ...(entry.zip64 ? [zip64Field(centralUncompressed, centralCompressed, centralOffset)] : []),
      Buffer.from(entry.centralExtra ?? new Uint8Array(0)),
    ]);
    const centralName = entry.central?.name !== undefined ? enc.encode(entry.central.name) : name;
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(entry.versionMadeBy ?? 0x0314, 4);
    header.writeUInt16LE(entry.zip64 ? 45 : 20, 6);
    header.writeUInt16LE(entry.central?.flags ?? flags, 8);
    header.writeUInt16LE(entry.central?.method ?? method, 10);
    header.writeUInt16LE(0, 12);
    header.writeUInt16LE(0x21, 14);
    header.writeUInt32LE(entry.central?.crc32 ?? crc, 16);
    header.writeUInt32LE(entry.zip64 ? 0xffffffff : centralCompressed, 20);
    header.writeUInt32LE(entry.zip64 ? 0xffffffff : centralUncompressed, 24);
    header.writeUInt16LE(centralName.length, 28);
    header.writeUInt16LE(centralExtra.length, 30);
    const entryComment = Buffer.from(entry.centralComment ?? new Uint8Array(0));
    header.writeUInt16LE(entryComment.length, 32);
    header.writeUInt16LE(entry.diskStart ?? 0, 34);
    header.writeUInt16LE(0, 36);
    const isDirectory = centralName[centralName.length - 1] === 0x2f;
    header.writeUInt32LE(entry.externalAttributes ?? ((isDirectory ? 0o040755 : 0o100644) << 16) >>> 0, 38);
    header.writeUInt32LE(entry.zip64 ? 0xffffffff : centralOffset, 42);
    central.push(Buffer.concat([header, Buffer.from(centralName), centralExtra, entryComment]));
  }
  const centralStart = offset;
  for (const c of central) push(c);
  const centralSize = offset - centralStart;
  const count = spec.entryCount ?? central.length;
  if (spec.zip64End) {
    const z = spec.zip64Record ?? {};
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeUInt32LE(z.disk ?? 0, 16);
    record.writeUInt32LE(z.directoryDisk ?? 0, 20);
    record.writeBigUInt64LE(BigInt(z.countOnDisk ?? count), 24);
    record.writeBigUInt64LE(BigInt(z.count ?? count), 32);
    record.writeBigUInt64LE(BigInt(z.size ?? centralSize), 40);
    record.writeBigUInt64LE(BigInt(z.offset ?? centralStart), 48);
    const recordOffset = offset;
    push(record);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeUInt32LE(z.locatorDisk ?? 0, 4);
    locator.writeBigUInt64LE(BigInt(recordOffset), 8);
    locator.writeUInt32LE(z.totalDisks ?? 1, 16);
    push(locator);
  } else if (spec.zip64Locator) {
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeUInt32LE(0, 4);
    locator.writeBigUInt64LE(BigInt(offset), 8);
    locator.writeUInt32LE(1, 16);
    push(locator);
  }
  const comment = enc.encode(spec.comment ?? '');
  const saturated = spec.zip64End === true;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(spec.end?.disk ?? spec.diskNumber ?? 0, 4);
  end.writeUInt16LE(spec.end?.directoryDisk ?? spec.diskNumber ?? 0, 6);
  end.writeUInt16LE(spec.end?.countOnDisk ?? (saturated ? 0xffff : count), 8);
  end.writeUInt16LE(spec.end?.count ?? (saturated ? 0xffff : count), 10);
  end.writeUInt32LE(spec.end?.size ?? (saturated ? 0xffffffff : centralSize), 12);
  end.writeUInt32LE(spec.end?.offset ?? (saturated ? 0xffffffff : centralStart), 16);
  end.writeUInt16LE(comment.length, 20);
  push(Buffer.concat([end, Buffer.from(comment)]));
  if (spec.suffix) push(Buffer.from(spec.suffix));
  return Buffer.concat(parts);
}

/** All files of a folder as entries (relative POSIX paths), sorted. */
export function folderEntries(folder: string): ZipEntrySpec[] {
  const out: ZipEntrySpec[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push({ name: relative(folder, path).split('\\').join('/'), data: readFileSync(path) });
    }
  };
  walk(folder);
  return out;
}

export { SAMPLES_DIR } from './samples';
import { SAMPLES_DIR } from './samples';

export function sampleNames(): string[] {
  return readdirSync(SAMPLES_DIR)
    .filter((name) => statSync(join(SAMPLES_DIR, name)).isDirectory())
    .sort();
}

/** A minimal valid workflow: one node whose settings live in `Node (#1)/settings.xml`. */
export function workflowXml(nodes: { id: string; settingsFile: string; nodeType?: string }[]): string {
  const configs = nodes
    .map(
      (n) => `    <config key="node_${n.id}">
      <entry key="id" type="xint" value="${n.id}"/>
      <entry key="node_settings_file" type="xstring" value="${n.settingsFile}"/>
      <entry key="node_type" type="xstring" value="${n.nodeType ?? 'NativeNode'}"/>
    </config>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<config xmlns="http://www.knime.org/2008/09/XMLConfig" key="workflow.knime">
  <config key="nodes">
${configs}
  </config>
</config>
`;
}

export const SETTINGS_XML = `<?xml version="1.0" encoding="UTF-8"?>
<config xmlns="http://www.knime.org/2008/09/XMLConfig" key="settings.xml">
  <entry key="factory" type="xstring" value="org.knime.base.node.io.filehandling.csv.reader.CSVTableReaderNodeFactory"/>
  <entry key="node-name" type="xstring" value="CSV Reader"/>
</config>
`;

/** The entries of a small valid bundle, to mutate in tests. */
export function minimalBundle(): ZipEntrySpec[] {
  return [
    { name: 'workflow.knime', data: workflowXml([{ id: '1', settingsFile: 'CSV Reader (#1)/settings.xml' }]) },
    { name: 'CSV Reader (#1)/settings.xml', data: SETTINGS_XML },
  ];
}
