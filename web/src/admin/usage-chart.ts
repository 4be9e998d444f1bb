/**
 * Usage per principal as an inline SVG bar chart drawn here (no chart library; the CSP allows no inline style, so
 * every colour comes from a class in styles.css). One bar per principal, most jobs first, its length proportional to
 * the principal's jobs and split by outcome; the same numbers are in a table next to it for screen readers.
 * layoutUsage is pure (unit-tested); drawUsageChart only turns its geometry into elements.
 */
import type { PrincipalUsage } from '../../../core/api-schemas';
import { svg } from '../dom';

/** Outcome segments in drawing order; `other` is whatever is still moving, expired or deleted. */
export const USAGE_SEGMENTS = ['succeeded', 'failed', 'rejected', 'cancelled', 'other'] as const;
export type UsageSegment = (typeof USAGE_SEGMENTS)[number];

export const SEGMENT_LABELS: Readonly<Record<UsageSegment, string>> = {
  succeeded: 'succeeded',
  failed: 'failed or timed out',
  rejected: 'rejected',
  cancelled: 'cancelled',
  other: 'other (in flight, expired, deleted)',
};

export interface UsageBar {
  principalId: string;
  label: string;
  jobs: number;
  y: number;
  segments: { kind: UsageSegment; x: number; width: number; count: number }[];
}

export interface UsageLayout {
  width: number;
  height: number;
  labelWidth: number;
  barHeight: number;
  bars: UsageBar[];
}

export interface UsageLayoutOptions {
  width?: number;
  labelWidth?: number;
  barHeight?: number;
  gap?: number;
  /** Longest label before it is cut with an ellipsis. */
  maxLabel?: number;
}

/** Column heads of the numbers' table. */
export const SEGMENT_SHORT: Readonly<Record<UsageSegment, string>> = {
  succeeded: 'succeeded',
  failed: 'failed',
  rejected: 'rejected',
  cancelled: 'cancelled',
  other: 'other',
};

/** The principal as a reader knows it: the key's name, else a person's subject (the id after `#`), else the id. */
export function principalLabel(usage: Pick<PrincipalUsage, 'principalId' | 'name'>, maxLabel = 28): string {
  const subject = /^oidc:.*#(.+)$/.exec(usage.principalId)?.[1];
  const text = usage.name?.trim() || subject || usage.principalId;
  return text.length > maxLabel ? `${text.slice(0, maxLabel - 1)}…` : text;
}

export function segmentCounts(usage: PrincipalUsage): Record<UsageSegment, number> {
  const known = usage.succeeded + usage.failed + usage.rejected + usage.cancelled;
  return {
    succeeded: usage.succeeded,
    failed: usage.failed,
    rejected: usage.rejected,
    cancelled: usage.cancelled,
    other: Math.max(0, usage.jobs - known),
  };
}

export function layoutUsage(principals: readonly PrincipalUsage[], options: UsageLayoutOptions = {}): UsageLayout {
  const width = options.width ?? 640;
  const labelWidth = options.labelWidth ?? 200;
  const barHeight = options.barHeight ?? 22;
  const gap = options.gap ?? 10;
  // Room right of the longest bar for its total.
  const plot = Math.max(1, width - labelWidth - 48);
  const max = Math.max(1, ...principals.map((p) => p.jobs));
  const bars = principals.map((usage, index): UsageBar => {
    const counts = segmentCounts(usage);
    let x = labelWidth;
    const segments = USAGE_SEGMENTS.filter((kind) => counts[kind] > 0).map((kind) => {
      const segment = { kind, x, width: (counts[kind] / max) * plot, count: counts[kind] };
      x += segment.width;
      return segment;
    });
    return {
      principalId: usage.principalId,
      label: principalLabel(usage, options.maxLabel),
      jobs: usage.jobs,
      y: gap + index * (barHeight + gap),
      segments,
    };
  });
  return { width, height: gap + principals.length * (barHeight + gap), labelWidth, barHeight, bars };
}

const round = (n: number) => Math.round(n * 10) / 10;

export function drawUsageChart(layout: UsageLayout, title: string): SVGSVGElement {
  return svg(
    'svg',
    {
      class: 'usage-chart',
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      role: 'img',
      'aria-label': title,
      'data-testid': 'usage-chart',
    },
    svg('title', {}, title),
    layout.bars.map((bar) =>
      svg(
        'g',
        { class: 'usage-bar' },
        svg(
          'text',
          {
            class: 'usage-label',
            x: layout.labelWidth - 8,
            y: bar.y + layout.barHeight / 2,
            'text-anchor': 'end',
            'dominant-baseline': 'central',
          },
          bar.label,
        ),
        bar.segments.map((segment) =>
          svg(
            'rect',
            {
              class: `usage-${segment.kind}`,
              x: round(segment.x),
              y: bar.y,
              width: round(Math.max(segment.width, 1)),
              height: layout.barHeight,
            },
            svg('title', {}, `${bar.label}: ${segment.count} ${SEGMENT_LABELS[segment.kind]}`),
          ),
        ),
        svg(
          'text',
          {
            class: 'usage-total',
            x: round((bar.segments.at(-1)?.x ?? layout.labelWidth) + (bar.segments.at(-1)?.width ?? 0) + 6),
            y: bar.y + layout.barHeight / 2,
            'dominant-baseline': 'central',
          },
          String(bar.jobs),
        ),
      ),
    ),
  );
}
