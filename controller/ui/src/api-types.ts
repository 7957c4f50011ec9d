/**
 * The shapes the UI reads from the REST API, taken from the server's own definitions (type
 * imports only: nothing of the controller ends up in the bundle).
 */
import type { BreakglassEscalation, BreakglassSession } from '../../../crds/index.ts';
import type { ApprovalMeta } from '../../sessions/session-queries.ts';

export type { ApprovalMeta, BreakglassEscalation, BreakglassSession };

export interface ItemList<T> {
  items: T[];
  total: number;
}

export interface SessionWithMeta {
  session: BreakglassSession;
  approvalMeta: ApprovalMeta;
}

export interface FrontendConfig {
  frontend: { oidcAuthority: string; oidcClientID: string; brandingName?: string };
}

/** The body of POST /api/breakglassSessions (controller/api/schemas.ts SessionRequestSchema). */
export interface SessionRequest {
  cluster: string;
  group: string;
  reason?: string;
  duration?: number;
  scheduledStartTime?: string;
}
