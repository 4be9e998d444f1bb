/**
 * One Logger and one Metrics instance per container (Powertools). Log with
 * ids only: never bundle contents, settings values or presigned URLs.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { ERROR_CODE_DIMENSION, METRICS_NAMESPACE, SERVICE_NAME } from '../../core/metrics';

export const logger = new Logger({ serviceName: SERVICE_NAME });

export const metrics = new Metrics({
  serviceName: SERVICE_NAME,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
});

export function countMetric(name: string, value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

export function durationMetric(name: string, milliseconds: number): void {
  if (Number.isFinite(milliseconds) && milliseconds >= 0) metrics.addMetric(name, MetricUnit.Milliseconds, milliseconds);
}

/** A count with an ErrorCode dimension, flushed on its own so the dimension does not leak onto other metrics. */
export function countByCode(name: string, code: string): void {
  const single = metrics.singleMetric();
  single.addDimension(ERROR_CODE_DIMENSION, code);
  single.addMetric(name, MetricUnit.Count, 1);
}

/** Attaches the job id to every following log line of this invocation. */
export function withJob(jobId: string): void {
  logger.appendKeys({ jobId });
}

/** Publishes the invocation's metrics after it ends (success or error), staying silent when there are none. */
export function flushMetrics<E, R>(): MiddlewareObj<E, R> {
  const flush = () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}
