/**
 * The breakglass cdk8s construct library: `BreakglassController` installs everything; the parts
 * (`Crds`, `ControllerRbac`, `WebhookConfiguration`, `Workload`) can be used alone.
 */
export { BreakglassController, type BreakglassControllerProps } from './breakglass-controller.ts';
export { Crds, type CrdsProps } from './crds.ts';
export {
  BREAKGLASS_PERMISSIONS,
  ControllerRbac,
  LEASE_NAMED_VERBS,
  type ControllerRbacProps,
} from './rbac.ts';
export {
  VALIDATED_KINDS,
  validationPath,
  validationWebhookName,
  WebhookConfiguration,
  type WebhookConfigurationProps,
} from './webhook-configuration.ts';
export {
  CertManagerCertificate,
  servingCertSecretName,
  type CertManagerCertificateProps,
  type CertManagerWebhookTls,
  type SecretWebhookTls,
  type WebhookTls,
} from './webhook-tls.ts';
export { CONTROLLER_UID, Workload, type WorkloadProps } from './workload.ts';
export {
  CONTROLLER_PORTS,
  controllerOptions,
  leaseLocation,
  renderControllerArgs,
  TYPED_OPTION_PROPS,
  WORKLOAD_OWNED_OPTIONS,
  type AdditionalControllerOptions,
  type ApiRateLimitSettings,
  type WebhookRateLimitSettings,
  type ComponentSwitches,
  type ConfigurableControllerOptions,
  type ControllerSettings,
  type LeaderElectionProps,
  type LeaseLocation,
  type LoopIntervals,
  type TypedOption,
  type WorkloadOwnedOption,
} from './controller-options.ts';
export { isControllerProfile, mergeResources, PROFILES, type ControllerProfile, type ProfileDefaults } from './profiles.ts';
export { commonLabels, DEFAULT_INSTANCE_NAME, DEFAULT_NAMESPACE, MAX_INSTANCE_NAME_LENGTH, objectNames, selectorLabels } from './naming.ts';
