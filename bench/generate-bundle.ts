/**
 * Generates a legal bundle for benchmarks: one workflow.knime referencing
 * `nodes` nodes, each with a realistic ~`settingsBytes` settings.xml (built
 * from the real samples, with varied values so it compresses like real ones).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync, type Zippable } from 'fflate';

const SAMPLES = join(import.meta.dirname, '..', 'test', 'fixtures', 'samples');

function sampleSettings(): string[] {
  const out: string[] = [];
  for (const sample of readdirSync(SAMPLES, { withFileTypes: true })) {
    if (!sample.isDirectory()) continue;
    for (const node of readdirSync(join(SAMPLES, sample.name), { withFileTypes: true })) {
      if (!node.isDirectory()) continue;
      try {
        out.push(readFileSync(join(SAMPLES, sample.name, node.name, 'settings.xml'), 'utf8'));
      } catch {
        // nested workflows have no settings.xml at this level
      }
    }
  }
  return out;
}

/** A settings.xml of about `size` bytes: a real one with extra entries carrying varied values. */
function settingsOf(base: string, index: number, size: number): string {
  const closing = base.lastIndexOf('</config>');
  let extra = '';
  let i = 0;
  while (base.length + extra.length < size) {
    const value = ((index * 7919 + i * 104729) % 1_000_003).toString(36);
    extra += `    <entry key="column_${i}_${value}" type="xstring" value="col_${value}_${(i * 31) % 97}"/>\n`;
    i++;
  }
  return base.slice(0, closing) + extra + base.slice(closing);
}

export function generateBundle(nodes: number, settingsBytes: number): Uint8Array {
  const bases = sampleSettings();
  const files: Zippable = {};
  let nodeConfigs = '';
  for (let n = 1; n <= nodes; n++) {
    const folder = `Node ${n} (#${n})`;
    files[`${folder}/settings.xml`] = new TextEncoder().encode(settingsOf(bases[n % bases.length]!, n, settingsBytes));
    nodeConfigs += `        <config key="node_${n}">
            <entry key="id" type="xint" value="${n}"/>
            <entry key="node_settings_file" type="xstring" value="${folder}/settings.xml"/>
            <entry key="node_is_meta" type="xboolean" value="false"/>
            <entry key="node_type" type="xstring" value="NativeNode"/>
        </config>\n`;
  }
  const workflow = `<?xml version="1.0" encoding="UTF-8"?>
<config xmlns="http://www.knime.org/2008/09/XMLConfig" key="workflow.knime">
    <entry key="version" type="xstring" value="5.1.0"/>
    <config key="nodes">
${nodeConfigs}    </config>
    <config key="connections"/>
</config>
`;
  files['workflow.knime'] = new TextEncoder().encode(workflow);
  return zipSync(files, { level: 6, mtime: new Date('2025-01-01T00:00:00Z') });
}
