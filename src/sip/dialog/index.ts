export { Dialog, DialogState, dialogId } from './dialog';
