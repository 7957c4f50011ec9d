/**
 * Sizing profiles: the defaults that differ between a highly available production install and
 * a single small instance (a lab, a CI cluster, a hub with little traffic).
 */
import { Size, SizeRoundingBehavior } from 'cdk8s';
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

/** Whether `name` is one of the PROFILES (an own key: 'toString' or '__proto__' are not). */
export function isControllerProfile(name: unknown): name is ControllerProfile {
  return typeof name === 'string' && Object.hasOwn(PROFILES, name);
}

interface RequestAndLimit<T> {
  readonly request?: T;
  readonly limit?: T;
}

function mergePair<T>(base: RequestAndLimit<T> | undefined, override: RequestAndLimit<T> | undefined): RequestAndLimit<T> | undefined {
  const request = override?.request ?? base?.request;
  const limit = override?.limit ?? base?.limit;
  if (request === undefined && limit === undefined) return undefined;
  return { ...(request === undefined ? {} : { request }), ...(limit === undefined ? {} : { limit }) };
}

/** Millicores of a cdk8s-plus Cpu (`Cpu.millis(n)` renders "<n>m", `Cpu.units(n)` "<n>"). */
function millicores(cpu: Cpu): number {
  return cpu.amount.endsWith('m') ? Number(cpu.amount.slice(0, -1)) : Number(cpu.amount) * 1000;
}

function kibibytes(size: Size): number {
  return size.toKibibytes({ rounding: SizeRoundingBehavior.NONE });
}

function checkRequestWithinLimit<T>(pair: RequestAndLimit<T> | undefined, amount: (value: T) => number, prop: string): void {
  if (pair?.request === undefined || pair.limit === undefined) return;
  if (amount(pair.request) > amount(pair.limit)) {
    throw new Error(`${prop}: the request is above the limit (Kubernetes refuses that); set ${prop}.limit too, at least as high as the request`);
  }
}

/**
 * `override` on top of `base` field by field (cpu, memory and ephemeralStorage, each request and
 * limit): what the override leaves out keeps the base value, so `{ memory: { request } }` keeps
 * the CPU request and both limits. Throws, naming `prop`, when a merged request exceeds its limit.
 */
export function mergeResources(base: ContainerResources, override: ContainerResources | undefined, prop = 'resources'): ContainerResources {
  const cpu = mergePair(base.cpu, override?.cpu);
  const memory = mergePair(base.memory, override?.memory);
  const ephemeralStorage = mergePair(base.ephemeralStorage, override?.ephemeralStorage);
  checkRequestWithinLimit(cpu, millicores, `${prop}.cpu`);
  checkRequestWithinLimit(memory, kibibytes, `${prop}.memory`);
  checkRequestWithinLimit(ephemeralStorage, kibibytes, `${prop}.ephemeralStorage`);
  return {
    ...(cpu === undefined ? {} : { cpu }),
    ...(memory === undefined ? {} : { memory }),
    ...(ephemeralStorage === undefined ? {} : { ephemeralStorage }),
  };
}
