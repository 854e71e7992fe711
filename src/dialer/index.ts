export { Dialer, checkDialerConfig, type DialerOptions } from './dialer';
export { Campaign, type CampaignConfig, type CampaignFigures, type CampaignState } from './campaign';
export { parseContacts, parseDncList, type Contact, type ImportResult } from './contacts';
export type { GreetingDetector, AmdVerdict } from './outbound-attempt';
