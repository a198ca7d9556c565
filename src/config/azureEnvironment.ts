/**
 * Where the app runs, read from the variables the platform sets, the way the Functions host
 * reads them (azure-functions-host src/WebJobs.Script/Environment/EnvironmentExtensions.cs:
 * IsAppService, IsLinuxConsumptionOnAtlas, IsFlexConsumptionSku, IsManagedAppEnvironment,
 * IsDynamicSku). WEBSITE_INSTANCE_ID alone is App Service (Windows plans, Linux dedicated and
 * Premium): Linux Consumption and Flex Consumption do not set it.
 *
 * One difference, on purpose: the host can take CONTAINER_NAME (or WEBSITE_POD_NAME) alone as
 * Linux Consumption because it only ever runs on Functions hosting or Core Tools; this code also
 * runs in tests and CI, whose containers may set CONTAINER_NAME too. So the container signals
 * count only together with WEBSITE_SITE_NAME, which every Functions site has.
 */
type Env = Readonly<Record<string, string | undefined>>;

const set = (env: Env, name: string) => (env[name] ?? '') !== '';
const sku = (env: Env) => (env.WEBSITE_SKU ?? '').toLowerCase();

/** IsAppService: WEBSITE_INSTANCE_ID is set. */
export function isAppService(env: Env): boolean {
  return set(env, 'WEBSITE_INSTANCE_ID');
}

/** A Functions site's container: CONTAINER_NAME or WEBSITE_POD_NAME, with the site's name. */
function isSiteContainer(env: Env): boolean {
  return !isAppService(env) && (set(env, 'CONTAINER_NAME') || set(env, 'WEBSITE_POD_NAME')) && set(env, 'WEBSITE_SITE_NAME');
}

/** IsManagedAppEnvironment: Functions on Azure Container Apps. */
export function isManagedAppEnvironment(env: Env): boolean {
  return set(env, 'MANAGED_ENVIRONMENT');
}

/**
 * IsFlexConsumptionSku: WEBSITE_SKU is FlexConsumption, or (in placeholder mode, before the
 * site's settings arrive) a container on Legion (LEGION_SERVICE_HOST).
 */
export function isFlexConsumptionSku(env: Env): boolean {
  return sku(env) === 'flexconsumption' || (isSiteContainer(env) && set(env, 'LEGION_SERVICE_HOST'));
}

/** IsAnyLinuxConsumption: Linux Consumption (a container not on Legion) or Flex Consumption, outside Container Apps. */
export function isAnyLinuxConsumption(env: Env): boolean {
  const linuxConsumptionOnAtlas = isSiteContainer(env) && set(env, 'CONTAINER_NAME') && !set(env, 'LEGION_SERVICE_HOST');
  return (linuxConsumptionOnAtlas || isFlexConsumptionSku(env)) && !isManagedAppEnvironment(env);
}

/**
 * IsDynamicSku: Windows Consumption (WEBSITE_SKU Dynamic), Elastic Premium, Linux or Flex
 * Consumption. On these the host accepts only NCRONTAB timer schedules, never a TimeSpan.
 */
export function isDynamicSku(env: Env): boolean {
  return sku(env) === 'dynamic' || sku(env) === 'elasticpremium' || isAnyLinuxConsumption(env);
}

/** True on any Azure Functions hosting: App Service plans, Linux and Flex Consumption, Container Apps. */
export function isRunningInAzure(env: Env): boolean {
  return isAppService(env) || isAnyLinuxConsumption(env) || isManagedAppEnvironment(env);
}
