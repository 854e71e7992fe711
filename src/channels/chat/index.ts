export { ChatChannel, type ChatConfig } from './chat-channel';
export { ConversationStore, type Conversation } from './conversation-store';
export { CHAT_PAGE_DIR } from './page';
