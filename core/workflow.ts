/**
 * Reading KNIME's XML config files (workflow.knime, settings.xml) with the
 * strict scanner: the node list and connections of a workflow, and the
 * credential-like values of a node's settings. Browser-safe.
 */
import type { WorkflowNodeRef } from './bundle-policy';
import { CREDENTIAL_KEY_PATTERN } from './bundle-policy';
import { checkXml, type XmlError } from './xml';

export interface WorkflowConnection {
  sourceId: string;
  destId: string;
  sourcePort?: string;
  destPort?: string;
}

export interface ParsedWorkflow {
  nodes: WorkflowNodeRef[];
  connections: WorkflowConnection[];
}

export type WorkflowParse = ({ ok: true } & ParsedWorkflow) | XmlError;

/**
 * Walks KNIME's `<config key=…>` / `<entry key=… value=…/>` tree, calling
 * `onEntry` with the path of config keys (below the root) for every entry.
 */
function walkConfig(
  bytes: Uint8Array,
  onEntry: (path: readonly string[], attributes: Record<string, string>) => void,
  isUtf8?: (bytes: Uint8Array) => boolean,
  maxDepth?: number,
) {
  const path: string[] = [];
  let depth = 0;
  return checkXml(bytes, {
    isUtf8,
    maxDepth,
    onOpen: ({ name, attributes }) => {
      depth++;
      if (name === 'config') {
        // The root config (depth 1) names the file itself; paths start below it.
        if (depth > 1) path.push(attributes.key ?? '');
      } else if (name === 'entry') {
        onEntry(path, attributes);
      }
    },
    onClose: (name) => {
      if (name === 'config' && depth > 1) path.pop();
      depth--;
    },
  });
}

/** Parses a workflow.knime: its nodes (`nodes/node_N`) and connections (`connections/connection_N`). */
export function parseWorkflow(bytes: Uint8Array, options: { isUtf8?: (b: Uint8Array) => boolean; maxDepth?: number } = {}): WorkflowParse {
  const nodes = new Map<string, Partial<WorkflowNodeRef> & { seen: string }>();
  const connections = new Map<string, Partial<WorkflowConnection>>();
  const result = walkConfig(
    bytes,
    (path, { key, value }) => {
      if (path.length !== 2 || key === undefined) return;
      const [section, item] = path as [string, string];
      if (section === 'nodes') {
        const node = nodes.get(item) ?? { seen: item };
        if (key === 'id') node.id = value;
        else if (key === 'node_settings_file') node.settingsFile = value;
        else if (key === 'node_type') node.nodeType = value;
        else if (key === 'node_is_meta') node.isMeta = value === 'true';
        nodes.set(item, node);
      } else if (section === 'connections') {
        const connection = connections.get(item) ?? {};
        if (key === 'sourceID') connection.sourceId = value;
        else if (key === 'destID') connection.destId = value;
        else if (key === 'sourcePort') connection.sourcePort = value;
        else if (key === 'destPort') connection.destPort = value;
        connections.set(item, connection);
      }
    },
    options.isUtf8,
    options.maxDepth,
  );
  if (!result.ok) return result;
  const parsedNodes: WorkflowNodeRef[] = [];
  for (const node of nodes.values()) {
    // A node without a settings file reference cannot be bundled; KNIME always writes one.
    if (node.settingsFile === undefined || node.settingsFile === '') continue;
    parsedNodes.push({
      id: node.id ?? node.seen.replace(/^node_/, ''),
      settingsFile: node.settingsFile,
      ...(node.nodeType !== undefined ? { nodeType: node.nodeType } : {}),
      ...(node.isMeta !== undefined ? { isMeta: node.isMeta } : {}),
    });
  }
  const parsedConnections = [...connections.values()].filter(
    (c): c is WorkflowConnection => c.sourceId !== undefined && c.destId !== undefined,
  );
  return { ok: true, nodes: parsedNodes, connections: parsedConnections };
}

export interface CredentialFinding {
  /** Settings key path below the root, e.g. `model/database/password`. */
  key: string;
}

/**
 * Lists settings entries that look like credentials and hold a value: keys
 * such as password, token, secret, apikey, credentials, or any `xpassword`
 * entry. Only the key is reported, never the value.
 */
export function findCredentialValues(
  bytes: Uint8Array,
  options: { isUtf8?: (b: Uint8Array) => boolean } = {},
): CredentialFinding[] | XmlError {
  const findings: CredentialFinding[] = [];
  const result = walkConfig(
    bytes,
    (path, { key, value, type, isnull }) => {
      if (key === undefined || value === undefined || value === '' || isnull === 'true') return;
      // Flags such as `use_token=false` are not secrets: only text-like values count.
      const textLike = type === undefined || type === 'xstring' || type === 'xpassword' || type === 'xtransientstring';
      if (type === 'xpassword' || (textLike && CREDENTIAL_KEY_PATTERN.test(key))) findings.push({ key: [...path, key].join('/') });
    },
    options.isUtf8,
  );
  return result.ok ? findings : result;
}
