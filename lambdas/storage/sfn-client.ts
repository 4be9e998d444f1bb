import { SFNClient } from '@aws-sdk/client-sfn';

/** Region and endpoint come from the SDK's standard env (AWS_REGION, AWS_ENDPOINT_URL_SFN). */
export function createSfnClient(): SFNClient {
  return new SFNClient({});
}
