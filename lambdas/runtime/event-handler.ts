/**
 * The middy stack of the non-HTTP handlers (S3 events, state-machine steps,
 * schedule): Powertools logger context and metrics; errors propagate so that
 * Lambda retries / the state machine's Retry and Catch see them.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { flushMetrics, logger } from './observability';

export function eventHandler<E, R>(handler: (event: E, context: Context) => Promise<R>) {
  return middy<E, R>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics<E, R>())
    .handler(handler);
}
