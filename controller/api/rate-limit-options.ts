/**
 * The REST API's rate limits from the controller's flags (--api-rate-limit-per-address,
 * --api-rate-limit-per-user, --disable-session-rate-limit); the session-request limit keeps its
 * default unless switched off.
 */
import { optionDefinitions, parseRateLimit, type ControllerOptions } from '../options.ts';
import type { ApiRateLimits } from './api-router.ts';

export function apiRateLimits(options: Pick<ControllerOptions, 'apiRateLimitPerAddress' | 'apiRateLimitPerUser' | 'disableSessionRateLimit'>): ApiRateLimits {
  return {
    perIp: parseRateLimit(options.apiRateLimitPerAddress, `--${optionDefinitions.apiRateLimitPerAddress.flag}`),
    perUser: parseRateLimit(options.apiRateLimitPerUser, `--${optionDefinitions.apiRateLimitPerUser.flag}`),
    ...(options.disableSessionRateLimit ? { sessionCreate: false as const } : {}),
  };
}
