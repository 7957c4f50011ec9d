/**
 * Sizing profiles: the defaults that differ between a highly available production install and
 * a single small instance (a lab, a CI cluster, a hub with little traffic).
 */
import { Size } from 'cdk8s';
import { Cpu, type ContainerResources } from 'cdk8s-plus-28';

export type ControllerProfile = 'production' | 'single-instance';

export interface ProfileDefaults {
  readonly replicas: number;
  readonly resources: ContainerResources;
}

/**
 * Requests are what the controller uses at steady state with headroom; memory limits leave room
 * for informer relists of large clusters, and the CPU limit only stops a runaway loop from
 * starving the node (the process is mostly single-threaded).
 */
export const PROFILES: Readonly<Record<ControllerProfile, ProfileDefaults>> = {
  production: {
    replicas: 3,
    resources: {
      cpu: { request: Cpu.millis(200), limit: Cpu.millis(1000) },
      memory: { request: Size.mebibytes(256), limit: Size.mebibytes(512) },
    },
  },
  'single-instance': {
    replicas: 1,
    resources: {
      cpu: { request: Cpu.millis(100), limit: Cpu.millis(500) },
      memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
    },
  },
};
