/**
 * What the user picked, as bundler sources: the files of a folder (directory
 * picker or a dropped folder) or the entries of a `.knwf`/`.zip`. Nothing is
 * read here: the bundler reads only the files the workflow references, and
 * for an archive only those entries are ever inflated.
 */
import { pickedFileSources, type PickedFile, type SourceFile } from '../../core/bundler';
import { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from '../../core/limits';
import { blobSource, zipSourceFiles } from '../../core/zip-read';
import { withReadAhead } from './read-ahead';

export interface Selection {
  sources: SourceFile[];
  /** The picked folder's or file's name: the workflow's name when workflow.knime sits at the top. */
  sourceName: string;
  kind: 'folder' | 'archive';
  /** Files in the selection (for the "N files left out" line). */
  fileCount: number;
}

export const ARCHIVE_PATTERN = /\.(knwf|zip)$/i;

export class SelectionError extends Error {
  override readonly name = 'SelectionError';
}

/** The files of `<input webkitdirectory>`: their paths start with the picked folder's name. */
export function folderSelection(files: ArrayLike<PickedFile>, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Selection {
  const list = Array.from(files);
  if (list.length === 0) throw new SelectionError('The folder is empty.');
  const first = list[0]!;
  const sourceName = (first.webkitRelativePath || first.name).split('/')[0] ?? first.name;
  return { sources: withReadAhead(pickedFileSources(list), limits), sourceName, kind: 'folder', fileCount: list.length };
}

export async function archiveSelection(file: File, limits: BundleLimits): Promise<Selection> {
  const sources = await zipSourceFiles(blobSource(file), { limits });
  return { sources, sourceName: file.name, kind: 'archive', fileCount: sources.length };
}

/** Most files a dropped folder may list before the page gives up (a workflow folder with data can be huge). */
const MAX_DROPPED_FILES = 200_000;

async function walkDirectory(root: FileSystemDirectoryEntry): Promise<PickedFile[]> {
  const files: PickedFile[] = [];
  const pending: FileSystemDirectoryEntry[] = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const reader = dir.createReader();
    // readEntries answers in batches (100 in Chrome) until it returns an empty one.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) break;
      for (const entry of batch) if (entry.isDirectory) pending.push(entry as FileSystemDirectoryEntry);
      // Only metadata is fetched here (size); contents are read later, and only when the workflow needs them.
      const found = await Promise.all(
        batch
          .filter((entry) => entry.isFile)
          .map(async (entry): Promise<PickedFile> => {
            const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
            return {
              name: file.name,
              size: file.size,
              webkitRelativePath: entry.fullPath.replace(/^\/+/, ''),
              arrayBuffer: () => file.arrayBuffer(),
            };
          }),
      );
      files.push(...found);
      if (files.length > MAX_DROPPED_FILES)
        throw new SelectionError(`The dropped folder holds more than ${MAX_DROPPED_FILES} files; drop the workflow folder itself.`);
    }
  }
  return files;
}

/** A drop: one folder, or one `.knwf`/`.zip` file. */
export async function dropSelection(transfer: DataTransfer, limits: BundleLimits): Promise<Selection> {
  const items = Array.from(transfer.items ?? []).filter((item) => item.kind === 'file');
  // Entries must be taken synchronously, before the drop event returns.
  const entries = items.map((item) => (typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null));
  const directories = entries.filter((e): e is FileSystemDirectoryEntry => e !== null && e.isDirectory);
  if (directories.length > 1) throw new SelectionError('Drop one workflow folder at a time.');
  if (directories.length === 1) {
    const files = await walkDirectory(directories[0]!);
    if (files.length === 0) throw new SelectionError('The dropped folder is empty.');
    return {
      sources: withReadAhead(pickedFileSources(files), limits),
      sourceName: directories[0]!.name,
      kind: 'folder',
      fileCount: files.length,
    };
  }
  const files = Array.from(transfer.files);
  if (files.length === 1 && ARCHIVE_PATTERN.test(files[0]!.name)) return archiveSelection(files[0]!, limits);
  if (files.length === 0)
    throw new SelectionError('Nothing was dropped that the page can read: drop a workflow folder or a .knwf/.zip file.');
  throw new SelectionError('Drop a workflow folder or a single .knwf/.zip export (single files other than these cannot be converted).');
}
