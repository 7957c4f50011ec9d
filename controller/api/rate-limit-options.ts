/**
 * Rate limits from the controller's flags: the REST API's (--api-rate-limit-per-address,
 * --api-rate-limit-per-user, --disable-session-rate-limit; the session-request limit keeps its
 * default unless switched off) and the authorization webhook's (--sar-rate-limit-per-cluster).
 */
import { optionDefinitions, parseRateLimit, type ControllerOptions } from '../options.ts';
import type { ApiRateLimits } from './api-router.ts';
import type { WebhookRateLimits } from './authorization-webhook-handler.ts';

export function apiRateLimits(options: Pick<ControllerOptions, 'apiRateLimitPerAddress' | 'apiRateLimitPerUser' | 'disableSessionRateLimit'>): ApiRateLimits {
  return {
    perIp: parseRateLimit(options.apiRateLimitPerAddress, `--${optionDefinitions.apiRateLimitPerAddress.flag}`),
    perUser: parseRateLimit(options.apiRateLimitPerUser, `--${optionDefinitions.apiRateLimitPerUser.flag}`),
    ...(options.disableSessionRateLimit ? { sessionCreate: false as const } : {}),
  };
}

export function webhookRateLimits(options: Pick<ControllerOptions, 'sarRateLimitPerCluster'>): WebhookRateLimits {
  return { perCluster: parseRateLimit(options.sarRateLimitPerCluster, `--${optionDefinitions.sarRateLimitPerCluster.flag}`) };
}
