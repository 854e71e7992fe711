export { Notifier, type NotifierSettings, type VoiceNotifier } from './notifier';
export { NotificationStore, type Notification, type NotificationAttempt, type NotificationState } from './notification-store';
export { EventsApi } from './events-api';
export { notBefore, notificationChannels, type MessageChannel, type NotificationChannel, type NotificationRule } from './rules';
