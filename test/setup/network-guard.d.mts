export const TEST_NETWORKS_ENV: "INFRA_MANAGER_TEST_HOSTS";
export function allowTestHost(address: string): void;
export function allowTestNetwork(cidr: string): void;
export function revokeTestNetwork(cidr: string): void;
export function isAllowedAddress(host: string): boolean;
