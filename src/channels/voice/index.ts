export { connectSipApplication, type SipApplicationOptions } from './sip-application';
export { DigestAuthenticator } from './digest-auth';
export { TrunkDirectory, refuseUnidentified, manualDialTrunk, checkVoiceConfig, type Trunk, type TrunkIdentity } from './trunks';
export { Registrar } from './registrar';
export { PhoneDirectory, PhoneDirectoryError, type PhoneDevice, type PhoneDirectoryEvents } from './phone-directory';
export { VoiceChannel, type VoiceChannelOptions } from './voice-channel';
export { InboundCall, CALLER_LEG } from './inbound-call';
export { CallbackRetries } from './callbacks';
export { ManualDialer, OUTBOUND_CALL_REASON } from './manual-dial';
