/**
 * S3's error document (`<Error><Code>…</Code><Message>…</Message>…</Error>`) as
 * a flat record, read without an XML parser: shared by the CLI's upload and the page's.
 */
export function parseS3Error(xml: string): Record<string, string> {
  const fields: Record<string, string> = {};
  const error = /<Error>([\s\S]*?)<\/Error>/.exec(xml)?.[1] ?? '';
  for (const match of error.matchAll(/<([A-Za-z][\w-]*)>([^<]*)<\/\1>/g)) fields[match[1]!] = decodeXml(match[2]!);
  return fields;
}

function decodeXml(text: string): string {
  const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
  return text.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (whole, entity: string) => {
    if (entity.startsWith('#x') || entity.startsWith('#X')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return named[entity.toLowerCase()] ?? whole;
  });
}
