export function allowTestHost(address: string): void;
export function isAllowedAddress(host: string): boolean;
