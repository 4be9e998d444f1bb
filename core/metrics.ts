/**
 * The service's CloudWatch metrics contract: the handlers emit these names
 * (Powertools EMF) in METRICS_NAMESPACE with dimension `service` =
 * SERVICE_NAME, the per-code metrics add ERROR_CODE_DIMENSION, and the
 * dashboard and alarms in lib/ read exactly the same names.
 */
/** CloudWatch namespace of the custom metrics (the deployment also sets it as POWERTOOLS_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'K2pWeb';
/** Powertools' service name, hence the `service` dimension of every metric. */
export const SERVICE_NAME = 'k2p-web';
export const ERROR_CODE_DIMENSION = 'ErrorCode';

export const METRIC = {
  /** POST /jobs admitted a job. */
  jobsCreated: 'JobsCreated',
  /** POST /jobs refused by admission control (ErrorCode SERVER_BUSY / RATE_LIMITED). */
  admissionRejected: 'AdmissionRejected',
  /** Bundle failed validation (ErrorCode = the bundle code). */
  jobsRejected: 'JobsRejected',
  jobsQueued: 'JobsQueued',
  jobsSucceeded: 'JobsSucceeded',
  /** Job ended FAILED or TIMED_OUT (ErrorCode = the conversion code). */
  jobsFailed: 'JobsFailed',
  jobsExpired: 'JobsExpired',
  jobsDeleted: 'JobsDeleted',
  /** A job ended CANCELLED (its task, if any, had stopped). */
  jobsCancelled: 'JobsCancelled',
  /** Milliseconds the converter ran (from report.json). */
  conversionDuration: 'ConversionDuration',
  /** Milliseconds spent validating a bundle in the validate Lambda. */
  validationDuration: 'ValidationDuration',
  /** Jobs holding a capacity slot, as counted by the reaper. */
  inFlightJobs: 'InFlightJobs',
  /** Jobs the reaper had to finish or repair (a symptom worth an alarm). */
  reaperInterventions: 'ReaperInterventions',
  /** Jobs the reaper could not handle in a run (each is logged with its error). */
  reaperErrors: 'ReaperErrors',
  /** Capacity slots the reaper found leaked or missing and repaired. */
  capacityRepairs: 'CapacityRepairs',
  /** A job.finished event a receiver accepted (2xx). */
  webhooksDelivered: 'WebhooksDelivered',
  /** A delivery attempt that failed and will be retried. */
  webhookAttemptsFailed: 'WebhookAttemptsFailed',
  /** A delivery given up after the retry window (FAILED). */
  webhooksFailed: 'WebhooksFailed',
} as const;
